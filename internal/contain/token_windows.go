package contain

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The sandbox child's token: the host's own token, restricted by
// CreateRestrictedToken (DISABLE_MAX_PRIVILEGE drops every privilege but
// SeChangeNotifyPrivilege; the Administrators group becomes deny-only, so
// an elevated host does not hand its rights on) and lowered to low
// integrity (S-1-16-4096). Neither needs admin rights: a process may
// always derive a weaker primary token from its own and start a child with
// it. At low integrity Windows' mandatory integrity control refuses the
// child write access to every object of medium integrity, which is what a
// user's files, registry keys and processes are by default.

// The integrity levels' relative ids (the last sub-authority of
// S-1-16-RID).
const (
	ridUntrusted = 0x0000
	ridLow       = 0x1000
	ridMedium    = 0x2000
	ridHigh      = 0x3000
	ridSystem    = 0x4000
)

// integrityName names the level of a mandatory label's relative id.
func integrityName(rid uint32) string {
	switch rid {
	case ridUntrusted:
		return "untrusted"
	case ridLow:
		return "low"
	case ridMedium:
		return "medium"
	case ridHigh:
		return "high"
	case ridSystem:
		return "system"
	}
	return fmt.Sprintf("0x%04X", rid)
}

var createRestrictedToken = windows.NewLazySystemDLL("advapi32.dll").NewProc("CreateRestrictedToken")

const disableMaxPrivilege = 0x1 // DISABLE_MAX_PRIVILEGE

// sandboxToken returns a primary token for the child: restricted as above,
// and at low integrity when low is set. The caller closes it once the
// child is started.
func sandboxToken(low bool) (windows.Token, error) {
	var own windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(),
		windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY|windows.TOKEN_ASSIGN_PRIMARY|windows.TOKEN_ADJUST_DEFAULT, &own); err != nil {
		return 0, fmt.Errorf("open the host's token: %w", err)
	}
	defer own.Close()
	admins, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return 0, fmt.Errorf("make the Administrators SID: %w", err)
	}
	deny := []windows.SIDAndAttributes{{Sid: admins}}
	// The privileges are also listed for deletion one by one: Windows
	// ignores the list under DISABLE_MAX_PRIVILEGE, Wine ignores the flag
	// and honours the list.
	drop, err := privilegesBut(own, "SeChangeNotifyPrivilege")
	if err != nil {
		return 0, err
	}
	var dropPtr uintptr
	if len(drop) > 0 {
		dropPtr = uintptr(unsafe.Pointer(&drop[0]))
	}
	var t windows.Token
	// The call reads deny (one SID_AND_ATTRIBUTES, whose Sid points into
	// admins) and drop, Go memory that stays alive and unmoved through
	// the call (a pointer passed to a system call is kept live until it
	// returns, and Go's heap does not move), and writes t; it keeps none.
	r, _, e := createRestrictedToken.Call(uintptr(own), disableMaxPrivilege,
		uintptr(len(deny)), uintptr(unsafe.Pointer(&deny[0])),
		uintptr(len(drop)), dropPtr, 0, 0, uintptr(unsafe.Pointer(&t)))
	if r == 0 {
		return 0, fmt.Errorf("CreateRestrictedToken: %w", e)
	}
	if !low {
		return t, nil
	}
	lowSID, err := windows.CreateWellKnownSid(windows.WinLowLabelSid)
	if err != nil {
		t.Close()
		return 0, fmt.Errorf("make the low integrity SID: %w", err)
	}
	label := windows.Tokenmandatorylabel{Label: windows.SIDAndAttributes{Sid: lowSID, Attributes: windows.SE_GROUP_INTEGRITY}}
	// SetTokenInformation copies the label (and the SID it points to,
	// whose length it reads from the SID itself) into the token.
	if err := windows.SetTokenInformation(t, windows.TokenIntegrityLevel,
		(*byte)(unsafe.Pointer(&label)), label.Size()); err != nil {
		t.Close()
		return 0, fmt.Errorf("lower the token to low integrity: %w", err)
	}
	return t, nil
}

