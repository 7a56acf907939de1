// Chapter 11, past the article: the other use of a lock's keys, electing
// one leader. Three candidates (three processes) campaign with
// concurrency.NewElection on /my-election: each puts a key on its own lease,
// and the oldest key leads, as the oldest key holds a Mutex. The others wait
// in revision order. A leader killed without Resign leads until its lease
// expires; a leader that Resigns hands over at once. Then the mistakes people
// make with an Election, each made to happen, then fixed (pitfalls.go).
package main

import (
	"context"
	"fmt"
	"io"

	"go.etcd.io/etcd/client/v3/concurrency"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/workshop"
)

const electionName = "/my-election"

// candidate is one candidate's program: campaign, lead until asked to
// resign, then resign. It is this program in a child process (staging.go).
func candidate(ctx context.Context, etcd *workshop.Etcd, name string, ttl int, out io.Writer) error {
	session, err := etcd.NewSession(ctx, ttl)
	if err != nil {
		return err
	}
	defer etcd.CloseSession(ctx, session)
	election := concurrency.NewElection(session, electionName)

	cli.Logf(out, "%s: campaigning", name)
	// Campaign waits until every older key is gone: then this one leads.
	if err := election.Campaign(ctx, name); err != nil {
		return fmt.Errorf("campaign: %w", err)
	}
	cli.Logf(out, "%s: leading (key %s, revision %d)", name, election.Key(), election.Rev())
	// Proclaim changes the leader's value without another election.
	if err := election.Proclaim(ctx, name+" at work"); err != nil {
		return fmt.Errorf("proclaim: %w", err)
	}

	select { // lead until the staging says "resign", or is gone
	case <-askedToResign():
	case <-ctx.Done():
		return ctx.Err()
	}
	rctx, cancel := etcd.WithTimeout(ctx)
	defer cancel()
	if err := election.Resign(rctx); err != nil {
		return fmt.Errorf("resign: %w", err)
	}
	cli.Logf(out, "%s: resigned", name)
	return nil
}

// observe sends each leader's value the election reports, until ctx ends:
// Observe sends it on every put to the leader's key (Campaign, Proclaim).
func observe(ctx context.Context, election *concurrency.Election, values chan<- string) {
	defer close(values)
	for resp := range election.Observe(ctx) {
		values <- string(resp.Kvs[0].Value)
	}
}

func main() { cli.Main(run) }
