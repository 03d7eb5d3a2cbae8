package child

import "testing"

func TestExceptionName(t *testing.T) {
	for code, want := range map[uint32]string{
		0:          "",
		1:          "",
		3:          "", // abort's exit status in msvcrt: a status, not an exception
		0xC0000005: "exception 0xC0000005 (access violation)",
		0xC0000409: "exception 0xC0000409 (fail fast (abort or a stack buffer overrun))",
		0xE06D7363: "exception 0xE06D7363",
	} {
		if got := exceptionName(code); got != want {
			t.Errorf("exceptionName(%#x) = %q, want %q", code, got, want)
		}
	}
}
