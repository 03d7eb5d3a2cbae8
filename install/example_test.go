package install_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"strings"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/install"
)

// A Go host embedding the installer: the index key is its configuration,
// consent is its user's (here: only plugins that ask for no more than
// network.relay), and every refusal has a stable code.
func Example() {
	indexPub, _, _ := ed25519.GenerateKey(rand.Reader) // in a real host: read from configuration
	plugins, _ := os.MkdirTemp("", "plugins-")
	defer os.RemoveAll(plugins)
	site, _ := os.MkdirTemp("", "site-") // an index directory nobody signed
	defer os.RemoveAll(site)

	onlyRelay := func(_ context.Context, r install.Request) (bool, error) {
		for _, c := range r.Capabilities {
			if c != abi.CapNetworkRelay {
				return false, nil
			}
		}
		return true, nil
	}
	in, err := install.New(plugins, install.WithIndex(site), install.WithIndexKey(indexPub), install.WithConsent(onlyRelay))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = in.Install(context.Background(), "hello@^1")
	fmt.Println(clawerr.CodeOf(err), strings.Contains(err.Error(), "index.json"))
	// Output: not_found true
}
