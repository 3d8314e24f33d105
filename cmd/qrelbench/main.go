// Command qrelbench is a terminal workbench for search relevance labeling:
// a workspace of query–document pairs, graded by humans, a teacher LLM, a
// distilled student and built-in baselines, and benchmarked against humans.
//
// One file per subcommand; every subcommand returns its error to main.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what every subcommand gets: where the workspace is and where to
// write.
type env struct {
	db     string
	stdout io.Writer
	stderr io.Writer
	stdin  io.Reader
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, env *env, args []string) error) {
	commands[name] = command{summary: summary, run: run}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first Ctrl-C the command winds down and saves what it
	// finished (a labeling run waits a few seconds for answers already paid
	// for); a second one ends the process at once, even one stuck in a read
	// that no context can interrupt (a named pipe, a hung disk).
	context.AfterFunc(ctx, stop)
	e := &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}
	if err := run(ctx, e, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		if errors.Is(err, context.Canceled) {
			// Ctrl-C: what finished is saved, and the command said so.
			fmt.Fprintln(os.Stderr, "qrelbench: interrupted")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "qrelbench:", err)
		os.Exit(1)
	}
}

// run parses the global flags and dispatches to a subcommand. The bare
// command opens the workbench and takes the flags of `tui`
// (`qrelbench --as bob --k 2`).
func run(ctx context.Context, e *env, args []string) error {
	global := flag.NewFlagSet("qrelbench", flag.ContinueOnError)
	global.SetOutput(e.stderr)
	global.StringVar(&e.db, "db", defaultDB(), "workspace file (default $QRELBENCH_DB or ./qrelbench.db)")
	version := global.Bool("version", false, "print the version and VCS revision this binary was built from")
	global.Usage = func() { usage(e.stderr) }
	own, rest := splitGlobal(global, args)
	if err := global.Parse(own); err != nil {
		return err
	}
	if *version {
		fmt.Fprintln(e.stdout, versionLine())
		return nil
	}
	if len(rest) > 0 && (rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help") {
		usage(e.stdout)
		return nil
	}
	if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
		rest = append([]string{"tui"}, rest...)
	}
	name := rest[0]
	cmd, ok := commands[name]
	if !ok {
		return fmt.Errorf("unknown command %s (see `qrelbench help`)", quote.Input(name))
	}
	// A failure of the workspace file itself (read-only, damaged, disk
	// full) names the workspace, whatever the command was doing.
	return store.Blame(e.db, cmd.run(ctx, e, rest[1:]))
}

// splitGlobal splits the command line where the global flags end: at the
// command, or at the first flag that is not a global one (the bare
// command's workbench flags).
func splitGlobal(global *flag.FlagSet, args []string) (own, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return args[:i], args[i:]
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := global.Lookup(name)
		if f == nil {
			return args[:i], args[i:]
		}
		if f != nil && !hasValue {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
				i++ // its value
			}
		}
	}
	return args, nil
}

// versionLine is the module version and the VCS revision of the build.
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "qrelbench (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	line := "qrelbench " + v
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		line += " revision " + rev
		if modified == "true" {
			line += " (with uncommitted changes)"
		}
		if at != "" {
			line += " from " + at
		}
	} else {
		line += " (no VCS revision recorded: built outside a git checkout, or by go run)"
	}
	return line + ", " + bi.GoVersion
}

// selfCommand is how the user runs qrelbench, with the workspace when it
// is not the default: "qrelbench --db team.db", or under `go run`, which
// leaves no binary behind, "go run -tags sqlite_fts5 ./cmd/qrelbench --db
// team.db". Hints that tell what to type next start with it.
func selfCommand(e *env) string {
	cmd := "qrelbench"
	if exe, err := os.Executable(); err == nil && builtByGoRun(exe) {
		cmd = "go run -tags sqlite_fts5 ./cmd/qrelbench"
	}
	if e.db != defaultDB() {
		cmd += " --db " + shellQuote(e.db)
	}
	return cmd
}

// builtByGoRun: the binary lives in a go-build work directory
// ($GOTMPDIR or the temp dir, go-buildNNN/bNNN/exe/NAME), as `go run`
// leaves it.
func builtByGoRun(exe string) bool {
	dir := filepath.Dir(exe)
	if filepath.Base(dir) != "exe" {
		return false
	}
	for d := filepath.Dir(dir); d != filepath.Dir(d); d = filepath.Dir(d) {
		if strings.HasPrefix(filepath.Base(d), "go-build") {
			return true
		}
	}
	return false
}

func defaultDB() string {
	if v := os.Getenv("QRELBENCH_DB"); v != "" {
		return v
	}
	return "qrelbench.db"
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: qrelbench [--db PATH] COMMAND [flags]")
	fmt.Fprintln(w, "       qrelbench [--db PATH] [--as NAME] [--k N] ...   opens the workbench (the flags of `qrelbench tui -h`)")
	fmt.Fprintln(w, "       qrelbench --version")
	fmt.Fprintln(w, "\ncommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `qrelbench COMMAND -h` for a command's flags.")
}

// cmdFlags is a subcommand's flag set with its usage line.
type cmdFlags struct {
	*flag.FlagSet
	usage string
}

// newFlags makes a subcommand's flag set; it also accepts --db so the flag
// can follow the subcommand.
func newFlags(e *env, name, usageLine string) *cmdFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&e.db, "db", e.db, "workspace file")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: qrelbench %s\n\nflags:\n", usageLine)
		fs.PrintDefaults()
	}
	return &cmdFlags{FlagSet: fs, usage: usageLine}
}

// usageError says how the command is called.
func (fs *cmdFlags) usageError() error { return fmt.Errorf("usage: qrelbench %s", fs.usage) }

// open is the preamble of most subcommands: parse the flags, check that
// there are exactly n positional arguments (any number when n < 0), and
// open the workspace. The caller closes the store.
func (fs *cmdFlags) open(ctx context.Context, e *env, args []string, n int) (*store.Store, []string, error) {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if n >= 0 && len(pos) != n {
		return nil, nil, fs.usageError()
	}
	st, err := openStore(ctx, e)
	return st, pos, err
}

// openRead is open for commands that only read: they work on a workspace
// this process cannot write to, and change nothing in it.
func (fs *cmdFlags) openRead(ctx context.Context, e *env, args []string, n int) (*store.Store, []string, error) {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if n >= 0 && len(pos) != n {
		return nil, nil, fs.usageError()
	}
	st, err := store.OpenReadOnly(ctx, e.db)
	return st, pos, err
}

// parseFlags parses flags that may come before, between or after the
// positional arguments (`import docs FILE --update`), which the flag package
// alone does not allow.
func parseFlags(fs *cmdFlags, args []string) ([]string, error) {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // let Parse report it
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return positional, nil
}

// openStore opens the workspace named by --db.
func openStore(ctx context.Context, e *env) (*store.Store, error) {
	return store.Open(ctx, e.db)
}

// multiFlag collects a repeatable or comma-separated flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*m = append(*m, p)
		}
	}
	return nil
}
