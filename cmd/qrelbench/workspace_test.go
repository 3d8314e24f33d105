package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// childEnv makes the test binary be qrelbench (see TestMain) instead of
// running the tests: the read-only tests need a process that cannot write
// the files; the labeling tests kill or interrupt one (process_test.go).
const childEnv = "QRELBENCH_TEST_CLI_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main() // signals, exit codes and all
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// readOnlyCLI returns a function running the CLI in a process that can read
// but not write dir: as root (who writes anything) the child runs as
// nobody; otherwise the folder and its files are made read-only.
func readOnlyCLI(t *testing.T, dir string) func(args ...string) (string, string, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// Copy the test binary where nobody can run it, and let nobody
		// reach dir (but not write it).
		bin := filepath.Join(t.TempDir(), "qrelbench.test")
		copyFile(t, exe, bin, 0o755)
		exe = bin
		for _, d := range []string{filepath.Dir(bin), filepath.Dir(filepath.Dir(bin)), dir, filepath.Dir(dir)} {
			os.Chmod(d, 0o755)
		}
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	} else {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			os.Chmod(filepath.Join(dir, e.Name()), 0o444)
		}
		os.Chmod(dir, 0o555)
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	return func(args ...string) (string, string, error) {
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), childEnv+"=1", "HOME="+dir)
		cmd.Dir = dir
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// snapshot is every file of dir with its bytes.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			m[e.Name()] = "(dir)"
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		m[e.Name()] = string(b)
	}
	return m
}

