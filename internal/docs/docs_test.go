package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every README and the teacher's guide exist in English (NAME.md) and in
// Chinese (NAME.zh-CN.md), side by side.
func TestEveryDocumentHasItsTranslation(t *testing.T) {
	root := moduleRoot(t)
	docs := documents(t, root)
	require.Contains(t, docs, "README.md")
	require.Contains(t, docs, "TEACHING.md")
	for _, doc := range docs {
		other := counterpart(doc)
		if !slices.Contains(docs, other) {
			t.Errorf("%s has no counterpart: write %s beside it", doc, other)
		}
	}
}

// The first line of each links to the other language.
func TestLanguageLinks(t *testing.T) {
	root := moduleRoot(t)
	for _, doc := range documents(t, root) {
		en, zh := pair(doc)
		want := "English | [中文](" + filepath.Base(zh) + ")"
		if doc == zh {
			want = "[English](" + filepath.Base(en) + ") | 中文"
		}
		if first, _, _ := strings.Cut(read(t, root, doc), "\n"); first != want {
			t.Errorf("%s: the first line must link to the other language: %q, not %q", doc, want, first)
		}
	}
}

// A learner who reads one language runs the same commands as one who reads
// the other: the go commands in the code blocks, in the inline code and in
// the output markers of the two are the same.
func TestTranslationsShowTheSameCommands(t *testing.T) {
	root := moduleRoot(t)
	for _, en := range englishDocuments(t, root) {
		_, zh := pair(en)
		enCmds, zhCmds := parse(read(t, root, en)).commands(), parse(read(t, root, zh)).commands()
		for _, c := range enCmds {
			if !slices.Contains(zhCmds, c) {
				t.Errorf("%s shows %q and %s does not", en, c, zh)
			}
		}
		for _, c := range zhCmds {
			if !slices.Contains(enCmds, c) {
				t.Errorf("%s shows %q and %s does not", zh, c, en)
			}
		}
	}
}

// Both languages show the same output blocks, in the same order, under the
// same markers: CheckREADMEs runs each command once and checks both.
func TestTranslationsShowTheSameOutputs(t *testing.T) {
	root := moduleRoot(t)
	for _, en := range englishDocuments(t, root) {
		_, zh := pair(en)
		assert.Equal(t, parse(read(t, root, en)).outputs(), parse(read(t, root, zh)).outputs(),
			"%s and %s: the output blocks and their markers differ (copy them from %s, or go test -update in its folder)", en, zh, en)
	}
}

// The article's own words that the English cites (its section titles, 租约,
// 互斥访问...) appear in the Chinese as the article writes them.
func TestChineseKeepsTheArticlesWords(t *testing.T) {
	root := moduleRoot(t)
	for _, en := range englishDocuments(t, root) {
		_, zh := pair(en)
		chinese := read(t, root, zh)
		for _, words := range articleWords.FindAllString(read(t, root, en), -1) {
			if words != "中文" && !strings.Contains(chinese, words) {
				t.Errorf("%s cites the article's %q, %s does not", en, words, zh)
			}
		}
	}
}

// The root README in Chinese names the article's sections as the article does.
func TestChineseREADMENamesTheArticlesSections(t *testing.T) {
	readme := read(t, moduleRoot(t), "README.zh-CN.md")
	for _, title := range []string{"1、需要具备的特性", "2、本地锁", "3、etcd分布式锁", "实现互斥访问", "实现超时机制", "实现阻塞和非阻塞接口"} {
		assert.Contains(t, readme, title)
	}
}

// Everything the teacher's guide tells a teacher to run in a code block is
// run by the test suite or by CI: the command of a README's output block
// (CheckREADMEs runs it), a command .ci/run runs (or runs a part of), or a
// chapter's program with flags that one of its tests passes.
func TestTeachingCommandsAreRun(t *testing.T) {
	root := moduleRoot(t)
	known := knownCommands(t, root)
	for _, doc := range []string{"TEACHING.md", "TEACHING.zh-CN.md"} {
		md := parse(read(t, root, doc))
		cmds := md.blockCommands()
		require.NotEmpty(t, cmds, "%s shows no command", doc)
		for _, c := range cmds {
			if _, gap := notRunYet[c]; !gap && known.runBy(c) == "" {
				t.Errorf("%s tells a teacher to run %q, which neither go test nor .ci/run runs: "+
					"use a README's output-block command, a CI command, or flags a test of the chapter passes", doc, c)
			}
		}
	}
	for cmd := range notRunYet {
		if by := known.runBy(cmd); by != "" {
			t.Errorf("%q is now run by %s: drop it from notRunYet", cmd, by)
		}
	}
}

