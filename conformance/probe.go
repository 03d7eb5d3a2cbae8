package conformance

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/dl"
	"github.com/clawd-go/clawd/internal/foreign"
	"github.com/clawd-go/clawd/internal/sigaction"
	"github.com/clawd-go/clawd/internal/vtable"
)

// direct is the library opened without the loader, for the checks that
// must see what the loader refuses. Like the loader, it puts back the
// process's signal actions after dlopen and after init, so that a
// plugin's handler cannot turn a later fault into its own exit.
type direct struct {
	lib  uintptr
	sigs *sigaction.Set
}

func openDirect(path string) (*direct, error) {
	d := &direct{sigs: sigaction.Save()}
	lib, err := dl.Open(path)
	d.sigs.Restore()
	if err != nil {
		return nil, err
	}
	d.lib = lib
	return d, nil
}

func (d *direct) initFn() (uintptr, error) {
	fn, err := dl.Sym(d.lib, abi.InitSymbol)
	if err == nil && fn == 0 {
		err = errors.New("the symbol's address is NULL")
	}
	return fn, err
}

// callInit calls clawd_plugin_init once.
func (d *direct) callInit(fn uintptr) uintptr {
	addr := vtable.CallInit(fn)
	d.sigs.Restore()
	return addr
}

func (d *direct) close() {
	_ = dl.Close(d.lib)
	d.sigs.Restore()
}

func readTable(addr uintptr) (*cabi.Plugin, error) {
	var raw cabi.Plugin
	if err := foreign.Copy(unsafe.Pointer(&raw), addr, cabi.SizeofPlugin); err != nil {
		return nil, err
	}
	return &raw, nil
}

// Where the probe is, in order; a crash at a step means the plugin reached
// the stage before it.
var probeSteps = []struct {
	where   string
	reached stage
}{
	{"dlopen (the library's constructors)", stageFile},
	{"dlsym " + abi.InitSymbol, stageOpen},
	{abi.InitSymbol, stageSymbol},
	{"reading the ClawaPlugin table", stageInit},
	{"checking the table", stageABI},
	{"on_load", stageValid},
	{"on_unload", stageLoaded},
}

func probeStage(where string) stage {
	for _, s := range probeSteps {
		if s.where == where {
			return s.reached
		}
	}
	return stageFile
}

// probe walks the plugin up the stages, directly first (to see what the
// loader would refuse), then through the loader, and reports how far it got.
func probe(c *cenv) childResult {
	p := &probeResult{Reached: stageFile}
	res := childResult{Status: StatusPass, Probe: p}
	stop := func(code clawerr.Code) childResult {
		p.Code = string(code)
		return res
	}
	c.at(probeSteps[0].where)
	d, err := openDirect(c.spec.Lib)
	if err != nil {
		return stop(clawerr.OpenFailed)
	}
	p.Reached = stageOpen
	c.at(probeSteps[1].where)
	fn, err := d.initFn()
	if err != nil {
		d.close()
		return stop(clawerr.MissingInit)
	}
	p.Reached = stageSymbol
	c.at(probeSteps[2].where)
	addr := d.callInit(fn)
	if addr == 0 {
		d.close()
		return stop(clawerr.InitNull)
	}
	p.Reached = stageInit
	c.at(probeSteps[3].where)
	raw, err := readTable(addr)
	if err != nil || raw.ABIVersion != abi.Version {
		d.close()
		return stop(clawerr.ABIMismatch)
	}
	p.Reached = stageABI
	for cb := abi.Callback(0); cb < abi.NumCallbacks; cb++ {
		if raw.Callback(cb) != 0 {
			p.Callbacks = append(p.Callbacks, cb.String())
		}
	}
	c.note = callbacksNote + strings.Join(p.Callbacks, ",")
	c.at(probeSteps[4].where)
	_, err = vtable.Read(addr, c.spec.Lib)
	d.close()
	if err != nil {
		return stop(clawerr.CodeOf(err))
	}
	p.Reached = stageValid
	c.at(probeSteps[5].where)
	pl, err := c.open()
	if err != nil {
		code := clawerr.CodeOf(err)
		if code == "" {
			code = clawerr.OpenFailed
		}
		return stop(code)
	}
	p.Reached = stageLoaded
	c.at(probeSteps[6].where)
	_ = pl.Close()
	return res
}

// initTable opens the library directly and calls init once, for the
// init-level checks. A step that fails here got past the probe, so the
// result is a skip naming the code, as the parent would have said.
func (c *cenv) initTable() (*direct, uintptr, *childResult) {
	c.at(probeSteps[0].where)
	d, err := openDirect(c.spec.Lib)
	if err != nil {
		r := skip("plugin does not load: %s", clawerr.OpenFailed)
		return nil, 0, &r
	}
	c.at(probeSteps[1].where)
	fn, err := d.initFn()
	if err != nil {
		d.close()
		r := skip("plugin does not load: %s", clawerr.MissingInit)
		return nil, 0, &r
	}
	c.at(probeSteps[2].where)
	addr := d.callInit(fn)
	if addr == 0 {
		d.close()
		r := skip("plugin does not load: %s", clawerr.InitNull)
		return nil, 0, &r
	}
	return d, addr, nil
}

// v1Table is initTable plus a table that reads as ABI v1.
func (c *cenv) v1Table() (*direct, *cabi.Plugin, *childResult) {
	d, addr, bad := c.initTable()
	if bad != nil {
		return nil, nil, bad
	}
	c.at(probeSteps[3].where)
	raw, err := readTable(addr)
	if err != nil || raw.ABIVersion != abi.Version {
		d.close()
		r := skip("plugin does not load: %s", clawerr.ABIMismatch)
		return nil, nil, &r
	}
	return d, raw, nil
}

// loadErr turns a loader error that the probe did not see into a result.
func loadErr(err error) childResult {
	code := clawerr.CodeOf(err)
	if code == "" {
		code = clawerr.OpenFailed
	}
	return fail("the plugin did not load this time (%s): %v", code, err)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// onLoadFailure says what on_load returned, from the loader's error.
func onLoadFailure(err error) string {
	var u *abi.UnknownCodeError
	if errors.As(err, &u) {
		return fmt.Sprintf("on_load returned %d, which is not a ClawaError", u.Code)
	}
	var code abi.Code
	if errors.As(err, &code) {
		return fmt.Sprintf("on_load returned %s (%d)", code.String(), int32(code))
	}
	return err.Error()
}

// callbacksNote prefixes the probe's second progress line, which keeps
// the callbacks it read for the parent in case on_load then crashes.
const callbacksNote = "callbacks="
