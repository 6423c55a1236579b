package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// Size limits of production code (STYLE.md: a file reads top to bottom, a
// function fits on a screen). A file or function may pass its limit when a
// comment right above it (a function's doc, a file's package clause) says
// why with a line starting "Long:".
const (
	maxFileLines = 500
	maxFuncLines = 80
)

// TestLayout keeps every production file and function within its limit.
func TestLayout(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if n := fset.File(f.Pos()).LineCount(); n > maxFileLines && !saysWhy(f.Doc) {
			t.Errorf("%s has %d lines (limit %d): split it along its jobs, or say why in a Long: comment above the package clause", rel, n, maxFileLines)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if n > maxFuncLines && !saysWhy(fn.Doc) {
				t.Errorf("%s: %s has %d lines (limit %d): extract its steps, or say why in a Long: comment", rel, fn.Name.Name, n, maxFuncLines)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// saysWhy reports whether doc has a line starting "Long:".
func saysWhy(doc *ast.CommentGroup) bool {
	if doc == nil {
		return false
	}
	for _, line := range strings.Split(doc.Text(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "Long:") {
			return true
		}
	}
	return false
}