// The tests the teacher's guide names exist, and a go test -run it shows
// selects at least one test of its package: a renamed test cannot leave the
// guide pointing at nothing (go test -run NoSuchTest passes, silently).
func TestTeachingNamesRealTests(t *testing.T) {
	root := moduleRoot(t)
	known := knownCommands(t, root)
	var all []string
	for _, funcs := range known.funcs {
		all = append(all, funcs...)
	}
	for _, doc := range []string{"TEACHING.md", "TEACHING.zh-CN.md"} {
		md := parse(read(t, root, doc))
		for _, name := range testName.FindAllString(read(t, root, doc), -1) {
			if !slices.Contains(all, name) {
				t.Errorf("%s names %s, and no test has that name", doc, name)
			}
		}
		for _, c := range md.blockCommands() {
			words := strings.Fields(c)
			if len(words) < 3 || words[1] != "test" {
				continue
			}
			pattern, pkgs := runPattern(words[2:])
			if pattern == "" {
				continue
			}
			re, err := regexp.Compile(pattern)
			require.NoError(t, err, "%s: %q", doc, c)
			for _, pkg := range pkgs {
				dir := strings.TrimPrefix(pkg, "./")
				if !slices.ContainsFunc(known.funcs[dir], re.MatchString) {
					t.Errorf("%s: %q runs no test: nothing in %s matches %s", doc, c, pkg, pattern)
				}
			}
		}
	}
}

var testName = regexp.MustCompile(`\bTest[A-Z]\w*`)

// runPattern: the -run pattern of go test's arguments, and its packages.
func runPattern(args []string) (pattern string, pkgs []string) {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-run" && i+1 < len(args):
			pattern = args[i+1]
			i++
		case strings.HasPrefix(a, "-run="):
			pattern = strings.TrimPrefix(a, "-run=")
		case strings.HasPrefix(a, "./"):
			pkgs = append(pkgs, a)
		}
	}
	return pattern, pkgs
}

// articleWords: the article's Chinese, as the English cites it ("3、etcd分布式锁",
// "实现超时机制", "租约").
var articleWords = regexp.MustCompile(`(?:\d+、)?(?:etcd)?\p{Han}+`)

// moduleRoot is the folder of go.mod, found upward from the test's folder.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test's folder")
		dir = parent
	}
}

// documents are the module's READMEs and teacher's guides, in either
// language, as slash paths from the root.
func documents(t *testing.T, root string) []string {
	t.Helper()
	var docs []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || strings.HasSuffix(name, ".etcd")) {
				return filepath.SkipDir // git, CI, etcd's data
			}
			return nil
		}
		if base, _ := pair(name); base == "README.md" || base == "TEACHING.md" {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			docs = append(docs, filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err)
	return docs
}

func englishDocuments(t *testing.T, root string) []string {
	var en []string
	for _, doc := range documents(t, root) {
		if english, _ := pair(doc); english == doc && fileExists(root, counterpart(doc)) {
			en = append(en, doc) // a missing counterpart is TestEveryDocumentHasItsTranslation's
		}
	}
	return en
}

// pair: the English and the Chinese path of a document, from either.
func pair(doc string) (en, zh string) {
	if base, ok := strings.CutSuffix(doc, ".zh-CN.md"); ok {
		return base + ".md", doc
	}
	return doc, strings.TrimSuffix(doc, ".md") + ".zh-CN.md"
}

func counterpart(doc string) string {
	if en, zh := pair(doc); doc == en {
		return zh
	} else {
		return en
	}
}

func fileExists(root, doc string) bool {
	_, err := os.Stat(filepath.Join(root, filepath.FromSlash(doc)))
	return err == nil
}

func read(t *testing.T, root, doc string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(doc)))
	require.NoError(t, err)
	return string(data)
}
