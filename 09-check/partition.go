package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/cluster"
	"etcd-lock-workshop/internal/workshop"
)

// The partition: client 0 attached to the leader alone, and cut off with it
// from the other members and the other clients.

// partition cuts client 0's member, the leader, off from the other two while
// client 0 holds the lock, between its read and its write. The two others
// elect a leader of their own, which expires client 0's lease, and the lock
// passes to another client. Client 0, which has heard nothing from them,
// then sends its write to its member, which cannot commit it without the
// others: the write waits there. Then the partition heals.
func partition(ctx context.Context, a *attack) (string, error) {
	if err := a.h.wait(ctx, a.bound, "client 0 to take the lock and read", stalled); err != nil {
		return "", err
	}
	role := "a follower"
	if leader, _ := cluster.Leader(ctx, a.etcd.Client, a.etcd.Endpoints, a.etcd.Timeout); leader == a.target {
		role = "the leader"
	}
	if err := a.cluster.Partition(a.target); err != nil {
		return "", err
	}
	cut := time.Now()
	done := a.h.note(0, "cut off", fmt.Sprintf("%s (%s) cut off from the others, with client 0", a.target, role))
	err := a.h.wait(ctx, a.bound, "the others to take the lock and write", writesSince(cut, 2, 0))
	resumed := time.Now()
	a.victim.resume()
	if err == nil {
		err = a.h.wait(ctx, a.bound, "client 0 to write", func(events []event) bool {
			return slices.ContainsFunc(events, func(e event) bool {
				return e.Client == 0 && e.Op == opWrite && !e.Return && e.At > resumed.UnixNano()
			})
		})
	}
	if herr := a.cluster.Heal(a.target); herr != nil {
		err = errors.Join(err, herr)
	}
	done()
	healed := time.Since(cut)
	outcome := ""
	if err == nil {
		err = a.h.wait(ctx, a.bound, "client 0's write to return", func(events []event) bool {
			outcome = writeOutcome(events, 0, resumed)
			return outcome != ""
		})
	}
	return fmt.Sprintf("%s (%s) cut off with client 0 for %s; client 0's write, sent while cut off: %s",
		a.target, role, cli.Seconds(healed), outcome), err
}

// writeOutcome is what became of client's first write since t, in words; ""
// until it returns.
func writeOutcome(events []event, client int, t time.Time) string {
	for _, e := range events {
		if e.Client == client && e.Op == opWrite && e.Return && e.At > t.UnixNano() {
			switch e.Outcome {
			case ok:
				return "acknowledged after the heal"
			case refused:
				return "refused by the fence"
			default:
				return "no answer (unknown outcome)"
			}
		}
	}
	return ""
}

// sides are the two sides of a partition to come: the leader, with a
// client attached to it alone, and the other members, with a client of
// their own (a client of all three would keep sending to the member cut off,
// whose connection stays up, and wait on it).
type sides struct {
	member        string
	alone, others *workshop.Etcd
}

func (b *bench) split(ctx context.Context, bound time.Duration) (*sides, error) {
	leader, err := b.leader(ctx, bound)
	if err != nil {
		return nil, err
	}
	var alone, others []string
	for _, m := range b.cluster.Members {
		if m.Name == leader {
			alone = append(alone, m.ClientURL)
		} else {
			others = append(others, m.ClientURL)
		}
	}
	s := &sides{member: leader}
	if s.alone, err = b.attach(ctx, alone); err == nil {
		s.others, err = b.attach(ctx, others)
	}
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// attach is a client of these members only.
func (b *bench) attach(ctx context.Context, endpoints []string) (*workshop.Etcd, error) {
	cli, err := b.etcd.Dial(ctx, endpoints)
	if err != nil {
		return nil, err
	}
	return &workshop.Etcd{Client: cli, Endpoints: endpoints, Timeout: b.etcd.Timeout, Credentials: b.etcd.Credentials}, nil
}

func (s *sides) close() {
	for _, e := range []*workshop.Etcd{s.alone, s.others} {
		if e != nil {
			e.Close()
		}
	}
}
