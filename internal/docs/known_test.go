package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// notRunYet: commands a teacher needs that neither go test nor .ci/run runs
// as such, each with what does its work. Each is a gap to close in CI, not in
// this list: once .ci/run runs one, the test says to drop it.
var notRunYet = map[string]string{}

// known: what the test suite and CI run, read from the module itself.
type known struct {
	outputs map[string]bool       // README output-block commands: CheckREADMEs runs them
	ci      [][]string            // .ci/run's go commands, in words
	tests   map[string][][]string // a folder's test argument lists: the flags and words its tests run its program with
	funcs   map[string][]string   // a folder's tests, examples and benchmarks, by name
}

func knownCommands(t *testing.T, root string) known {
	k := known{outputs: map[string]bool{}, tests: map[string][][]string{}, funcs: map[string][]string{}}
	for _, doc := range documents(t, root) {
		for _, b := range parse(read(t, root, doc)).blocks {
			if b.marker != "" {
				k.outputs[normalize(b.marker)] = true
			}
		}
	}
	require.NotEmpty(t, k.outputs, "no README output block found")

	for _, line := range strings.Split(read(t, root, ".ci/run"), "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "#") || strings.HasPrefix(line, "echo ") {
			continue // what it says, not what it runs
		}
		for _, c := range ciCommand.FindAllString(line, -1) {
			k.ci = append(k.ci, strings.Fields(c))
		}
	}
	require.NotEmpty(t, k.ci, ".ci/run runs no go command")

	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		dir = filepath.ToSlash(dir)
		args, funcs := testFile(t, path)
		k.tests[dir] = append(k.tests[dir], args...)
		k.funcs[dir] = append(k.funcs[dir], funcs...)
		return nil
	})
	require.NoError(t, err)
	return k
}

// ciCommand: a go command in a shell script, up to the end of its line, a
// ; or && or |, or the ) of a $(...).
var ciCommand = regexp.MustCompile(`\bgo [a-z]+[^;&|)\n]*`)

// runBy says what runs cmd, or "" if nothing does.
func (k known) runBy(cmd string) string {
	if k.outputs[cmd] {
		return "a README's output block"
	}
	words := strings.Fields(cmd)
	if len(words) < 2 || words[0] != "go" {
		return ""
	}
	for _, ci := range k.ci {
		if covers(ci, words) {
			return ".ci/run (" + strings.Join(ci, " ") + ")"
		}
	}
	if words[1] != "run" {
		return ""
	}
	// go run [-race] ./DIR ARGS: a test of DIR runs its program with ARGS,
	// and CI runs that test with the same build flags (go test -race: the
	// chapter in-process and its children are built with -race).
	goFlags, rest := words[2:], []string(nil)
	for i, w := range words[2:] {
		if !strings.HasPrefix(w, "-") {
			goFlags, rest = words[2:2+i], words[2+i:]
			break
		}
	}
	if len(rest) == 0 || !strings.HasPrefix(rest[0], "./") {
		return ""
	}
	if len(goFlags) > 0 && !k.ciTests(goFlags, rest[0]) {
		return ""
	}
	dir := strings.TrimPrefix(rest[0], "./")
	for _, args := range k.tests[dir] {
		if passes(args, rest[1:]) {
			return "a test in " + dir + " (" + strings.Join(args, " ") + ")"
		}
	}
	return ""
}

// ciTests: CI runs go test with these build flags (and maybe more) on pkg.
func (k known) ciTests(flags []string, pkg string) bool {
	for _, ci := range k.ci {
		if ci[1] != "test" {
			continue
		}
		ciFlags, ciPkgs := split(ci[2:])
		if includes(ciPkgs, pkg) && !slices.ContainsFunc(flags, func(f string) bool { return !slices.Contains(ciFlags, f) }) {
			return true
		}
	}
	return false
}

// covers: CI's command ci runs cmd, or a part of it: the same go subcommand
// with the same flags, on packages its patterns include. Flags that only pick
// which tests run, or how often (-run, -count, -v), do not matter.
func covers(ci, cmd []string) bool {
	if len(cmd) < 3 || ci[1] != cmd[1] {
		return false
	}
	ciFlags, ciPkgs := split(ci[2:])
	flags, pkgs := split(cmd[2:])
	if pkgs == nil || strings.Join(ciFlags, " ") != strings.Join(flags, " ") {
		return false
	}
	for _, pkg := range pkgs {
		if !includes(ciPkgs, pkg) {
			return false
		}
	}
	return true
}

// split a go command's arguments into flags (selection flags left out) and
// packages; nil packages when something is neither.
func split(args []string) (flags, pkgs []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-run" || a == "-count":
			i++ // and its value
		case strings.HasPrefix(a, "-run=") || strings.HasPrefix(a, "-count=") || a == "-v":
		case strings.HasPrefix(a, "-"):
			flags = append(flags, a)
		case strings.HasPrefix(a, "."):
			pkgs = append(pkgs, a)
		default:
			return flags, nil
		}
	}
	return flags, pkgs
}

