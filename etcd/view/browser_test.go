package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/browsertest"
	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
	"etcd-lock-workshop/internal/workshoptest"
)

// learner connects to the shared etcd as the chapters do, -name label.
func learner(t *testing.T, endpoint, label string) *workshop.Etcd {
	t.Helper()
	fs := cli.NewFlagSet("04-timeout", io.Discard)
	flags := workshop.EtcdFlags(fs)
	require.NoError(t, cli.Parse(fs, []string{"-endpoints", endpoint, "-name", label}))
	etcd, err := workshop.Connect(context.Background(), flags, io.Discard)
	require.NoError(t, err)
	t.Cleanup(etcd.Close)
	return etcd
}

// The page in a real browser: the holder first, then the waiter, each with
// its label; the holder dies without Unlock (its keepalive stops, as when a
// laptop's lid closes) and the page shows its lease expiring at its TTL and
// the waiter taking the lock; a label is shown as text, never as markup.
func TestThePageInABrowser(t *testing.T) {
	tab := browsertest.Tab(t)
	shared := workshoptest.Etcd(t)
	url := startView(t, shared.Endpoints[0])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const ttl = 3
	holder := learner(t, shared.Endpoints[0], "alice-holder")
	holderSession, err := holder.NewSession(ctx, ttl)
	require.NoError(t, err)
	require.NoError(t, concurrency.NewMutex(holderSession, "/my-test-lock").Lock(ctx))
	waited := make(chan error, 2)
	for _, label := range []string{"bob-waiter", "<b>eve"} { // eve's label is markup, shown as text
		waiter := learner(t, shared.Endpoints[0], label)
		session, err := waiter.NewSession(ctx, 60)
		require.NoError(t, err)
		t.Cleanup(func() { waiter.CloseSession(context.Background(), session) })
		go func() { waited <- concurrency.NewMutex(session, "/my-test-lock").Lock(ctx) }()
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(url))) // queued: in that order
		waitFor(t, tab, fmt.Sprintf(`section[data-lock="/my-test-lock"] li.entry[data-label=%q]`, label))
	}

	labels, err := chromedp.Run(tab, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('section[data-lock="/my-test-lock"] .label')].map(e => e.textContent)`))
	require.NoError(t, err)
	assert.Equal(t, []string{"alice-holder", "bob-waiter", "<b>eve"}, labels, "holder first, then the waiters in order")
	bold, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('.label b').length`))
	require.NoError(t, err)
	assert.Zero(t, bold, "a label is data: its <b> must be text, not markup")
	assert.Equal(t, "alice-holder", text(t, tab, `li.entry.holds .label`))
	if workshoptest.Update() { // the README's screenshot
		require.NoError(t, chromedp.Do(tab, chromedp.Sleep(time.Second))) // the TTL bars sampled
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))       // 100: a PNG
		require.NoError(t, err)
		require.NoError(t, os.WriteFile("view.png", png, 0o644))
	}

	// The holder's process dies: nobody keeps its lease alive, nobody unlocks.
	holderSession.Orphan()
	died := time.Now()
	waitFor(t, tab, `#events li.k-expired`)
	expiredAfter := time.Since(died)
	assert.Equal(t, "alice-holder", text(t, tab, `#events li.k-expired .label`))
	// Its last keepalive was at most ttl/3 before: the lease had 2/3 of its TTL left, or more.
	assert.GreaterOrEqual(t, expiredAfter, ttl*time.Second*2/3-100*time.Millisecond, "shown expired before its TTL ran out")
	assert.Less(t, expiredAfter, ttl*time.Second+15*time.Second, "shown expired long after its TTL")
	require.NoError(t, <-waited, "the first waiter gets the lock when the lease expires")
	waitFor(t, tab, `#events li.k-acquired:first-child`)
	assert.Equal(t, "bob-waiter", text(t, tab, `li.entry.holds .label`), "the first waiter holds it now")
	t.Logf("the page showed the expiry %s after the holder died (TTL %ds)", expiredAfter.Round(10*time.Millisecond), ttl)
}

// The page in Chinese: ?lang=zh, or a browser whose language is Chinese.
func TestThePageInChinese(t *testing.T) {
	tab := browsertest.Tab(t)
	url := startView(t, workshoptest.Etcd(t).Endpoints[0])
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(url+"?lang=zh")))
	title, err := chromedp.Run(tab, chromedp.Title())
	require.NoError(t, err)
	heading := text(t, tab, `#h-locks`)
	assert.Equal(t, "etcd 锁 · 实时", title)
	assert.Contains(t, heading, "持有者在前")
}

// waitFor waits until the page has an element matching selector. In the
// page, not by DOM node: each update redraws the page, and a node found a
// moment ago may be gone.
func waitFor(t *testing.T, tab context.Context, selector string) {
	t.Helper()
	_, err := chromedp.Run(tab, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector(%s) !== null`, strconv.Quote(selector)),
		chromedp.WithPollingTimeout(time.Minute)))
	require.NoError(t, err, "waiting for %s", selector)
}

// text is the text of the first element matching selector, "" if none.
func text(t *testing.T, tab context.Context, selector string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%s) || {}).textContent || ""`,
		strconv.Quote(selector))))
	require.NoError(t, err)
	return s
}
