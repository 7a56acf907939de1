package main

// Plumbing: a recovered panic, shown as Go would print it, first lines only.

import (
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"strings"
)

// panicTrace is a recovered panic: its value and the first lines of its trace.
type panicTrace struct {
	Value any
	Lines []string
}

// catchPanic, deferred, recovers a panic into *caught (left nil if none).
func catchPanic(caught **panicTrace) {
	if r := recover(); r != nil {
		*caught = &panicTrace{Value: r, Lines: firstFrames(string(debug.Stack()), 2)}
	}
}

var (
	frameArgs  = regexp.MustCompile(`\([^()]*\)$`) // a frame's arguments: (0xc000123450, ...)
	frameCode  = regexp.MustCompile(` \+0x[0-9a-f]+$`)
	packagePfx = regexp.MustCompile(`^etcd-lock-workshop/10-pitfalls\.`) // in a test binary
)

// firstFrames returns the goroutine line of stack and the n frames below the
// panic, the way Go prints an unrecovered panic, made stable from run to run:
// no argument values, no code offsets, paths from the module or the chapter.
func firstFrames(stack string, n int) []string {
	lines := strings.Split(strings.TrimSpace(stack), "\n")
	out := []string{lines[0]}
	for i, line := range lines {
		if !strings.HasPrefix(line, "panic(") {
			continue
		}
		for j := i + 2; j+1 < len(lines) && len(out) < 1+2*n; j += 2 {
			fn := packagePfx.ReplaceAllString(frameArgs.ReplaceAllString(lines[j], "(...)"), "main.")
			out = append(out, fn, "\t"+shortPath(frameCode.ReplaceAllString(strings.TrimSpace(lines[j+1]), "")))
		}
		break
	}
	return out
}

// shortPath cuts a source path to where it starts making sense to a reader:
// etcd's module, or the chapter's folder.
func shortPath(path string) string {
	if i := strings.Index(path, "go.etcd.io/"); i >= 0 {
		return path[i:]
	}
	if i := strings.LastIndex(path, "10-pitfalls/"); i >= 0 {
		return path[i:]
	}
	return path
}

// Print prints the panic as Go does, indented.
func (t *panicTrace) Print(w io.Writer) {
	fmt.Fprintf(w, "    panic: %v\n", t.Value)
	for _, line := range t.Lines {
		fmt.Fprintf(w, "    %s\n", line)
	}
}
