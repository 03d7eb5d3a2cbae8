package boundary

import (
	"strings"
	"testing"

	"github.com/clawd-go/clawd/clawerr"
)

func TestCheckTable(t *testing.T) {
	m := mem{"grep", "1.0.0", strings.Repeat("n", MaxString-1), strings.Repeat("n", MaxString), "\xff", "", "one"}
	for _, tc := range []struct {
		name     string
		raw      RawTable
		code     clawerr.Code
		warnings []string
	}{
		{"good", RawTable{ABIVersion: 1, Name: 1, Version: 2}, "", nil},
		{"another ABI", RawTable{ABIVersion: 2, Name: 1, Version: 2}, clawerr.ABIMismatch, nil},
		{"a reserved slot set", RawTable{ABIVersion: 1, Name: 1, Version: 2, Reserved: [8]uint64{7: 1}}, clawerr.ReservedSlotSet, nil},
		{"a name at the bound", RawTable{ABIVersion: 1, Name: 3, Version: 2}, "", nil},
		{"a name one over", RawTable{ABIVersion: 1, Name: 4, Version: 2}, clawerr.BadName, nil},
		{"a name not UTF-8", RawTable{ABIVersion: 1, Name: 5, Version: 2}, clawerr.BadName, nil},
		{"a version one over", RawTable{ABIVersion: 1, Name: 1, Version: 4}, clawerr.BadVersion, nil},
		{"an unreadable name", RawTable{ABIVersion: 1, Name: 99, Version: 2}, clawerr.BadName, nil},
		{"NULLs load with warnings", RawTable{ABIVersion: 1}, "", []string{"name is NULL", "version is NULL"}},
		{"empty name, no semver", RawTable{ABIVersion: 1, Name: 6, Version: 7}, "", []string{"name is empty", `version "one" is not semver 2.0`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := CheckTable(m, tc.raw, "lib")
			if got := clawerr.CodeOf(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
			if err == nil && strings.Join(tb.Warnings, "|") != strings.Join(tc.warnings, "|") {
				t.Errorf("warnings %q, want %q", tb.Warnings, tc.warnings)
			}
		})
	}
}
