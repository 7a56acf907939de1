package docs

import (
	"regexp"
	"strings"

	"etcd-lock-workshop/internal/markdown"
)

// document is a README split into its fenced blocks and its prose.
type document struct {
	blocks []fenced
	prose  string // the lines outside the blocks
}

// fenced is a fenced block and the output marker above it, if any.
type fenced struct {
	info   string // what follows the opening fence: go, yaml, or nothing
	marker string // "go run ./DIR ARGS" when the block is that command's output
	lines  []string
}

// parse reads text as workshoptest's CheckREADMEs does (internal/markdown).
func parse(text string) document {
	lines := strings.Split(text, "\n")
	var md document
	for _, b := range markdown.Blocks(lines) {
		md.blocks = append(md.blocks, fenced{info: b.Info, marker: b.Command, lines: lines[b.Start:b.End]})
	}
	md.prose = strings.Join(markdown.Prose(lines), "\n")
	return md
}

// commands: every go command the document shows, once each, in order: in
// its command blocks, in its inline code, and in its output markers.
func (md document) commands() []string {
	cmds := md.blockCommands()
	for _, span := range inlineCode.FindAllStringSubmatch(md.prose, -1) {
		cmds = append(cmds, goCommands(span[1])...)
	}
	for _, b := range md.blocks {
		if b.marker != "" {
			cmds = append(cmds, normalize(b.marker))
		}
	}
	return unique(cmds)
}

// blockCommands: the go commands of the blocks that hold commands (not code,
// not output), comments left out.
func (md document) blockCommands() []string {
	var cmds []string
	for _, b := range md.blocks {
		if b.marker != "" || b.info != "" {
			continue
		}
		for _, line := range b.lines {
			cmds = append(cmds, goCommands(comment.ReplaceAllString(line, ""))...)
		}
	}
	return unique(cmds)
}

// outputs: each output block with its marker, as the document has them.
func (md document) outputs() []string {
	var out []string
	for _, b := range md.blocks {
		if b.marker != "" {
			out = append(out, "<!-- output of: "+b.marker+" -->\n"+strings.Join(b.lines, "\n"))
		}
	}
	return out
}

var (
	inlineCode = regexp.MustCompile("`([^`]+)`")
	comment    = regexp.MustCompile(`(^|\s)#.*$`)
	// a go command, after variables set for it (GOMAXPROCS=1 go run ./01-race)
	goCommand = regexp.MustCompile(`^([A-Z_][A-Z0-9_]*=\S*\s+)*go [a-z]+\b`)
)

// goCommands: the go commands in a line or a span ("go build ./... && go test ./...").
func goCommands(text string) []string {
	var cmds []string
	for _, part := range regexp.MustCompile(`&&|;|\|\|`).Split(text, -1) {
		if c := normalize(part); goCommand.MatchString(c) {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// normalize: one space between words, as Markdown shows a span that wraps,
// and every placeholder alike: <lease id in hex> is <十六进制的租约 id>.
func normalize(cmd string) string {
	return placeholder.ReplaceAllString(strings.Join(strings.Fields(cmd), " "), "<…>")
}

var placeholder = regexp.MustCompile(`<[^<>]*>`)

func unique(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
