package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kelasImports maps each package of the module (by import path) to the
// module packages its non-test files import, read from the source.
func kelasImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "static") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := "kelas"
		if dir := filepath.ToSlash(filepath.Dir(path)); dir != "." {
			pkg += "/" + dir
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		for _, im := range f.Imports {
			p, err := strconv.Unquote(im.Path.Value)
			require.NoError(t, err)
			if (p == "kelas" || strings.HasPrefix(p, "kelas/")) && !slices.Contains(out[pkg], p) {
				out[pkg] = append(out[pkg], p)
			}
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// deps is every module package pkg depends on, directly or not.
func deps(graph map[string][]string, pkg string) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(p string) {
		for _, d := range graph[p] {
			if !seen[d] {
				seen[d] = true
				visit(d)
			}
		}
	}
	visit(pkg)
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// TestLayers: imports flow one way. The store knows neither the HTTP side
// nor the views; the views do not know the HTTP side; the background work
// (jobs) does not know the HTTP side, which calls it through an interface;
// the mail both send knows neither.
func TestLayers(t *testing.T) {
	graph := kelasImports(t)
	for _, pkg := range []string{"kelas/app", "kelas/doctor", "kelas/i18n", "kelas/jobs", "kelas/mail", "kelas/store", "kelas/views"} {
		require.Contains(t, graph, pkg, "the package exists")
	}
	for _, rule := range []struct {
		pkg       string
		forbidden []string
	}{
		{"kelas/store", []string{"kelas/app", "kelas/views", "kelas/jobs"}},
		{"kelas/views", []string{"kelas/app", "kelas/jobs"}},
		{"kelas/jobs", []string{"kelas/app"}},
		// Mail is written for both the HTTP side and the jobs.
		{"kelas/mail", []string{"kelas/app", "kelas/jobs", "kelas/doctor"}},
		// `kelas doctor` checks run without the HTTP side; the console
		// shares their limits by importing doctor.
		{"kelas/doctor", []string{"kelas/app", "kelas/jobs"}},
		// The catalogues are a leaf every layer may speak through.
		{"kelas/i18n", []string{"kelas/app", "kelas/views", "kelas/jobs", "kelas/store", "kelas/mail", "kelas/doctor"}},
	} {
		got := deps(graph, rule.pkg)
		for _, f := range rule.forbidden {
			assert.NotContains(t, got, f, "%s must not depend on %s (it depends on %v)", rule.pkg, f, got)
		}
	}
	// Every sub-package of store stays below it too.
	for pkg := range graph {
		if strings.HasPrefix(pkg, "kelas/store/") {
			for _, d := range deps(graph, pkg) {
				assert.True(t, strings.HasPrefix(d, "kelas/store"), "%s depends on %s", pkg, d)
			}
		}
	}
}

// TestHTTPPackageStartsNoGoroutines: background work belongs to package
// jobs, whose Run owns every goroutine. The only go statements the HTTP
// package may hold are the listeners in App.Serve.
func TestHTTPPackageStartsNoGoroutines(t *testing.T) {
	files, err := filepath.Glob("app/*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var found []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			allowed := fn.Name.Name == "Serve" && fn.Recv != nil
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if g, ok := n.(*ast.GoStmt); ok && !allowed {
					found = append(found, fset.Position(g.Pos()).String()+" in "+fn.Name.Name)
				}
				return true
			})
		}
	}
	assert.Empty(t, found, "go statements in the HTTP package: hand the work to Background (app/background.go)")
}

// TestHTTPPackageDefinesNoJobs: the scheduled jobs' bodies live in package
// jobs. The HTTP package defines no function or method named run*, the
// name every job body carries.
func TestHTTPPackageDefinesNoJobs(t *testing.T) {
	files, err := filepath.Glob("app/*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var found []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && strings.HasPrefix(strings.ToLower(fn.Name.Name), "run") {
				found = append(found, fset.Position(fn.Pos()).String()+" "+fn.Name.Name)
			}
		}
	}
	assert.Empty(t, found, "job bodies in the HTTP package: they belong to package jobs")
}
