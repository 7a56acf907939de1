package main

// Not the lesson: how `go run ./etcd` keeps etcd's JSON log off the terminal
// and still says, in one line, when etcd serves and why it stopped.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"etcd-lock-workshop/internal/cli"
	"etcd-lock-workshop/internal/proc"
	"etcd-lock-workshop/internal/workshop"
)

// etcdRole is the child process that is etcd itself (see proc.Role).
const etcdRole = "etcd"

// supervise runs etcd in a child process and reads its log: etcd's own main
// reports a failed start only in its log, and then exits from deep inside
// (zap's Fatal), before code in the same process could say anything. So the
// log comes here, goes to a file, and the terminal gets one line when etcd
// serves, one when it stops, and what went wrong, in words.
func supervise(args []string, stderr io.Writer) int {
	stderr = cli.Wrap(stderr) // etcd's own words too: they can be wider than a projector
	logPath, logFile, err := createLogFile()
	if err != nil {
		fmt.Fprintf(stderr, "etcd: cannot create its log file: %v\n", err)
		return 1
	}
	defer logFile.Close()

	cmd, err := proc.CommandAs(context.Background(), etcdRole, append(args, "--log-outputs=stderr")...)
	if err != nil {
		fmt.Fprintf(stderr, "etcd: %v\n", err)
		return 1
	}
	cmd.Stdout = os.Stdout // --help and --version
	logs, err := cmd.StderrPipe()
	if err != nil {
		fmt.Fprintf(stderr, "etcd: %v\n", err)
		return 1
	}
	// Ctrl-C reaches etcd as well (one process group): this process waits
	// while etcd stops cleanly. It passes on every signal it gets, so that
	// one sent to it alone (kill PID) reaches etcd too; for etcd, a second
	// signal changes nothing.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "etcd: %v\n", err)
		return 1
	}
	var stoppedBy atomic.Int32 // the first signal this process got: what the terminal is told
	go func() {
		for sig := range signals {
			stoppedBy.CompareAndSwap(0, int32(sig.(syscall.Signal)))
			if sig == syscall.SIGHUP { // a closed terminal: etcd stops cleanly on SIGTERM, not on SIGHUP
				sig = syscall.SIGTERM
			}
			cmd.Process.Signal(sig)
		}
	}()

	seen := readLog(logs, logFile, stderr, logPath)
	err = cmd.Wait()
	status := report(err, cmd.ProcessState, syscall.Signal(stoppedBy.Load()), seen, logPath, stderr)
	if seen.dataDir == "" && (status == 0 || status == 2) { // --help, --version, a refused command line
		logFile.Close()
		os.Remove(logPath) // nothing in it that the terminal did not show
	}
	return status
}

// logEntry is what the terminal needs from one line of etcd's JSON log.
type logEntry struct {
	Level   string `json:"level"`
	Msg     string `json:"msg"`
	Error   string `json:"error"`
	Address string `json:"address"`
	DataDir string `json:"data-dir"`
	EnvVar  string `json:"environment-variable"`
}

// seenInLog is what etcd's log said about this run.
type seenInLog struct {
	dataDir  string
	serving  bool
	fatal    *logEntry
	badFlags string          // etcd's words for a command line it refused
	ignored  map[string]bool // ETCD_* variables etcd does not know, said once
}

// readLog copies etcd's log to the file, line by line, until etcd exits, and
// tells the terminal what a learner needs from it.
func readLog(logs io.Reader, logFile io.Writer, stderr io.Writer, logPath string) seenInLog {
	seen := seenInLog{ignored: map[string]bool{}}
	lines := bufio.NewReader(logs)
	for {
		line, err := lines.ReadString('\n') // no length limit: stack traces are long
		if line != "" {
			logFile.Write([]byte(line))
			seen.note(line, stderr, logPath)
		}
		if err != nil {
			return seen
		}
	}
}

func (seen *seenInLog) note(line string, stderr io.Writer, logPath string) {
	var e logEntry
	if grpcLog.MatchString(line) {
		return // grpc's own log ("WARNING: [core] ... transport is closing" when a client dies): the file has it
	}
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil {
		fmt.Fprint(stderr, line) // etcd's own words for the terminal: a bad flag, --help
		if !strings.HasSuffix(line, "\n") {
			fmt.Fprintln(stderr)
		}
		return
	}
	switch {
	case e.Msg == "Initialize and start etcd server":
		seen.dataDir = e.DataDir
	case strings.HasPrefix(e.Msg, "serving client traffic") && !seen.serving:
		// etcd listens, has a leader and has published itself: it serves.
		seen.serving = true
		scheme := "http"
		if strings.Contains(e.Msg, "securely") && !strings.Contains(e.Msg, "insecurely") {
			scheme = "https"
		}
		// The log's path on a line of its own: a temp dir's can be long.
		fmt.Fprintf(stderr, "etcd: serving clients at %s://%s, data in %s (Ctrl-C stops it), log in\n    %s\n",
			scheme, e.Address, shown(seen.dataDir), logPath)
	case e.Msg == "unrecognized environment variable":
		name, _, _ := strings.Cut(e.EnvVar, "=")
		if seen.ignored[name] { // etcd reads its environment twice
			return
		}
		seen.ignored[name] = true
		fmt.Fprintf(stderr, "etcd: %s is not an etcd setting, ignored (the workshop reads %s)\n",
			name, workshop.EndpointsEnv)
	case e.Msg == "failed to verify flags":
		seen.badFlags = e.Error
	case e.Level == "fatal" || e.Level == "panic":
		seen.fatal = &e
	}
}

