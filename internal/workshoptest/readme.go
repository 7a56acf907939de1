package workshoptest

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/markdown"
)

var update = flag.Bool("update", false, "rewrite the READMEs' output blocks (and screenshots) from a real run")

// Update reports whether the test run was asked to rewrite what the READMEs
// show (go test -args -update): a test that writes a screenshot asks it.
func Update() bool { return *update }

// Rule replaces what varies from one run to the next in a chapter's output.
type Rule struct {
	Re   *regexp.Regexp
	With string
	wide bool // Re matches a line that may be wider than a projector, replacing nothing
}

// R is a Rule: every match of expr becomes with.
func R(expr, with string) Rule { return Rule{Re: regexp.MustCompile(expr), With: with} }

// Wide is a Rule that lets a line matching expr be wider than cli.Columns:
// a line for scripts, which read it whole.
func Wide(expr string) Rule { return Rule{Re: regexp.MustCompile(expr), wide: true} }

// Varies is what varies in every chapter's output. Counts and names are not
// here: a chapter whose counts vary says so with rules of its own.
var Varies = []Rule{
	R(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`, "<time>"),
	R(`127\.0\.0\.1:\d+`, "127.0.0.1:<port>"),
	R(`pid \d+`, "pid <pid>"),
	R(`\b[0-9a-f]{12,16}\b`, "<lease>"), // %x drops leading zeros
	R(`\b\d+(\.\d+)?(ns|µs|us|ms|s|m)\b`, "<duration>"),
}

// block is a fenced block of a README.
type block struct {
	markdown.Block
	file  string
	args  []string // the arguments of the command it is the output of (Command)
	index int      // among the marked blocks of its file
}

// CheckREADMEs runs, for every output block in this folder's README.md and
// README.zh-CN.md, the command it is the output of (the marker line above the
// block: <!-- output of: go run ./DIR ARGS -->), and compares the output,
// stdout and stderr as they interleave, with the block once rules and Varies
// have replaced what varies. A line "..." in a block stands for any number of
// lines. An unmarked block must hold commands only, so that no output goes
// unchecked. go test -update rewrites the blocks from the run. It returns
// each run's output, by its arguments joined with spaces, for a test to
// check more of what the run did than the blocks show.
func CheckREADMEs(t testing.TB, run cli.RunFunc, rules ...Rule) (outputs map[string]string) {
	files, _ := filepath.Glob("README*.md")
	var marked []block
	for _, file := range files {
		for _, b := range blocks(file, readLines(t, file)) {
			if b.Command != "" {
				marked = append(marked, b)
			} else {
				checkCommandsOnly(t, b, readLines(t, file))
			}
		}
	}
	if len(marked) == 0 {
		t.Fatalf("no output block in %v: mark one with <!-- output of: go run ./DIR ARGS -->", files)
	}
	outputs = map[string]string{} // the same command in two READMEs runs once
	for _, b := range marked {
		key := strings.Join(b.args, " ")
		if _, ok := outputs[key]; !ok {
			var out Buffer
			err := run(context.Background(), b.args, &out, &out)
			if err != nil {
				t.Fatalf("%s: run %q: %v\n%s", b.file, key, err, out.String())
			}
			outputs[key] = out.String()
		}
		got := strings.Split(strings.TrimSuffix(outputs[key], "\n"), "\n")
		for _, line := range got { // for the projector; whole lines are compared below
			if cli.Width(line) > cli.Columns && !slices.ContainsFunc(rules, func(r Rule) bool {
				return r.wide && r.Re.MatchString(line)
			}) {
				t.Errorf("%s: %q prints a line of %d columns (at most %d fit a projector): %s",
					b.file, key, cli.Width(line), cli.Columns, line)
			}
		}
		if *update {
			rewrite(t, b, got)
			continue
		}
		want := readLines(t, b.file)[b.Start:b.End]
		all := append(rules, Varies...)
		// Whole lines: a number of another width breaks a wrapped line at another word.
		if !match(normalize(unwrap(want), all), normalize(unwrap(got), all)) {
			t.Errorf("%s: the output block of %q (lines %d-%d) does not match a real run "+
				"(go test -update rewrites it).\nREADME:\n%s\nrun:\n%s",
				b.file, key, b.Start+1, b.End, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
	}
	return outputs
}

func readLines(t testing.TB, file string) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(data), "\n")
}

// blocks finds the fenced blocks of a README, and the marker above each.
func blocks(file string, lines []string) []block {
	var found []block
	index := 0
	for _, b := range markdown.Blocks(lines) {
		f := block{Block: b, file: file}
		if b.Command != "" {
			f.args, f.index = strings.Fields(b.Command)[3:], index
			index++
		}
		found = append(found, f)
	}
	return found
}

func checkCommandsOnly(t testing.TB, b block, lines []string) {
	if b.Info == "go" || b.Info == "yaml" { // code, not output
		return
	}
	for k := b.Start; k < b.End && k < len(lines); k++ {
		if !isCommand(lines[k]) {
			t.Errorf("%s:%d: %q looks like output, but no test checks it: mark its block "+
				"<!-- output of: go run ./DIR ARGS -->, or show commands only", b.file, k+1, lines[k])
			return
		}
	}
}

// isCommand: a line a learner types, or a comment.
func isCommand(line string) bool {
	line = strings.TrimSpace(line)
	for _, p := range []string{"", "#", "go ", "GOMAXPROCS=", "docker", "-endpoints ", "export ", "ETCDCTL_"} {
		if p == "" && line == "" || p != "" && strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func unwrap(lines []string) []string {
	return strings.Split(cli.Unwrap(strings.Join(lines, "\n")), "\n")
}

func normalize(lines []string, rules []Rule) []string {
	out := make([]string, len(lines))
	for i, line := range lines {
		for _, r := range rules {
			if !r.wide {
				line = r.Re.ReplaceAllString(line, r.With)
			}
		}
		// Padding aside: Wrap trims the spaces where it breaks, and numbers
		// of another width pad columns differently.
		indent := len(line) - len(strings.TrimLeft(line, " "))
		out[i] = line[:indent] + strings.Join(strings.Fields(line[indent:]), " ")
	}
	return out
}

// match reports whether got fits want, where a line "..." in want stands for
// any number of lines.
func match(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == "..." {
		for skip := 0; skip <= len(got); skip++ {
			if match(want[1:], got[skip:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && want[0] == got[0] && match(want[1:], got[1:])
}

// rewrite puts got in place of the block's lines in its file.
func rewrite(t testing.TB, b block, got []string) {
	lines := readLines(t, b.file)
	for _, f := range blocks(b.file, lines) { // found again: an earlier rewrite may have moved it
		if f.Command != "" && f.index == b.index {
			lines = append(append(append([]string{}, lines[:f.Start]...), got...), lines[f.End:]...)
			if err := os.WriteFile(b.file, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: rewrote the output of %q", b.file, strings.Join(b.args, " "))
			return
		}
	}
	t.Fatalf("%s: output block %d not found again", b.file, b.index)
}

// Buffer is a program's output, written from several goroutines (stdout and
// stderr, or exec's copiers) and read by the test.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
