package conformance

// WithTimingBudgets is withTimingBudgets for the tests in conformance_test.
var WithTimingBudgets = withTimingBudgets