// includes: one of the patterns (./..., ./etcd/...) names pkg.
func includes(patterns []string, pkg string) bool {
	for _, p := range patterns {
		if p == pkg {
			return true
		}
		if base, ok := strings.CutSuffix(p, "/..."); ok {
			if base == "." || pkg == base || strings.HasPrefix(pkg, base+"/") {
				return true
			}
		}
	}
	return false
}

// passes: a test's arguments include every flag of the teacher's command
// and every word that is not a flag's value. Values may differ: a teacher's
// -ttl 10 is a test's -ttl 1, and its -endpoints an embedded etcd's.
func passes(testArgs, cmdArgs []string) bool {
	for i := 0; i < len(cmdArgs); i++ {
		a := cmdArgs[i]
		if strings.HasPrefix(a, "-") {
			name, _, hasValue := strings.Cut(a, "=")
			if !hasFlag(testArgs, name) {
				return false
			}
			if !hasValue && i+1 < len(cmdArgs) && !strings.HasPrefix(cmdArgs[i+1], "-") {
				i++ // its value
			}
			continue
		}
		if !contains(testArgs, a) {
			return false
		}
	}
	return true
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

func contains(args []string, word string) bool {
	for _, a := range args {
		if a == word {
			return true
		}
	}
	return false
}

// runners: how a chapter's test runs its program: run (every chapter's
// RunFunc), proc's Start/StartAs/Command/CommandAs (a child
// process), workshoptest.Exit, and workshoptest.ExitCase (CheckExits).
var runners = map[string]bool{
	"run": true, "proc.Start": true, "proc.StartAs": true,
	"proc.Command": true, "proc.CommandAs": true, "workshoptest.Exit": true,
}

// testFile reads a test file: the argument lists it runs its program with,
// as far as they are written in it (string literals, []string literals,
// append, and variables set to these; what is not a literal, an endpoint or
// a temp dir, is left out: it is a value, and values may differ), and the
// names of its tests, examples and benchmarks.
func testFile(t *testing.T, path string) (lists [][]string, funcs []string) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	require.NoError(t, err)
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && testFunc.MatchString(fn.Name.Name) {
			funcs = append(funcs, fn.Name.Name)
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if runners[funcName(n.Fun)] {
				var args []string
				for _, a := range n.Args {
					args = append(args, literals(a, 0)...)
				}
				lists = append(lists, args)
			}
		case *ast.CompositeLit:
			if typeName(n.Type) == "ExitCase" {
				for i, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok && typeName(kv.Key) == "Args" {
						lists = append(lists, literals(kv.Value, 0))
					} else if !ok && i == 1 { // ExitCase{Name, Args, Status, Says}
						lists = append(lists, literals(e, 0))
					}
				}
			}
		}
		return true
	})
	return lists, funcs
}

var testFunc = regexp.MustCompile(`^(Test|Example|Benchmark)([A-Z_]|$)`)

// literals: the strings an expression is made of, as far as the file says.
func literals(e ast.Expr, depth int) []string {
	if depth > 8 {
		return nil
	}
	switch e := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
			return []string{s}
		}
	case *ast.CompositeLit:
		if arr, ok := e.Type.(*ast.ArrayType); ok && typeName(arr.Elt) == "string" {
			var out []string
			for _, elt := range e.Elts {
				out = append(out, literals(elt, depth+1)...)
			}
			return out
		}
	case *ast.CallExpr:
		if funcName(e.Fun) == "append" {
			var out []string
			for _, a := range e.Args {
				out = append(out, literals(a, depth+1)...)
			}
			return out
		}
	case *ast.Ident:
		if e.Obj == nil {
			return nil
		}
		switch decl := e.Obj.Decl.(type) {
		case *ast.AssignStmt:
			return assigned(e.Name, decl.Lhs, decl.Rhs, depth)
		case *ast.ValueSpec:
			lhs := make([]ast.Expr, len(decl.Names))
			for i, name := range decl.Names {
				lhs[i] = name
			}
			return assigned(e.Name, lhs, decl.Values, depth)
		}
	}
	return nil
}

// assigned: the literals of the value a declaration gives to name.
func assigned(name string, lhs, rhs []ast.Expr, depth int) []string {
	if len(lhs) != len(rhs) {
		return nil
	}
	for i, l := range lhs {
		if id, ok := l.(*ast.Ident); ok && id.Name == name {
			return literals(rhs[i], depth+1)
		}
	}
	return nil
}

// funcName: run for run(...), proc.Start for proc.Start(...).
func funcName(fun ast.Expr) string {
	if sel, ok := fun.(*ast.SelectorExpr); ok {
		if pkg, ok := sel.X.(*ast.Ident); ok {
			return pkg.Name + "." + sel.Sel.Name
		}
	}
	return typeName(fun)
}

// typeName: the last name of an identifier or a selector.
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}
