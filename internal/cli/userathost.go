package cli

import (
	"os"
	"os/user"
	"strings"
	"unicode"
	"unicode/utf8"
)

// UserAtHost is user@host, the name a learner gets by default, both cut to
// what a projector shows (max characters), with no "/" or space.
func UserAtHost(max int) string {
	who := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		who = u.Username
	}
	if i := strings.LastIndexAny(who, `\`); i >= 0 { // Windows: DOMAIN\user
		who = who[i+1:]
	}
	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".")
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || !unicode.IsPrint(r) {
			return '-'
		}
		return r
	}, orDefault(who, "learner")+"@"+orDefault(host, "laptop"))
	if utf8.RuneCountInString(name) > max {
		name = string([]rune(name)[:max])
	}
	return name
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
