package include

// The layout facts, for the tests that hold every language's declarations
// (and the Go mirrors) to them.
type Fact = fact

var Layout = layout