// privilegesBut lists t's privileges but the one named.
func privilegesBut(t windows.Token, keep string) ([]windows.LUIDAndAttributes, error) {
	var kept windows.LUID
	if err := windows.LookupPrivilegeValue(nil, windows.StringToUTF16Ptr(keep), &kept); err != nil {
		return nil, fmt.Errorf("look up %s: %w", keep, err)
	}
	b, err := tokenInfo(t, windows.TokenPrivileges)
	if err != nil {
		return nil, fmt.Errorf("read the host's privileges: %w", err)
	}
	var out []windows.LUIDAndAttributes
	// A TOKEN_PRIVILEGES: a count, then that many LUID_AND_ATTRIBUTES, all
	// inside b (the call said how many bytes it wrote); copied out.
	for _, p := range (*windows.Tokenprivileges)(unsafe.Pointer(&b[0])).AllPrivileges() {
		if p.Luid != kept {
			out = append(out, windows.LUIDAndAttributes{Luid: p.Luid})
		}
	}
	return out, nil
}

// labelLow gives dir (and what is created in it) the low integrity label,
// so that a low-integrity child may write there. Lowering the label of an
// object the host owns needs no privilege.
func labelLow(dir string) error {
	// ML: mandatory label; OICI: inherited by files and directories; NW:
	// no write up; LW: low.
	sd, err := windows.SecurityDescriptorFromString("S:(ML;OICI;NW;;;LW)")
	if err != nil {
		return err
	}
	sacl, _, err := sd.SACL()
	if err != nil {
		return err
	}
	return windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.LABEL_SECURITY_INFORMATION, nil, nil, nil, sacl)
}

// tokenFacts is what the child reads back of its own token.
type tokenFacts struct {
	integrity  uint32 // the mandatory label's relative id
	privileges int    // privileges held besides SeChangeNotifyPrivilege
	admin      bool   // the Administrators group is in the token and not deny-only
}

// readToken reads the calling process's token.
func readToken() (tokenFacts, error) {
	var t windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_QUERY, &t); err != nil {
		return tokenFacts{}, fmt.Errorf("open the child's token: %w", err)
	}
	defer t.Close()
	return factsOf(t)
}

func factsOf(t windows.Token) (tokenFacts, error) {
	var f tokenFacts
	b, err := tokenInfo(t, windows.TokenIntegrityLevel)
	if err != nil {
		return f, fmt.Errorf("read the integrity level: %w", err)
	}
	// b holds a TOKEN_MANDATORY_LABEL followed by the SID it points to;
	// b is a []uint64 so the struct's alignment holds.
	label := (*windows.Tokenmandatorylabel)(unsafe.Pointer(&b[0]))
	if n := label.Label.Sid.SubAuthorityCount(); n > 0 {
		f.integrity = label.Label.Sid.SubAuthority(uint32(n - 1))
	}
	others, err := privilegesBut(t, "SeChangeNotifyPrivilege")
	if err != nil {
		return f, err
	}
	f.privileges = len(others)
	groups, err := t.GetTokenGroups()
	if err != nil {
		return f, fmt.Errorf("read the groups: %w", err)
	}
	admins, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return f, err
	}
	for _, g := range groups.AllGroups() {
		if g.Sid.Equals(admins) && g.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY == 0 {
			f.admin = true
		}
	}
	return f, nil
}

// tokenInfo reads one class of t's information into a buffer of the size
// the first call asks for (bounded: token information is small).
func tokenInfo(t windows.Token, class uint32) ([]uint64, error) {
	var n uint32
	err := windows.GetTokenInformation(t, class, nil, 0, &n)
	if err != windows.ERROR_INSUFFICIENT_BUFFER {
		if err == nil {
			err = fmt.Errorf("no size given")
		}
		return nil, err
	}
	if n == 0 || n > 64<<10 {
		return nil, fmt.Errorf("size %d out of range", n)
	}
	b := make([]uint64, (n+7)/8)
	// The call writes at most n bytes into b, which holds them.
	if err := windows.GetTokenInformation(t, class, (*byte)(unsafe.Pointer(&b[0])), uint32(len(b)*8), &n); err != nil {
		return nil, err
	}
	return b, nil
}
