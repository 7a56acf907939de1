// Package markdown finds what the workshop's tests read in a README: its
// fenced blocks, and the marker above a block that is a command's output.
// workshoptest checks those outputs against a run; internal/docs checks the
// commands and the prose.
package markdown

import (
	"regexp"
	"strings"
)

// Block is a fenced block: lines[Start:End] are its lines, without the fences.
type Block struct {
	Info       string // what follows the opening fence: go, yaml, or nothing
	Command    string // "go run ./DIR ARGS" when the block is that command's output
	Start, End int
}

// marker precedes an output block: <!-- output of: go run ./DIR ARGS -->.
var marker = regexp.MustCompile(`^<!-- output of: (go run \./\S+.*) -->$`)

// Blocks finds the fenced blocks of a document split into lines, and the
// marker above each (on the last non-empty line before its fence).
func Blocks(lines []string) []Block {
	var found []Block
	for i := 0; i < len(lines); i++ {
		if !IsFence(lines[i]) {
			continue
		}
		b := Block{Info: strings.TrimPrefix(strings.TrimSpace(lines[i]), "```"), Start: i + 1, End: i + 1}
		for b.End < len(lines) && !IsFence(lines[b.End]) {
			b.End++
		}
		for j := i - 1; j >= 0; j-- {
			if strings.TrimSpace(lines[j]) != "" {
				if m := marker.FindStringSubmatch(lines[j]); m != nil {
					b.Command = m[1]
				}
				break
			}
		}
		found = append(found, b)
		i = b.End
	}
	return found
}

// IsFence: a line that opens or closes a fenced block, also one indented
// inside a list item.
func IsFence(line string) bool { return strings.HasPrefix(strings.TrimSpace(line), "```") }

// Prose is the document without its blocks and their fences.
func Prose(lines []string) []string {
	var prose []string
	next := 0
	for _, b := range Blocks(lines) {
		prose = append(prose, lines[next:b.Start-1]...)
		next = min(b.End+1, len(lines))
	}
	return append(prose, lines[next:]...)
}
