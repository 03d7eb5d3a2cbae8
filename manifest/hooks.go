package manifest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/hook"
)

// hooks checks the hooks key: an array of hook points (hook.Points),
// each at most once. An unknown name is manifest_invalid, not
// capability_unknown: a hook point is not an ABI capability (the reference
// daemon's parser ignores the key, while an unknown capability would break
// it), so it is a malformed value of this host's own key.
func (c *checker) hooks(vals map[string]any, m *Manifest) error {
	v, ok := vals["hooks"]
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return c.fail(clawerr.ManifestInvalid, "hooks", "want an array of strings, got %s", c.typeName(v))
	}
	known := make([]string, len(hook.Points))
	for i, k := range hook.Points {
		known[i] = string(k)
	}
	m.Hooks = make([]clawd.HookPoint, 0, len(list))
	for i, e := range list {
		field := fmt.Sprintf("hooks[%d]", i)
		s, ok := e.(string)
		if !ok {
			return c.fail(clawerr.ManifestInvalid, field, "want a string, got %s", c.typeName(e))
		}
		hp := clawd.HookPoint(s)
		if !slices.Contains(hook.Points, hp) {
			return c.fail(clawerr.ManifestInvalid, field, "unknown hook %q (known: %s)", s, strings.Join(known, ", "))
		}
		if j := slices.Index(m.Hooks, hp); j >= 0 {
			return c.fail(clawerr.ManifestInvalid, field, "hook %q repeated (first at hooks[%d])", s, j)
		}
		m.Hooks = append(m.Hooks, hp)
	}
	return nil
}
