package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/anishathalye/porcupine"
)

// What the learner reads: a line per experiment, the pictures and the
// timeline of an illegal history, the table, the summary.

// report prints an experiment's line; for an illegal history, its pictures
// and the timeline around the violation.
func (b *bench) report(r *result) {
	switch {
	case r.skipped != "":
		fmt.Fprintf(b.stdout, "%-18s skipped: %s\n", r.x, r.skipped)
		return
	case r.err != nil:
		fmt.Fprintf(b.stdout, "%-18s error: %v\n", r.x, r.err)
		return
	}
	line := fmt.Sprintf("%-18s lock: %-8s data: %-8s %s", r.x, word(r.lock), word(r.count), r.tally())
	if r.what != "" {
		line += "; " + r.what
	}
	fmt.Fprintln(b.stdout, line)
	if r.lock != porcupine.Illegal && r.count != porcupine.Illegal {
		return
	}
	for _, p := range []struct {
		which  string
		result porcupine.CheckResult
		model  porcupine.Model
		info   porcupine.LinearizationInfo
	}{
		{"lock", r.lock, lockModel, r.lockInfo},
		{"data", r.count, countModel.ToModel(), r.countInfo},
	} {
		if p.result != porcupine.Illegal {
			continue
		}
		path, err := b.pictures.draw(r, p.which, p.model, p.info)
		if err != nil {
			fmt.Fprintf(b.stderr, "picture of %s's %s history: %v\n", r.x, p.which, err)
			continue
		}
		fmt.Fprintf(b.stdout, "  picture of the %s history:\n    %s\n", p.which, path) // a path wraps nowhere
	}
	printTimeline(b.stdout, r)
}

func word(c porcupine.CheckResult) string {
	switch c {
	case porcupine.Ok:
		return "ok"
	case porcupine.Illegal:
		return "illegal"
	default:
		return "unknown"
	}
}

// tally sums up the count's history: its final value against the writes
// that were acknowledged.
func (r *result) tally() string {
	w := r.writes()
	s := fmt.Sprintf("count %d after %d acknowledged %s", w.final, w.acked, plural(w.acked, "write", "writes"))
	if w.refused > 0 {
		s += fmt.Sprintf(", %d refused by the fence", w.refused)
	}
	if w.unknown > 0 {
		s += fmt.Sprintf(", %d of unknown outcome", w.unknown)
	}
	return s
}

// writes counts the sections' writes by outcome, and gives the referee's count.
type writes struct{ acked, refused, unknown, final int }

func (r *result) writes() writes {
	w := writes{final: -1}
	for _, c := range r.calls {
		switch {
		case c.op != opRead:
		case c.client == r.referee:
			w.final = c.read
		case c.writeOutcome == ok:
			w.acked++
		case c.writeOutcome == refused:
			w.refused++
		case c.writeOutcome == unknown:
			w.unknown++
		}
	}
	return w
}

// printTable prints the verdicts: a row per lock and fence, a column per nemesis.
func printTable(w io.Writer, results []*result) {
	verdicts := map[string]string{}
	var rows []string
	for _, r := range results {
		row := r.x.lock + "/" + r.x.fence
		if _, seen := verdicts[row]; !seen {
			rows = append(rows, row)
			verdicts[row] = ""
		}
		verdicts[r.x.String()] = r.verdict()
	}
	fmt.Fprintln(w)
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "lock/fence"
	for _, n := range nemeses {
		header += "\t" + n.name
	}
	fmt.Fprintln(t, header)
	for _, row := range rows {
		line := row
		for _, n := range nemeses {
			v, ran := verdicts[row+"/"+n.name]
			if !ran {
				v = "-"
			}
			line += "\t" + v
		}
		fmt.Fprintln(t, line)
	}
	t.Flush()
	fmt.Fprintln(w, "ok: both histories linearizable. illegal: neither (two holders at once, and a lost update).")
	fmt.Fprintln(w, "data-ok: the lock's history is illegal (two holders at once), the data's is not: a fence refused the stale write (or, unfenced, none landed).")
	fmt.Fprintln(w)
}

// summary is the last line, for scripts: every experiment and its verdict.
func summary(results []*result) string {
	parts := []string{"summary:"}
	for _, r := range results {
		parts = append(parts, r.x.String()+"="+r.verdict())
	}
	return strings.Join(parts, " ")
}

// pictures is the folder of porcupine's drawings of illegal histories.
type pictures struct {
	dir   string
	temp  bool // made here: removed at the end if nothing was drawn in it
	drawn int
}

func newPictures(dir string, stderr io.Writer) (*pictures, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		return &pictures{dir: dir}, nil
	}
	dir, err := os.MkdirTemp("", "09-check-")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "pictures of illegal histories go to a new temp folder, kept after the run "+
		"if anything is drawn (-out names another):\n    %s\n", dir)
	return &pictures{dir: dir, temp: true}, nil
}

// draw writes porcupine's HTML page of one history, with what the nemesis
// did drawn beside the clients' calls.
func (p *pictures) draw(r *result, which string, model porcupine.Model, info porcupine.LinearizationInfo) (string, error) {
	var notes []porcupine.Annotation
	for _, n := range r.notes {
		// A row of its own, under the clients': drawn on the victim's row,
		// it would hide the victim's calls.
		notes = append(notes, porcupine.Annotation{Tag: "nemesis", Start: n.From, End: n.To, Description: n.What,
			BackgroundColor: "#ffd6d6"})
	}
	info.AddAnnotations(notes)
	path := filepath.Join(p.dir, strings.ReplaceAll(r.x.String(), "/", "-")+"-"+which+".html")
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		return "", err
	}
	p.drawn++
	return path, nil
}

// close removes a temp folder that stayed empty.
func (p *pictures) close() {
	if p.temp && p.drawn == 0 {
		os.Remove(p.dir)
	}
}
