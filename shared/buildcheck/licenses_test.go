package buildcheck

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// binaries are the packages Watchword ships; their modules are what a release carries.
var binaries = []string{"../../techclient", "../../console", "../../console/server/cmd/watchword-hub", "../../console/server/cmd/watchword-agent"}

// platforms are the systems a release is built for: each links a few modules of its own (the Windows credential
// store, for one).
var platforms = []string{"linux", "windows", "darwin"}

// compatible are the licenses a dependency of an Apache-2.0 program may have: permissive ones, and MPL-2.0,
// whose copyleft stays with its own files.
var compatible = []string{"Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "MIT", "MPL-2.0", "Unlicense"}

// licenseKinds tells licenses apart by a phrase of their text, the first match winning (a dual-licensed module's
// file may name both; the more permissive is listed first).
var licenseKinds = []struct{ spdx, phrase string }{
	{"GPL-or-LGPL", "GNU GENERAL PUBLIC LICENSE"},
	{"GPL-or-LGPL", "GNU LESSER GENERAL PUBLIC LICENSE"},
	{"AGPL", "GNU AFFERO"},
	{"Apache-2.0", "Apache License"},
	{"MPL-2.0", "Mozilla Public License"},
	{"MIT", "Permission is hereby granted, free of charge"},
	{"ISC", "Permission to use, copy, modify, and/or distribute this software for any"},
	{"ISC", "Permission to use, copy, modify, and distribute this software for any"},
	{"Unlicense", "This is free and unencumbered software released into the public domain"},
	{"BSD-3-Clause", "Neither the name"},
	{"BSD-3-Clause", "names of its contributors may be used"},
	{"BSD-2-Clause", "Redistribution and use in source and binary forms"},
}

var licenseFile = regexp.MustCompile(`(?i)^(licen[cs]e|copying|unlicense)(\.(md|txt))?$`)

// TestDependencyLicenses: every module the four binaries link, on every platform a release is built for, has a
// license file whose license is compatible with Apache-2.0, and docs/install.md's dependency section lists each
// with that license (and lists nothing else).
func TestDependencyLicenses(t *testing.T) {
	found := map[string]string{} // module path → SPDX identifier
	for _, goos := range platforms {
		args := append([]string{"list", "-deps", "-f", `{{with .Module}}{{if not .Main}}{{.Path}} {{.Dir}}{{end}}{{end}}`}, binaries...)
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=1", "GOFLAGS=-mod=readonly")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list for %s: %v", goos, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			path, dir, ok := strings.Cut(line, " ")
			if !ok || found[path] != "" {
				continue
			}
			found[path] = moduleLicense(t, dir)
		}
	}
	if len(found) < 20 {
		t.Fatalf("only %d modules found: the go list pattern is wrong", len(found))
	}
	listed := installDocLicenses(t)
	for path, spdx := range found {
		switch {
		case spdx == "":
			t.Errorf("%s has no license file a release could carry", path)
		case !slices.Contains(compatible, spdx):
			t.Errorf("%s is %s, not compatible with Apache-2.0", path, spdx)
		case listed[path] == "":
			t.Errorf("docs/install.md's dependency section does not list %s (%s)", path, spdx)
		case listed[path] != spdx:
			t.Errorf("docs/install.md lists %s as %s, its license file says %s", path, listed[path], spdx)
		}
	}
	for path := range listed {
		if found[path] == "" {
			t.Errorf("docs/install.md lists %s, which no binary links", path)
		}
	}
}

// moduleLicense is the SPDX identifier of the license in the module directory's license file, "" when it has none
// or none is recognised.
func moduleLicense(t *testing.T, dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("module directory: %v", err)
	}
	for _, e := range entries {
		if e.IsDir() || !licenseFile.MatchString(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if kind := classify(string(b)); kind != "" {
			return kind
		}
	}
	return ""
}

func classify(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	for _, k := range licenseKinds {
		if strings.Contains(text, strings.Join(strings.Fields(k.phrase), " ")) {
			return k.spdx
		}
	}
	return ""
}

// installDocLicenses reads the table of docs/install.md's "Dependencies and their licenses" section: module path
// in backquotes, then its SPDX identifier.
func installDocLicenses(t *testing.T) map[string]string {
	f, err := os.Open("../../docs/install.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `([^`]+)` \\| ([A-Za-z0-9.-]+) \\|")
	out := map[string]string{}
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "#") {
			in = strings.HasPrefix(line, "## Dependencies and their licenses")
			continue
		}
		if m := row.FindStringSubmatch(line); in && m != nil {
			out[m[1]] = m[2]
		}
	}
	if len(out) == 0 {
		t.Fatal(`docs/install.md has no "Dependencies and their licenses" table`)
	}
	return out
}

// The classifier tells the licenses apart, and refuses the GPL family.
func TestClassifyLicense(t *testing.T) {
	for text, want := range map[string]string{
		"Apache License\n  Version 2.0, January 2004":                                                      "Apache-2.0",
		"Permission is hereby granted, free of charge, to any person":                                      "MIT",
		"Redistribution and use in source and binary forms ... * Neither the name of Google Inc. nor":      "BSD-3-Clause",
		"Redistribution and use in source and binary forms, with or without modification, are permitted":   "BSD-2-Clause",
		"GNU GENERAL PUBLIC LICENSE Version 3":                                                             "GPL-or-LGPL",
		"Mozilla Public License Version 2.0":                                                               "MPL-2.0",
		"This is free and unencumbered software released into the public domain.":                          "Unlicense",
		"Permission to use, copy, modify, and/or distribute this software for any purpose with or without": "ISC",
		"All rights reserved.": "",
	} {
		if got := classify(text); got != want {
			t.Errorf("classify(%.40q) = %q, want %q", text, got, want)
		}
	}
}
