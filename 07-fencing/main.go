// Chapter 07, beyond the article. The article's lock (etcd分布式锁) frees itself
// when its holder dies: the lease's TTL runs out (04-timeout). The dark side: a
// holder that only stalls past its TTL (a long GC pause, a stopped process, a
// network cut) loses the lock without knowing it, the next client takes it, and
// the first one wakes up and writes anyway. Three acts, the same two clients:
//  1. no fence: A's stale write overwrites B's: a lost update;
//  2. a fence inside etcd: every write is a transaction If(mutex.IsOwner());
//  3. a fence outside etcd: the lock's revision is a token the storage checks.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/workshop"
)

const (
	lockName  = "/my-test-lock"
	recordKey = "/fencing/count" // the shared record of acts 1 and 2, kept in etcd
)

// ErrRefused is a write that a fence turned away: its writer no longer holds the lock.
var ErrRefused = errors.New("refused")

// Fence is how a holder's writes are guarded.
type Fence string

const (
	NoFence    Fence = "none"  // act 1: the article's plain Put
	EtcdFence  Fence = "etcd"  // act 2: Txn If(mutex.IsOwner())
	TokenFence Fence = "token" // act 3: the lock's revision, checked by the storage
)

// Holder is one client holding the lock: its session (the lease), its mutex,
// and the token it got with the lock.
type Holder struct {
	Name    string
	Token   int64 // etcd's revision when it got the lock: grows from one holder to the next
	session *concurrency.Session
	mutex   *concurrency.Mutex
	act     *Act
}

// Read reads the shared count.
func (h *Holder) Read(ctx context.Context) (int, error) {
	rctx, cancel := h.act.etcd.WithTimeout(ctx)
	defer cancel()
	if h.act.fence == TokenFence {
		return h.act.storage.Read(rctx, h.Token) // the storage sees the token on reads too
	}
	resp, err := h.act.etcd.Client.Get(rctx, recordKey)
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return strconv.Atoi(string(resp.Kvs[0].Value))
}

// Write writes the count back, through the holder's fence.
func (h *Holder) Write(ctx context.Context, count int) error {
	rctx, cancel := h.act.etcd.WithTimeout(ctx)
	defer cancel()
	switch h.act.fence {
	case NoFence:
		// Act 1, the article's write: etcd takes it from anyone, lock or no lock.
		_, err := h.act.etcd.Client.Put(rctx, recordKey, strconv.Itoa(count))
		return err
	case EtcdFence:
		// Act 2: write only if my lock key is still the one I created, in one
		// transaction. Once my lease has expired, etcd has deleted that key.
		resp, err := h.act.etcd.Client.Txn(rctx).
			If(h.mutex.IsOwner()).
			Then(clientv3.OpPut(recordKey, strconv.Itoa(count))).
			Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return fmt.Errorf("%w by etcd: %s no longer owns %s", ErrRefused, h.Name, lockName)
		}
		return nil
	default:
		// Act 3: the token goes with the write; the storage, not etcd, checks it.
		return h.act.storage.Write(rctx, h.Token, count)
	}
}

// Incr is every holder's work under the lock: read the count, add one, write
// it back. stall is where a pause hurts most: after the holder's last look at
// its session, before its write.
func (h *Holder) Incr(ctx context.Context, stall func()) error {
	count, err := h.Read(ctx)
	if err != nil {
		return fmt.Errorf("%s: read: %w", h.Name, err)
	}
	workshop.Logf(h.act.out, "%s: read count=%d", h.Name, count)
	// The holder's own guard: once its session is gone, it stops...
	select {
	case <-h.session.Done():
		return fmt.Errorf("%s: lost the lock: session expired; not writing", h.Name)
	default:
	}
	workshop.Logf(h.act.out, "%s: session alive, still the holder: writing count=%d", h.Name, count+1)
	stall() // ...but nothing stops a pause that comes after the look
	err = h.Write(ctx, count+1)
	if errors.Is(err, ErrRefused) {
		workshop.Logf(h.act.out, "%s: write of count=%d %v", h.Name, count+1, err)
		return err
	}
	if err != nil {
		return fmt.Errorf("%s: write: %w", h.Name, err)
	}
	workshop.Logf(h.act.out, "%s: wrote count=%d", h.Name, count+1)
	return nil
}

// Unlock releases the lock and revokes the lease. For a holder whose lease has
// expired both are no-ops: its key is gone already, and B's key is another one.
func (h *Holder) Unlock(ctx context.Context) {
	rctx, cancel := h.act.etcd.WithTimeout(ctx)
	defer cancel()
	h.mutex.Unlock(rctx)
	h.session.Close()
}

// Storage is a service outside etcd (a database, a file store) that keeps act
// 3's record. It knows nothing of leases. Its one defence is the fencing token:
// it remembers the highest token it has seen and refuses any lower one, on
// reads too, so that no write can land between a newer holder's read and write.
type Storage struct {
	mu      sync.Mutex
	count   int
	highest int64
}

