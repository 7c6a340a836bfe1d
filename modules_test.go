package bulwark_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRootModuleRequiresNothing keeps the core a standard-library-only
// module: a program that imports only the policies adds no version floor on
// anything else to its build.
func TestRootModuleRequiresNothing(t *testing.T) {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (f[0] == "require" || f[0] == "replace") {
			t.Errorf("go.mod:%d: %q: the root module must require nothing", i+1, line)
		}
	}
}

// TestEveryModuleIsInTheWorkspace checks that each go.mod below the root is
// listed in go.work, so that the README's single test command reaches it.
func TestEveryModuleIsInTheWorkspace(t *testing.T) {
	used := workspaceModules(t)
	found := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.Name() != "go.mod" || path == "go.mod" {
			return nil
		}
		found++
		dir := "./" + filepath.ToSlash(filepath.Dir(path))
		if !used[dir] {
			t.Errorf("%s is a module but go.work does not use %s", path, dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("no nested module found")
	}
}

func workspaceModules(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open("go.work")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	used := map[string]bool{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "use (":
			in = true
		case in && line == ")":
			in = false
		case in && line != "":
			used[line] = true
		case strings.HasPrefix(line, "use "):
			used[strings.TrimSpace(strings.TrimPrefix(line, "use "))] = true
		}
	}
	return used
}

// TestCoreOnlyProgramListsNoOtherModule builds the module graph of a fresh
// program that imports breaker, retry and timeout, outside the workspace,
// and checks that it lists no module but its own and bulwark.
func TestCoreOnlyProgramListsNoOtherModule(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/coreonly\n\ngo 1.26.0\n\nrequire github.com/bulwark-go/bulwark v0.0.0\n\nreplace github.com/bulwark-go/bulwark => "+root+"\n")
	write("main.go", `package main

import (
	"context"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

func main() {
	br, _ := breaker.New(breaker.Config{})
	rt, _ := retry.New(retry.Config{})
	to, _ := timeout.New(timeout.Config{})
	_, _ = bulwark.Get(context.Background(), bulwark.Chain(rt, br, to), func(context.Context) (int, error) { return 1, nil })
}
`)
	cmd := exec.Command(goCmd, "list", "-m", "all")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -m all: %v\n%s", err, out)
	}
	var mods []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		mods = append(mods, strings.Fields(line)[0])
	}
	want := []string{"example.com/coreonly", "github.com/bulwark-go/bulwark"}
	if strings.Join(mods, " ") != strings.Join(want, " ") {
		t.Errorf("go list -m all = %q, want %q", mods, want)
	}
	build := exec.Command(goCmd, "build", "-o", os.DevNull, ".")
	build.Dir = dir
	build.Env = cmd.Env
	if out, err := build.CombinedOutput(); err != nil {
		t.Errorf("go build of a core-only program: %v\n%s", err, out)
	}
}

// TestEveryIntegrationModuleStandsAlone resolves every package (tests
// included) of each integration module outside the workspace, with the
// module proxy off: its own go.mod and go.sum must be enough, with the
// replace directives that point at its sibling folders (as go-redis's
// extra/ modules do; a dependent ignores them). The command's module keeps
// no replace directive, so that go install ...@latest works; it resolves
// its siblings through go.work here and through their tags once published.
func TestEveryIntegrationModuleStandsAlone(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	for dir := range workspaceModules(t) {
		if dir == "." || dir == "./cmd/bulwark" {
			continue
		}
		t.Run(strings.TrimPrefix(dir, "./"), func(t *testing.T) {
			cmd := exec.Command(goCmd, "list", "-deps", "-test", "./...")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=readonly")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("GOWORK=off go list -deps -test ./... in %s: %v\n%s", dir, err, out)
			}
		})
	}
}
