package main

// Plumbing: which pitfalls to show (the command line), and the table at the end.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"etcd-lock-workshop/internal/cli"
)

// Shown is a pitfall and what its two programs did.
type Shown struct {
	Pitfall
	Outcome
}

// parseArgs reads the flags and the pitfalls named among them (all of them if
// none is named); an unknown name is a usage error.
func parseArgs(fs *flag.FlagSet, args []string) ([]Pitfall, error) {
	fs.Usage = func() { usage(fs) }
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, &cli.UsageError{Err: err}
		}
		if fs.NArg() == 0 {
			break
		}
		names, args = append(names, fs.Arg(0)), fs.Args()[1:]
	}
	if len(names) == 0 {
		return pitfalls, nil
	}
	var chosen []Pitfall
	for _, name := range names {
		pitfall, ok := byName(name)
		if !ok {
			return nil, cli.BadValue(fs, "unknown pitfall %q", name)
		}
		chosen = append(chosen, pitfall)
	}
	return chosen, nil
}

func byName(name string) (Pitfall, bool) {
	for _, pitfall := range pitfalls {
		if pitfall.Name == name {
			return pitfall, true
		}
	}
	return Pitfall{}, false
}

func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage: go run ./10-pitfalls [flags] [pitfall ...]\n\n")
	fmt.Fprintf(w, "Shows each pitfall going wrong, then fixed (all of them if none is named):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, pitfall := range pitfalls {
		fmt.Fprintf(tw, "  %s\t%s (%s)\n", pitfall.Name, pitfall.Title, pitfall.Issue)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nFlags:\n")
	fs.PrintDefaults()
}

// printTable sums the pitfalls up, one line each. What went wrong comes last:
// its length varies from run to run, and the other columns stay aligned.
func printTable(w io.Writer, shown []Shown) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "pitfall\tthe fix worked\twhat went wrong")
	for _, s := range shown {
		worked := "yes"
		if !s.Worked {
			worked = "NO"
		}
		saw := s.Saw
		if !s.Broke {
			saw = "NOT REPRODUCED: " + saw
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, worked, saw)
	}
	tw.Flush()
}

// notAsExpected is an error if a broken program did not go wrong or a fix
// did not work: then the chapter does not show what it says.
func notAsExpected(shown []Shown) error {
	var wrong []string
	for _, s := range shown {
		if !s.Broke {
			wrong = append(wrong, s.Name+" did not go wrong")
		}
		if !s.Worked {
			wrong = append(wrong, s.Name+"'s fix did not work")
		}
	}
	if len(wrong) == 0 {
		return nil
	}
	return errors.New(strings.Join(wrong, "; "))
}