// Do checks token, then returns the count, after setting it when write is true.
func (s *Storage) Do(token int64, write bool, count int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token < s.highest {
		return 0, fmt.Errorf("%w by the storage: token %d is lower than %d", ErrRefused, token, s.highest)
	}
	s.highest = token
	if write {
		s.count = count
	}
	return s.count, nil
}

// Act is one play of the lesson: the etcd, the fence every write goes
// through, and (act 3) the storage service that keeps the record.
type Act struct {
	etcd    *workshop.Etcd
	fence   Fence
	storage *StorageClient
	ttl     int
	out     io.Writer // the timeline
}

// Lock is the article's program with the token kept: a session with a
// ttl-second lease, and its mutex on /my-test-lock.
func (act *Act) Lock(ctx context.Context, name string) (*Holder, error) {
	session, err := act.etcd.NewSession(ctx, act.ttl)
	if err != nil {
		return nil, err
	}
	mutex := concurrency.NewMutex(session, lockName)
	lctx, cancel := context.WithTimeout(ctx, act.wait()) // a stuck lock is an error, not a hang
	defer cancel()
	if err := mutex.Lock(lctx); err != nil {
		session.Close()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("%s: %s still held after %s: a live holder's keepalives keep it", name, lockName, act.wait())
		}
		return nil, fmt.Errorf("%s: lock %s: %w", name, lockName, err)
	}
	return &Holder{Name: name, Token: mutex.Header().Revision, session: session, mutex: mutex, act: act}, nil
}

// clientA is client A, in a process of its own so that it can really stall.
// Between its last look at its session and its write it waits to be resumed;
// meanwhile the parent freezes the whole process with SIGSTOP, as a long GC
// pause would: every goroutine stops, the lease's keepalives too. The parent's
// SIGCONT both thaws the process and tells A to go on.
func clientA(ctx context.Context, act *Act) error {
	resumed := make(chan os.Signal, 1)
	signal.Notify(resumed, syscall.SIGCONT)
	defer signal.Stop(resumed)
	a, err := act.Lock(ctx, "A")
	if err != nil {
		return err
	}
	defer a.Unlock(ctx)
	workshop.Logf(act.out, "A: locked %s (token %d)", lockName, a.Token)
	err = a.Incr(ctx, func() {
		workshop.Logf(act.out, "A: stalls (SIGSTOP: the process freezes, its keepalives too)")
		select {
		case <-resumed:
		case <-ctx.Done():
		}
	})
	if err != nil && !errors.Is(err, ErrRefused) {
		return err
	}
	// A watches its session: it does learn it lost the lock, after the fact.
	select {
	case <-a.session.Done():
		workshop.Logf(act.out, "A: lost the lock: session expired")
		return nil
	case <-time.After(act.wait()):
		return fmt.Errorf("A: session still alive %s after resuming", act.wait())
	}
}

// play runs one act: A locks, reads and stalls (frozen by SIGSTOP); B locks
// once A's lease has expired, and increments; A resumes and writes. Then the
// referee compares the count with the increments that were accepted.
func (act *Act) play(ctx context.Context, stderr io.Writer) error {
	var storage *Storage
	if act.fence == TokenFence {
		storage = &Storage{}
		url, stop, err := serve(storage)
		if err != nil {
			return err
		}
		defer stop()
		act.storage = &StorageClient{URL: url}
	} else if err := act.put(ctx, recordKey, "0"); err != nil {
		return err
	}

	child, err := workshop.StartChild(ctx, "-role", "a", "-fence", string(act.fence), "-ttl", strconv.Itoa(act.ttl),
		"-endpoints", strings.Join(act.etcd.Endpoints, ","), "-dial-timeout", act.etcd.Timeout.String(), "-storage", act.storage.url())
	if err != nil {
		return err
	}
	defer child.Kill() // on any error: a frozen A must not outlive us
	line, err := child.WaitFor("A: stalls", act.out, act.wait())
	if err != nil {
		return err
	}
	fmt.Fprintln(act.out, line)
	if err := child.Signal(syscall.SIGSTOP); err != nil {
		return err
	}

	// B's Lock returns once A's lease has expired and etcd has deleted A's
	// key; meanwhile stderr counts A's lease down.
	stopCountdown := act.etcd.ShowOwnerLease(ctx, lockName, workshop.NewLiveLine(stderr))
	b, err := act.Lock(ctx, "B")
	stopCountdown()
	if err != nil {
		return err
	}
	workshop.Logf(act.out, "B: locked %s (token %d): A's lease has expired", lockName, b.Token)
	if err := b.Incr(ctx, func() {}); err != nil {
		return err
	}
	b.Unlock(ctx)
	workshop.Logf(act.out, "B: unlocked")

	workshop.Logf(act.out, "A resumes (SIGCONT)")
	if err := child.Signal(syscall.SIGCONT); err != nil {
		return err
	}
	var fromA bytes.Buffer
	line, err = child.WaitFor("A: lost the lock", io.MultiWriter(act.out, &fromA), act.wait())
	if err != nil {
		return err
	}
	fmt.Fprintln(act.out, line)
	if err := child.Wait(); err != nil {
		return fmt.Errorf("client A: %w", err)
	}

	accepted := 1 // B's
	if strings.Contains(fromA.String(), "A: wrote") {
		accepted++
	}
	count, err := act.count(ctx, storage)
	if err != nil {
		return err
	}
	if count < accepted {
		fmt.Fprintf(act.out, "lost update: count=%d after %d accepted increments: A's stale write overwrote B's\n", count, accepted)
	} else {
		fmt.Fprintf(act.out, "no update lost: count=%d after %d accepted increment: A's stale write was refused\n", count, accepted)
	}
	return nil
}

