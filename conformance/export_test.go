package conformance

// WithTimingBudgets is withTimingBudgets for the tests in conformance_test.
var WithTimingBudgets = withTimingBudgets

// WithoutContainment is withoutContainment for the tests in conformance_test.
var WithoutContainment = withoutContainment
