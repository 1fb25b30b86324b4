package rebuild

import (
	"reflect"
	"testing"
)

func TestParsePythonImports(t *testing.T) {
	src := `"""Docstring: import notamodule
from nowhere import nothing"""
import os, sys as system
import xml.dom.minidom
from . import sibling
from ..util import helper, other as alias
from .codecs.base import (
    Encoder,  # the base class
    Decoder,
)
from __future__ import annotations
from typing import *
x = "import fake"; import json
def f():
    import difflib
    s = '''
import alsofake
'''
    return s
from \
    statistics import fmean
class C:
    import enum
    async def g(self): import asyncio; import queue
    def h(self):
        pass
    from typing import Any
if __name__ == "__main__":
    import doctest
import abc
`
	got := parsePythonImports(src)
	want := []pyImport{
		{module: "os"}, {module: "sys"},
		{module: "xml.dom.minidom"},
		{level: 1, names: []string{"sibling"}},
		{level: 2, module: "util", names: []string{"helper", "other"}},
		{level: 1, module: "codecs.base", names: []string{"Encoder", "Decoder"}},
		{module: "typing"},
		{module: "json"},
		{module: "difflib", lazy: true},
		{module: "statistics", names: []string{"fmean"}},
		{module: "enum"},
		{module: "asyncio", lazy: true}, {module: "queue", lazy: true},
		{module: "typing", names: []string{"Any"}},
		{module: "doctest", lazy: true},
		{module: "abc"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("imports\n got %+v\nwant %+v", got, want)
	}
}

// A plugin kept only because its directory is input-selected never ran: what
// it imports is kept too (and what that imports), found along the search
// path; a module that ran has its imports in the trace already.
func TestSelectPythonImportsOfModulesThatNeverRan(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "app/pkg/__init__.py", "", 0o644)
	writeFile(t, root, "app/pkg/plugins/__init__.py", "", 0o644)
	writeFile(t, root, "app/pkg/plugins/a.py", "import difflib\nfrom . import helper\nfrom ..util import x\nfrom xml.dom import minidom\ns = 'import notreal'\nimport builtin_only\ndef run():\n    import textwrap\n", 0o644)
	writeFile(t, root, "app/pkg/plugins/helper.py", "", 0o644)
	writeFile(t, root, "app/pkg/plugins/b.py", "import csv\n", 0o644)
	writeFile(t, root, "app/pkg/util/__init__.py", "", 0o644)
	writeFile(t, root, "app/pkg/util/x.py", "", 0o644)
	writeFile(t, root, "app/pkg/util/unused.py", "", 0o644)
	std := "usr/lib/python3.11"
	writeFile(t, root, std+"/difflib.py", "from heapq import nlargest as _nlargest\ndef _test():\n    import doctest\n", 0o644)
	writeFile(t, root, std+"/doctest.py", "", 0o644)
	writeFile(t, root, std+"/textwrap.py", "", 0o644)
	writeFile(t, root, std+"/__pycache__/difflib.cpython-311.pyc", "pyc", 0o644)
	writeFile(t, root, std+"/heapq.py", "", 0o644)
	writeFile(t, root, std+"/csv.py", "", 0o644)
	writeFile(t, root, std+"/notreal.py", "", 0o644)
	writeFile(t, root, std+"/xml/__init__.py", "", 0o644)
	writeFile(t, root, std+"/xml/dom/__init__.py", "", 0o644)
	writeFile(t, root, std+"/xml/dom/minidom.py", "", 0o644)
	writeFile(t, root, std+"/xml/dom/pulldom.py", "", 0o644)
	f := openDir(t, root)
	needs := []Need{
		{Path: "/app/pkg/plugins/b.py", Reason: "traced:stat"},
		{Path: "/app/pkg/plugins", Reason: "input-selected:GET /x param query.plugin", Whole: true},
	}
	kept := keptPaths(Select(f, needs).Files)
	for p, r := range map[string]string{
		"/" + std + "/difflib.py":                          "python:imported by /app/pkg/plugins/a.py",
		"/" + std + "/__pycache__/difflib.cpython-311.pyc": "python:bytecode of /" + std + "/difflib.py",
		"/" + std + "/heapq.py":                            "python:imported by /" + std + "/difflib.py",
		"/" + std + "/xml/__init__.py":                     "python:imported by /app/pkg/plugins/a.py",
		"/" + std + "/xml/dom/__init__.py":                 "python:imported by /app/pkg/plugins/a.py",
		"/" + std + "/xml/dom/minidom.py":                  "python:imported by /app/pkg/plugins/a.py",
		"/app/pkg/util/__init__.py":                        "python:imported by /app/pkg/plugins/a.py",
		"/app/pkg/util/x.py":                               "python:imported by /app/pkg/plugins/a.py",
	} {
		if !hasReason(kept[p], r) {
			t.Errorf("%s: %+v, want reason %q", p, kept[p], r)
		}
	}
	// doctest: only difflib's self-test imports it, and difflib is kept only
	// because the plugin imports it.
	for _, p := range []string{"/" + std + "/doctest.py", "/" + std + "/csv.py", "/" + std + "/notreal.py", "/" + std + "/xml/dom/pulldom.py", "/app/pkg/util/unused.py"} {
		if k, ok := kept[p]; ok {
			t.Errorf("%s kept: %+v", p, k)
		}
	}
	off := keptPaths(Select(f, needs, WithoutHeuristics(HeuristicPython)).Files)
	if _, ok := off["/"+std+"/difflib.py"]; ok {
		t.Error("python heuristic off but a never-run module's import kept")
	}
}