func sameFiles(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	var diff []string
	for k, v := range before {
		if after[k] != v {
			diff = append(diff, k+" changed")
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			diff = append(diff, k+" appeared")
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		t.Fatalf("%s: %s", what, strings.Join(diff, ", "))
	}
}

// smallWorkspace makes a closed workspace in its own folder with a few
// pairs and grades.
func smallWorkspace(t *testing.T) (dir, db string) {
	t.Helper()
	dir = t.TempDir()
	src := t.TempDir()
	db = filepath.Join(dir, "ws.db")
	mustCLI(t, db, "init")
	pairs := cliFile(t, src, "pairs.jsonl",
		`{"query_id":"q1","query_text":"how is honey made","doc_id":"d1","doc_text":"bees make honey","human_grade":3}`+"\n"+
			`{"query_id":"q1","query_text":"how is honey made","doc_id":"d2","doc_text":"ants build nests","human_grade":0}`+"\n")
	mustCLI(t, db, "import", "pairs", pairs)
	return dir, db
}

// TestReadingCommandsWorkOnReadOnlyWorkspace: stats, export, eval and
// labeler list read a workspace nobody may write, change nothing; a writing
// command says which file is read-only.
func TestReadingCommandsWorkOnReadOnlyWorkspace(t *testing.T) {
	dir, db := smallWorkspace(t)
	before := snapshot(t, dir)
	cli := readOnlyCLI(t, dir)
	for _, args := range [][]string{
		{"stats"},
		{"stats", "--json"},
		{"export", "qrels", "--labeler", "human:imported"},
		{"export", "pairs"},
		{"eval", "--reference", "human:imported", "--labelers", "human:imported", "--bootstrap", "0"},
		{"labeler", "list"},
	} {
		out, errOut, err := cli(append([]string{"--db", db}, args...)...)
		if err != nil {
			t.Fatalf("%s on a read-only workspace: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		if args[0] == "export" && args[1] == "qrels" && out != "q1 0 d1 3\nq1 0 d2 0\n" {
			t.Fatalf("export qrels: %q", out)
		}
		if args[0] == "stats" && len(args) == 1 && !strings.Contains(out, "documents 2") {
			t.Fatalf("stats: %q", out)
		}
	}
	sameFiles(t, "reading a read-only workspace", before, snapshot(t, dir))

	docs := cliFile(t, t.TempDir(), "docs.jsonl", `{"id":"d9","text":"wasps"}`+"\n")
	os.Chmod(filepath.Dir(docs), 0o755)
	os.Chmod(docs, 0o644)
	for _, args := range [][]string{{"import", "docs", docs}, {"labeler", "rm", "human:imported", "--force"}, {"label", "--labeler", "lexical"}} {
		_, errOut, err := cli(append([]string{"--db", db}, args...)...)
		if err == nil {
			t.Fatalf("%s on a read-only workspace succeeded", args[0])
		}
		if !strings.Contains(errOut, "workspace "+db+" is read-only") {
			t.Fatalf("%s: error %q does not say the workspace is read-only", strings.Join(args, " "), errOut)
		}
	}
	sameFiles(t, "writing commands refused", before, snapshot(t, dir))
}

// TestDamagedWorkspaceIsBlamedNotTheInput: a corrupt workspace is named as
// such, not reported as a problem of the input file's first line.
func TestDamagedWorkspaceIsBlamedNotTheInput(t *testing.T) {
	_, db := smallWorkspace(t)
	damagePages(t, db, "documents", "sqlite_autoindex_documents_1")
	pairs := cliFile(t, t.TempDir(), "pairs_ok.jsonl", `{"query_id":"q2","query_text":"wasps","doc_id":"d7","doc_text":"wasps sting"}`+"\n")
	_, _, err := coreCLI(t, db, "import", "pairs", pairs)
	if err == nil {
		t.Fatal("import into a damaged workspace succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "workspace "+db+" is damaged") || strings.Contains(msg, pairs+":1:") {
		t.Fatalf("error %q: want it to blame the workspace, not %s:1", msg, filepath.Base(pairs))
	}
}

// damagePages overwrites the root pages of the named tables and indexes.
func damagePages(t *testing.T, db string, names ...string) {
	t.Helper()
	h, err := sql.Open("sqlite3", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	var pageSize int64
	h.QueryRow(`PRAGMA page_size`).Scan(&pageSize)
	var roots []int64
	for _, n := range names {
		var root int64
		if err := h.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = ?`, n).Scan(&root); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		roots = append(roots, root)
	}
	h.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	h.Close()
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := bytes.Repeat([]byte{0xA5}, int(pageSize))
	for _, r := range roots {
		if _, err := f.WriteAt(junk, (r-1)*pageSize); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDemoFreshRebuildsOnlyTheDemo: --fresh deletes a workspace only when
// the demo built it; anything else --db names is refused and left
// byte-identical.
func TestDemoFreshRebuildsOnlyTheDemo(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other-app.sqlite")
	h, err := sql.Open("sqlite3", "file:"+other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Exec(`CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('keep me')`); err != nil {
		t.Fatal(err)
	}
	h.Close()
	team := filepath.Join(dir, "team.db")
	mustCLI(t, team, "init")
	text := cliFile(t, dir, "notes.txt", "not a database at all\n")
	sub := filepath.Join(dir, "folder.db")
	os.Mkdir(sub, 0o755)
	cliFile(t, sub, "inside.txt", "x")
	demoDB := filepath.Join(dir, "qrelbench-demo.db")
	mustCLI(t, demoDB, "demo", "--no-tui")
	link := filepath.Join(dir, "link.db")
	os.Symlink(demoDB, link)

	before := snapshot(t, dir)
	subBefore := snapshot(t, sub)
	for _, target := range []string{other, team, text, sub, link} {
		for _, args := range [][]string{{"demo", "--fresh", "--no-tui"}, {"demo", "--no-tui"}} {
			if target == link && args[1] != "--fresh" {
				continue // opening the demo through a link is fine; deleting through one is not
			}
			_, _, err := coreCLI(t, target, args...)
			if err == nil {
				t.Fatalf("%s on %s succeeded", strings.Join(args, " "), filepath.Base(target))
			}
			if args[1] == "--fresh" && !strings.Contains(err.Error(), "refusing to touch it") {
				t.Fatalf("demo --fresh on %s: %v", filepath.Base(target), err)
			}
		}
	}
	sameFiles(t, "refused --fresh", before, snapshot(t, dir))
	sameFiles(t, "refused --fresh (folder)", subBefore, snapshot(t, sub))
	h, _ = sql.Open("sqlite3", "file:"+other+"?mode=ro")
	var body string
	if err := h.QueryRow(`SELECT body FROM notes`).Scan(&body); err != nil || body != "keep me" {
		t.Fatalf("other app's database: %q %v", body, err)
	}
	h.Close()

	// The demo's own workspace is rebuilt: a grade added to it is gone.
	st, err := store.Open(context.Background(), demoDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(`INSERT INTO workspace(key, value) VALUES ('scribble', 'x')`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out := mustCLI(t, demoDB, "demo", "--fresh", "--no-tui")
	if !strings.Contains(out, "corpus: imported") {
		t.Fatalf("demo --fresh did not rebuild: %s", out)
	}
	st, err = store.Open(context.Background(), demoDB)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	st.DB().QueryRow(`SELECT count(*) FROM workspace WHERE key = 'scribble'`).Scan(&n)
	if n != 0 {
		t.Fatal("demo --fresh kept the old workspace")
	}
}