// report says how etcd ended and returns the exit status for it. got is
// the signal this process was stopped by, if any: etcd got it as SIGTERM
// when it was SIGHUP.
func report(waitErr error, state *os.ProcessState, got syscall.Signal, seen seenInLog, logPath string, stderr io.Writer) int {
	if status, ok := state.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		// etcd stops cleanly on SIGINT and SIGTERM, then dies of the signal;
		// this process exits with the status of the one it got, as a shell expects.
		sig := status.Signal()
		if got != 0 {
			sig = got
		}
		fmt.Fprintf(stderr, "etcd: stopped by %s, data kept in %s\n", signalName(sig), shown(seen.dataDir))
		return 128 + int(sig)
	}
	var exit *exec.ExitError
	switch {
	case waitErr == nil:
		return 0
	case seen.badFlags != "":
		fmt.Fprintf(stderr, "etcd: %s\n%s\n", seen.badFlags, usage)
		return 2
	case seen.fatal != nil:
		fmt.Fprintf(stderr, "etcd: %s\n", explain(*seen.fatal, logPath))
	case errors.As(waitErr, &exit) && exit.ExitCode() == 2 && seen.dataDir == "":
		return 2 // etcd's flag package has said why, and printed its usage
	case errors.As(waitErr, &exit):
		// The log's path on a line of its own, as in the serving line.
		fmt.Fprintf(stderr, "etcd: exited with status %d, its log:\n    %s\n", exit.ExitCode(), logPath)
	default:
		fmt.Fprintf(stderr, "etcd: %v\n", waitErr)
	}
	return max(state.ExitCode(), 1)
}

var (
	portInUse = regexp.MustCompile(`listen tcp \S*:(\d+): bind: address already in use`)
	grpcLog   = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (INFO|WARNING|ERROR): \[`)
)

// explain turns etcd's last log line into what failed and what to do.
func explain(e logEntry, logPath string) string {
	if m := portInUse.FindStringSubmatch(e.Error); m != nil {
		if m[1] == "2379" { // go run ./etcd's port, and etcd1's in the compose cluster
			return "port 2379 is in use: is another etcd or the compose cluster running? " +
				"(go run ./etcd/cluster down stops the cluster)"
		}
		return fmt.Sprintf("port %s is in use: is another etcd running (go run ./etcd in another terminal)?", m[1])
	}
	msg := e.Msg
	if e.Error != "" {
		msg += ": " + e.Error
	}
	return fmt.Sprintf("%s, its log:\n    %s", msg, logPath)
}

// shown is a data dir as a learner would type it.
func shown(dir string) string {
	switch {
	case dir == "":
		return "./default.etcd"
	case filepath.IsAbs(dir) || strings.HasPrefix(dir, "."):
		return dir
	default:
		return "./" + dir
	}
}

func signalName(sig syscall.Signal) string {
	if name, ok := cli.SignalName[sig]; ok {
		return name
	}
	return sig.String()
}

// commands are the first arguments that are not etcd's flags: the workshop's
// health, and etcd's own two.
var commands = []string{"health", "gateway", "grpc-proxy"}

// urlFlags are etcd's flags that take URLs. etcd finds a port out of range
// only when it listens on it, as a fatal "invalid port" in its log, and
// never in a URL it only advertises.
var urlFlags = []string{
	"listen-client-urls", "listen-client-http-urls", "advertise-client-urls", "listen-peer-urls",
	"initial-advertise-peer-urls", "listen-metrics-urls", "initial-cluster",
}

// logLevels are the --log-level values etcd knows; another panics in its
// logger's set-up, with a stack trace.
var logLevels = []string{"debug", "info", "warn", "error", "panic", "fatal"}

// checker is how checkArgs checks the value of etcd's flag name, or nil.
func checker(name string) func(string) error {
	switch {
	case slices.Contains(urlFlags, name):
		return checkPorts
	case name == "log-level":
		return func(level string) error {
			if !slices.Contains(logLevels, level) {
				return fmt.Errorf("%q is not a level: %s", level, strings.Join(logLevels, ", "))
			}
			return nil
		}
	}
	return nil
}

// checkArgs refuses, before etcd starts, a first argument that is no command,
// a URL whose port is out of range and a log level etcd does not know, given
// as a flag or as etcd's variable for it (read only when the flag is not
// given).
func checkArgs(args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && !slices.Contains(commands, args[0]) {
		return fmt.Errorf("unknown command %q: the commands are %s and %s",
			args[0], strings.Join(commands[:len(commands)-1], ", "), commands[len(commands)-1])
	}
	given := map[string]bool{}
	for i := 0; i < len(args) && args[i] != "--"; i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		check := checker(name)
		if !strings.HasPrefix(args[i], "-") || check == nil {
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				break // etcd says that the value is missing
			}
			i++
			value = args[i]
		}
		given[name] = true
		if err := check(value); err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
	}
	for _, name := range slices.Concat(urlFlags, []string{"log-level"}) {
		env := "ETCD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if value, ok := os.LookupEnv(env); ok && !given[name] {
			if err := checker(name)(value); err != nil {
				return fmt.Errorf("%s: %w", env, err)
			}
		}
	}
	return nil
}

// checkPorts checks the ports of comma-separated URLs, each NAME=URL in
// --initial-cluster; what does not parse is left to etcd, which says so.
func checkPorts(urls string) error {
	for _, item := range strings.Split(urls, ",") {
		if name, u, ok := strings.Cut(item, "="); ok && !strings.Contains(name, "/") {
			item = u
		}
		u, err := url.Parse(strings.TrimSpace(item))
		if err != nil || u.Port() == "" {
			continue
		}
		if _, _, err := cli.SplitHostPort(u.Host); err != nil { // as the chapters' -endpoints says it
			return err
		}
	}
	return nil
}
