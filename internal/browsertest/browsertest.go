// Package browsertest starts headless Chromium for the tests of the room's
// view (Debian's chromium, which .ci/run installs), driven by chromedp.
package browsertest

import (
	"context"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Tab starts headless Chromium and returns a tab in it, closed at cleanup,
// or skips the test where there is no Chromium.
func Tab(t testing.TB) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("no Chromium here to test the page in (apt-get install -y chromium; .ci/run installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, // as root in a container, Chromium's sandbox cannot start
		chromedp.WindowSize(1600, 900), chromedp.Flag("lang", "en-GB"))
	allocator, cancelAllocator := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAllocator)
	tab, cancelTab := chromedp.NewContext(allocator)
	t.Cleanup(cancelTab)
	require.NoError(t, chromedp.Do(tab), "start Chromium at %s", path)
	return tab
}
