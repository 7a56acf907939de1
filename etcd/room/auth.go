package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/version"
	clientv3 "go.etcd.io/etcd/client/v3"

	"etcd-lock-workshop/internal/workshop"
)

// roomUser is every learner's etcd user; its role is roomRole.
const roomUser, roomRole = "room", "workshop"

var etcdVersion = version.Version

// passwordCost is bcrypt's cost for the room's passwords: its default, 10.
// The tests that run the room in-process, under -race, lower it to 4 (a
// password check there takes 0.8 s at 10).
var passwordCost uint = 10

// roomPrefixes are the keys the chapters use: their locks, their counts and
// records, and the key a client checks etcd with (read only).
var roomPrefixes = []string{"/my-test-lock", "/my-test-counter", "/fencing/", "/handoff/", "/09-check",
	workshop.LabelPrefix, workshop.LearnersPrefix}

// enableAuth makes root (with rootPassword) and the room user, whose role
// may read and write roomPrefixes only, and turns authentication on.
func enableAuth(ctx context.Context, endpoint, caFile, rootPassword, roomPassword string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // bcrypt, twice
	defer cancel()
	cli, err := (&workshop.Etcd{Timeout: 10 * time.Second, CACert: caFile}).Dial(ctx, []string{endpoint})
	if err != nil {
		return err
	}
	defer cli.Close()
	steps := []func() error{
		func() error { _, err := cli.RoleAdd(ctx, roomRole); return err },
		func() error {
			_, err := cli.RoleGrantPermission(ctx, roomRole, workshop.HealthKey, "", clientv3.PermissionType(clientv3.PermRead))
			return err
		},
	}
	for _, prefix := range roomPrefixes {
		steps = append(steps, func() error {
			_, err := cli.RoleGrantPermission(ctx, roomRole, prefix, clientv3.GetPrefixRangeEnd(prefix),
				clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		})
	}
	steps = append(steps,
		func() error { _, err := cli.UserAdd(ctx, "root", rootPassword); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cli.UserAdd(ctx, roomUser, roomPassword); return err },
		func() error { _, err := cli.UserGrantRole(ctx, roomUser, roomRole); return err },
		func() error { _, err := cli.AuthEnable(ctx); return err },
	)
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("turn authentication on: %w", err)
		}
	}
	return nil
}

// newPassword is 12 letters and digits a learner can type from the projector
// (no 0/O, 1/l/I).
func newPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// checkPassword refuses a password that a learner's shell would take apart
// or run ("a b;id"), or that prints as something else: the room's line is
// typed in sh, PowerShell and cmd alike. bcrypt reads 72 bytes at most.
func checkPassword(s string) error {
	if s == "" || len(s) > 72 {
		return errors.New("from 1 to 72 characters")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.", r)) {
			return errors.New(`letters, digits, "-", "_" and "." only: learners type it in any shell`)
		}
	}
	return nil
}