func main() { workshop.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := workshop.NewFlagSet("07-fencing", stderr)
	flags := workshop.EtcdFlags(fs)
	ttl := fs.Int("ttl", 2, "lease TTL in seconds: how long a stalled holder keeps the lock (etcd's minimum: 1 embedded, 2 with default settings)")
	only := fs.Int("act", 0, "play only this act (1, 2 or 3); 0 plays all three")
	role := fs.String("role", "", "internal: \"a\" runs as client A (the program starts it itself)")
	fence := fs.String("fence", string(NoFence), "internal, with -role a: none, etcd or token")
	storage := fs.String("storage", "", "internal, with -role a -fence token: the storage service's URL")
	if err := workshop.Parse(fs, args); err != nil {
		return err
	}
	if *only < 0 || *only > 3 || *ttl < 1 {
		err := fmt.Errorf("-act must be 0 to 3 and -ttl at least 1")
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return &workshop.UsageError{Err: err}
	}
	etcd, err := workshop.Connect(ctx, flags, stderr)
	if err != nil {
		return err
	}
	defer etcd.Close()

	if *role == "a" {
		act := &Act{etcd: etcd, fence: Fence(*fence), ttl: *ttl, out: stdout}
		if *storage != "" {
			act.storage = &StorageClient{URL: *storage}
		}
		return clientA(ctx, act)
	}
	for i, a := range []struct {
		fence Fence
		title string
	}{
		{NoFence, "no fence: the stalled holder writes after losing the lock"},
		{EtcdFence, "fence inside etcd: every write is Txn If(mutex.IsOwner())"},
		{TokenFence, "fence outside etcd: the storage refuses tokens lower than the highest it has seen"},
	} {
		if *only != 0 && *only != i+1 {
			continue
		}
		if i > 0 && *only == 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "== act %d, %s\n", i+1, a.title)
		act := &Act{etcd: etcd, fence: a.fence, ttl: *ttl, out: stdout}
		if err := act.play(ctx, stderr); err != nil {
			return fmt.Errorf("act %d: %w", i+1, err)
		}
	}
	return nil
}

// Plumbing below: nothing here is part of the lesson.

// wait bounds every wait on another client: A's start-up, a lease's expiry.
func (act *Act) wait() time.Duration {
	return 3*time.Duration(act.ttl)*time.Second + 2*act.etcd.Timeout
}

func (act *Act) put(ctx context.Context, key, value string) error {
	rctx, cancel := act.etcd.WithTimeout(ctx)
	defer cancel()
	_, err := act.etcd.Client.Put(rctx, key, value)
	return err
}

// count is the record's final value, read by the referee, not through a fence.
func (act *Act) count(ctx context.Context, storage *Storage) (int, error) {
	if storage != nil {
		storage.mu.Lock()
		defer storage.mu.Unlock()
		return storage.count, nil
	}
	rctx, cancel := act.etcd.WithTimeout(ctx)
	defer cancel()
	resp, err := act.etcd.Client.Get(rctx, recordKey)
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return strconv.Atoi(string(resp.Kvs[0].Value))
}

// ServeHTTP is the storage's whole protocol: GET or PUT /count?token=T&count=N.
func (s *Storage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, err := strconv.ParseInt(r.FormValue("token"), 10, 64)
	if err != nil {
		http.Error(w, "bad token", http.StatusBadRequest)
		return
	}
	count, _ := strconv.Atoi(r.FormValue("count"))
	n, err := s.Do(token, r.Method == http.MethodPut, count)
	if err != nil {
		http.Error(w, strings.TrimPrefix(err.Error(), ErrRefused.Error()+" "), http.StatusConflict)
		return
	}
	fmt.Fprint(w, n)
}

// serve runs s on a free loopback port, so that client A, in its own
// process, reaches it as it would a real service.
func serve(s *Storage) (url string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

// StorageClient talks to a Storage over HTTP.
type StorageClient struct{ URL string }

func (c *StorageClient) url() string {
	if c == nil {
		return ""
	}
	return c.URL
}

func (c *StorageClient) Read(ctx context.Context, token int64) (int, error) {
	return c.do(ctx, http.MethodGet, token, 0)
}

func (c *StorageClient) Write(ctx context.Context, token int64, count int) error {
	_, err := c.do(ctx, http.MethodPut, token, count)
	return err
}

func (c *StorageClient) do(ctx context.Context, method string, token int64, count int) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("%s/count?token=%d&count=%d", c.URL, token, count), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	text := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusOK:
		return strconv.Atoi(text)
	case http.StatusConflict:
		return 0, fmt.Errorf("%w %s", ErrRefused, text)
	default:
		return 0, fmt.Errorf("storage: %s: %s", resp.Status, text)
	}
}
