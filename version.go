package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// buildInfo is what the Go toolchain recorded in the binary: the main
// module's path and version, and the VCS revision, its time and whether
// the tree had changes (absent under `go run` and without .git).
type buildInfo struct {
	module, version          string
	revision, time, modified string
}

func readBuildInfo() buildInfo {
	b := buildInfo{module: "kelas", version: "(devel)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Path != "" {
		b.module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		b.version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value
		case "vcs.time":
			b.time = s.Value
		case "vcs.modified":
			b.modified = s.Value
		}
	}
	return b
}

// versionString is the one-line version: module version, short revision,
// Go version and platform.
func versionString() string {
	b := readBuildInfo()
	rev := ""
	if len(b.revision) >= 12 {
		rev = " " + b.revision[:12]
	}
	return fmt.Sprintf("kelas %s%s %s %s/%s", b.version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// runVersion prints the version line, then the module version and the VCS
// revision from the build info.
func runVersion(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("version", getenv)
	if err := f.parse(args, stdout, stderr); err != nil {
		return err
	}
	b := readBuildInfo()
	fmt.Fprintln(stdout, versionString())
	fmt.Fprintf(stdout, "module:   %s %s\n", b.module, b.version)
	switch {
	case b.revision == "":
		fmt.Fprintln(stdout, "revision: unknown (built without version control information, e.g. by go run)")
	case b.modified == "true":
		fmt.Fprintf(stdout, "revision: %s with uncommitted changes\n", b.revision)
	default:
		fmt.Fprintf(stdout, "revision: %s\n", b.revision)
	}
	if b.time != "" {
		fmt.Fprintf(stdout, "time:     %s\n", b.time)
	}
	return nil
}
