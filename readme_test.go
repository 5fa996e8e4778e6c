package socketio

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// snippetImports maps the package names README snippets use to their
// import paths: a fragment gets the imports it mentions.
var snippetImports = map[string]string{
	"context":             "context",
	"errors":              "errors",
	"fmt":                 "fmt",
	"io":                  "io",
	"json":                "encoding/json",
	"log":                 "log",
	"slog":                "log/slog",
	"os":                  "os",
	"regexp":              "regexp",
	"strings":             "strings",
	"time":                "time",
	"http":                "net/http",
	"httptest":            "net/http/httptest",
	"testing":             "testing",
	"socketio":            "github.com/socketio-go/socketio",
	"engineio":            "github.com/socketio-go/socketio/engineio",
	"client":              "github.com/socketio-go/socketio/client",
	"msgpackparser":       "github.com/socketio-go/socketio/msgpackparser",
	"redisadapter":        "github.com/socketio-go/socketio/redisadapter",
	"redisstreamsadapter": "github.com/socketio-go/socketio/redisstreamsadapter",
	"redis":               "github.com/redis/go-redis/v9",
	"postgresadapter":     "github.com/socketio-go/socketio/postgresadapter",
	"pgxpool":             "github.com/jackc/pgx/v5/pgxpool",
	"natsadapter":         "github.com/socketio-go/socketio/natsadapter",
	"nats":                "github.com/nats-io/nats.go",
	"promsocketio":        "github.com/socketio-go/socketio/promsocketio",
	"adminui":             "github.com/socketio-go/socketio/adminui",
	"prometheus":          "github.com/prometheus/client_golang/prometheus",
	"promhttp":            "github.com/prometheus/client_golang/prometheus/promhttp",
	"bcrypt":              "golang.org/x/crypto/bcrypt",
	"tls":                 "crypto/tls",
	"webtransport":        "github.com/socketio-go/socketio/webtransport",
}

var (
	fenceRE   = regexp.MustCompile("(?m)^([ \t]*)```go\n")
	markerRE  = regexp.MustCompile(`<!-- go: (snippet|test)([^>]*)-->\s*$`)
	commentRE = regexp.MustCompile(`//.*`)
)

// readmeSnippet is a Go block of README.md, as a file to compile.
type readmeSnippet struct {
	line int
	name string // file name: main.go or main_test.go
	src  string
}

// readmeSnippets extracts the Go blocks of the README. A block that is a
// whole file (package ...) is taken as is; others must be marked by the
// line before: "<!-- go: snippet PARAMS -->" (statements, run in a function
// taking PARAMS) or "<!-- go: test -->" (declarations of a _test.go file).
func readmeSnippets(t *testing.T, md string) []readmeSnippet {
	var out []readmeSnippet
	for _, m := range fenceRE.FindAllStringSubmatchIndex(md, -1) {
		indent := md[m[2]:m[3]]
		body := md[m[1]:]
		end := strings.Index(body, "\n"+indent+"```")
		if end < 0 {
			t.Fatalf("unterminated go block at byte %d", m[0])
		}
		var lines []string
		for _, l := range strings.Split(body[:end], "\n") {
			lines = append(lines, strings.TrimPrefix(l, indent))
		}
		code := strings.Join(lines, "\n") + "\n"
		line := strings.Count(md[:m[0]], "\n") + 1
		before := strings.TrimRight(md[:m[0]], " \t\n")
		before = before[strings.LastIndex(before, "\n")+1:]
		marker := markerRE.FindStringSubmatch(before)
		switch {
		case strings.HasPrefix(code, "package "):
			out = append(out, readmeSnippet{line, "main.go", code})
		case marker == nil:
			t.Errorf("README.md:%d: a Go fragment without a <!-- go: snippet|test --> marker", line)
		case marker[1] == "test":
			out = append(out, readmeSnippet{line, "main_test.go", "package main\n\n" + importsFor(code) + code})
		default:
			params := strings.TrimSpace(marker[2])
			src := fmt.Sprintf("package main\n\n%s\ntype Message struct {\n\tRoom string `json:\"room\"`\n\tText string `json:\"text\"`\n}\n\nfunc snippet(%s) {\n%s}\n\nfunc main() {}\n",
				importsFor(code+params), params, code)
			out = append(out, readmeSnippet{line, "main.go", src})
		}
	}
	return out
}

// importsFor returns the import block of the packages code mentions.
func importsFor(code string) string {
	code = commentRE.ReplaceAllString(code, "")
	var b strings.Builder
	b.WriteString("import (\n")
	for name, path := range snippetImports {
		if regexp.MustCompile(`(^|[^\w.])` + name + `\.`).MatchString(code) {
			fmt.Fprintf(&b, "\t%q\n", path)
		}
	}
	b.WriteString(")\n\n")
	return b.String()
}

// TestReadmeSnippets compiles (go vet) every Go block of README.md, so that
// what a newcomer pastes builds.
func TestReadmeSnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds packages")
	}
	md, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	snippets := readmeSnippets(t, string(md))
	if len(snippets) < 5 {
		t.Fatalf("only %d Go blocks found", len(snippets))
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	// A module of its own beside the repository, which it replaces: the
	// snippets are built as a user's program would be.
	mod := t.TempDir()
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	gomod := fmt.Sprintf("module readme\n\ngo 1.26\n\nrequire github.com/socketio-go/socketio v0.0.0\n\nreplace github.com/socketio-go/socketio => %s\n", root)
	files := map[string]string{"go.mod": gomod, "go.sum": string(sum)}
	for _, sn := range snippets {
		files[filepath.Join(fmt.Sprintf("line%d", sn.line), sn.name)] = sn.src
	}
	for name, content := range files {
		path := filepath.Join(mod, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "vet", "-mod=mod", "./...")
	cmd.Dir = mod
	cmd.WaitDelay = time.Minute
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README snippets do not build (lineN is the block at line N of README.md):\n%s", out)
	}
}
