package main

import (
	"encoding/json"
	"fmt"
	"io"
)

// schemaVersion is the version of every --json shape this command prints,
// in the field "schema" (docs/cli.md). It changes when a field changes
// meaning or goes away; a field added leaves it as it is.
const schemaVersion = 1

// Codes of the failures that are the command's own, not a plugin's
// (docs/errors.md): the --json object of a failure always has a code.
const (
	codeUsage    = "usage"     // a bad flag, argument or combination: exit 2
	codeNotFound = "not_found" // a file or directory named on the command line is not there
)

// jsonFailure is the --json object of a verb that failed before it had
// anything else to say: {"schema":1,"ok":false,"error":{"code","message"}}.
type jsonFailure struct {
	Schema int       `json:"schema"`
	OK     bool      `json:"ok"`
	Error  errorJSON `json:"error"`
}

// writeJSONFailure prints the failure object on w.
func writeJSONFailure(w io.Writer, code, format string, a ...any) {
	data, _ := json.Marshal(jsonFailure{Schema: schemaVersion, Error: errorJSON{Code: code, Message: fmt.Sprintf(format, a...)}})
	fmt.Fprintf(w, "%s\n", data)
}
