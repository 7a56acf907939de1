package main

// The mistakes people make with an Election, from etcd's code and tracker,
// checked on the etcd in go.mod: each is made to happen (broken), then
// avoided (fixed). A pitfall that does not go wrong, or whose fix does not
// work, fails the run: the chapter would be teaching something untrue.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/workshop"
)

// pitfall is one mistake: play makes it and its fix happen and says whether
// the broken program went wrong and the fixed one did not.
type pitfall struct {
	name, source, title string
	play                func(ctx context.Context, s *stage) (broke, worked bool, err error)
}

var pitfalls = []pitfall{
	{"campaign-after-expiry", "etcd-io/etcd#22387, open", "Campaign says you lead, though your key is gone",
		playCampaignAfterExpiry},
	{"compacted-campaign", "etcd-io/etcd#21128", "a failed Campaign leaves its key, which wins later",
		playCompactedCampaign},
	{"failed-resign", "etcd-io/etcd#22123", "a failed Resign forgets the key, and a retry does nothing",
		playFailedResign},
	{"observe-puts-only", "client/v3/concurrency/election.go, observe", "Observe never says the leader is gone",
		playObservePutsOnly},
	{"leader-after-expiry", "as 07 for the lock", "a leader whose lease expired writes anyway",
		playLeaderAfterExpiry},
}

func showPitfalls(ctx context.Context, etcd *workshop.Etcd, stdout io.Writer) error {
	var wrong []string
	for _, p := range pitfalls {
		fmt.Fprintf(stdout, "\npitfall %s (%s):\n  %s\n", p.name, p.source, p.title)
		s := &stage{etcd: etcd, out: stdout, name: electionName + "-" + p.name}
		broke, worked, err := p.play(ctx, s)
		s.cleanup(ctx)
		switch {
		case errors.Is(err, errSkipped):
			continue
		case err != nil:
			return fmt.Errorf("%s: %w", p.name, err)
		case !broke:
			wrong = append(wrong, p.name+": the broken program did not go wrong")
		case !worked:
			wrong = append(wrong, p.name+": the fix did not work")
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("not as the chapter says: %s", strings.Join(wrong, "; "))
	}
	fmt.Fprintln(stdout, "\nevery pitfall went wrong, and every fix worked")
	return nil
}

// stage is what one pitfall makes in etcd, removed by cleanup.
type stage struct {
	etcd     *workshop.Etcd
	out      io.Writer
	name     string // the election's prefix, one per pitfall
	sessions []*concurrency.Session
	clients  []*clientv3.Client
}

func (s *stage) say(format string, args ...any) { fmt.Fprintf(s.out, "  "+format+"\n", args...) }

// candidate is a session (on cli, or the chapter's client) and its Election.
func (s *stage) candidate(ctx context.Context, cli *clientv3.Client) (*concurrency.Session, *concurrency.Election, error) {
	if cli == nil {
		cli = s.etcd.Client
	}
	session, err := s.etcd.NewSessionOn(ctx, cli, 60)
	if err != nil {
		return nil, nil, err
	}
	s.sessions = append(s.sessions, session)
	return session, concurrency.NewElection(session, s.name), nil
}

// leading is a candidate that has campaigned and leads, its value val.
func (s *stage) leading(ctx context.Context, val string) (*concurrency.Session, *concurrency.Election, error) {
	session, e, err := s.candidate(ctx, nil)
	if err == nil {
		err = s.campaign(ctx, e, val)
	}
	return session, e, err
}

// campaign is Campaign bounded by the chapter's patience.
func (s *stage) campaign(ctx context.Context, e *concurrency.Election, val string) error {
	ctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	return e.Campaign(ctx, val)
}

// leader is who Leader() says leads: its value, or the error.
func (s *stage) leader(ctx context.Context) (key, value string, err error) {
	rctx, cancel := s.etcd.WithTimeout(ctx)
	defer cancel()
	resp, err := concurrency.NewElection(s.sessions[0], s.name).Leader(rctx)
	if err != nil {
		return "", "", err
	}
	return string(resp.Kvs[0].Key), string(resp.Kvs[0].Value), nil
}

// end ends a session's lease as etcd does when it expires: its keys go.
func (s *stage) end(ctx context.Context, session *concurrency.Session) error {
	rctx, cancel := s.etcd.WithTimeout(ctx)
	defer cancel()
	_, err := s.etcd.Client.Revoke(rctx, session.Lease())
	return err
}

// cleanup revokes the stage's leases and closes its clients: the election
// is empty again, for the fixed run or the next pitfall.
func (s *stage) cleanup(ctx context.Context) {
	for _, session := range s.sessions {
		s.etcd.CloseSession(ctx, session) // what stays is named when stopping (workshop.RevokeLeases)
	}
	for _, cli := range s.clients {
		cli.Close()
	}
	s.etcd.Remove(ctx, s.name+"/", clientv3.WithPrefix())
	s.sessions, s.clients = nil, nil
}

var errSkipped = errors.New("skipped")

// isCompacted: the watch's history was compacted away.
func isCompacted(err error) bool {
	return errors.Is(err, rpctypes.ErrCompacted) || errors.Is(err, rpctypes.ErrGRPCCompacted)
}
