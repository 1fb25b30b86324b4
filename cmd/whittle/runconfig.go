package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/mattn/go-shellwords"
	"github.com/spf13/pflag"

	"github.com/whittle-dev/whittle/probe"
)

// runConfigFlags are the flags of `run` and `replay` that say how the
// target's containers start: the same for every container of a command.
type runConfigFlags struct {
	env        []string
	envFiles   []string
	mounts     []string
	entrypoint string
	cmd        string
	user       string
	workdir    string
	flags      *pflag.FlagSet
}

func (f *runConfigFlags) add(fl *pflag.FlagSet) {
	f.flags = fl
	fl.StringArrayVarP(&f.env, "env", "e", nil, "environment variable of the target, `NAME=VALUE` (repeatable; the value is never written to reports or the corpus)")
	fl.StringArrayVar(&f.envFiles, "env-file", nil, "`FILE` of NAME=VALUE lines for the target's environment, as docker run --env-file (repeatable)")
	fl.StringArrayVar(&f.mounts, "mount", nil, "mount `SOURCE:TARGET[:ro]` into the target, SOURCE a host path or a volume name (repeatable; nothing beneath TARGET goes into the minimal image)")
	fl.StringVar(&f.entrypoint, "entrypoint", "", "the target's entrypoint instead of the image's, as shell `WORDS` or a JSON array (\"\" clears it)")
	fl.StringVar(&f.cmd, "cmd", "", "the target's command (arguments) instead of the image's, as shell `WORDS` or a JSON array")
	fl.StringVar(&f.user, "user", "", "`USER` the target runs as (name, uid or uid:gid) instead of the image's")
	fl.StringVar(&f.workdir, "workdir", "", "working `DIR` of the target instead of the image's")
	inGroup(fl, groupTarget, "env", "env-file", "mount", "entrypoint", "cmd", "user", "workdir")
}

// build checks the flags and returns the run configuration; host paths to
// mount must exist.
func (f *runConfigFlags) build() (probe.RunConfig, error) {
	var rc probe.RunConfig
	for _, path := range f.envFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			return rc, fmt.Errorf("reading --env-file: %w", err)
		}
		env, err := probe.ParseEnvFile(path, data)
		if err != nil {
			return rc, err
		}
		rc.Env = append(rc.Env, env...)
	}
	for _, kv := range f.env {
		if _, _, err := probe.ParseEnv(kv); err != nil {
			return rc, fmt.Errorf("--env: %w", err)
		}
		rc.Env = append(rc.Env, kv)
	}
	for _, m := range f.mounts {
		mt, err := probe.ParseMount(m)
		if err != nil {
			return rc, fmt.Errorf("--mount: %w", err)
		}
		rc.Mounts = append(rc.Mounts, mt)
	}
	if err := probe.CheckMounts(rc.Mounts); err != nil {
		return rc, fmt.Errorf("--mount: %w", err)
	}
	if f.flags != nil && f.flags.Changed("entrypoint") {
		argv, err := commandWords("--entrypoint", f.entrypoint)
		if err != nil {
			return rc, err
		}
		if len(argv) == 0 {
			argv = []string{""}
		}
		rc.Entrypoint = argv
	}
	if f.flags != nil && f.flags.Changed("cmd") {
		argv, err := commandWords("--cmd", f.cmd)
		if err != nil {
			return rc, err
		}
		rc.Cmd = argv
		if rc.Cmd == nil {
			rc.Cmd = []string{}
		}
	}
	rc.User, rc.WorkingDir = f.user, f.workdir
	if rc.WorkingDir != "" && !strings.HasPrefix(rc.WorkingDir, "/") {
		return rc, fmt.Errorf("bad --workdir %q: want an absolute path in the container", rc.WorkingDir)
	}
	return rc, nil
}

// commandWords reads a command given as a JSON array or as shell words
// (quotes respected, no expansion).
func commandWords(flag, s string) ([]string, error) {
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(t), &argv); err != nil {
			return nil, fmt.Errorf("bad %s %q: not a JSON array of strings: %v", flag, s, err)
		}
		return argv, nil
	}
	p := shellwords.NewParser()
	argv, err := p.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("bad %s %q: %v (quote it as for a shell, or give a JSON array)", flag, s, err)
	}
	return argv, nil
}

// checkDrivers makes sure each --driver command can start: its program is
// found (in PATH or as a path) unless the command begins with shell syntax
// that only the shell can judge.
func checkDrivers(cmds []string) error {
	for _, c := range cmds {
		words, err := shellwords.NewParser().Parse(c)
		if err != nil {
			return fmt.Errorf("bad --driver %q: %v", c, err)
		}
		if len(words) == 0 {
			return fmt.Errorf("bad --driver %q: no command", c)
		}
		prog := words[0]
		if strings.Contains(prog, "=") || shellBuiltins[prog] {
			continue
		}
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Errorf("--driver %q: %s not found (give a path to an executable file, or a command in PATH)", c, prog)
		}
	}
	return nil
}

// shellBuiltins start a command that is valid without a program file.
var shellBuiltins = map[string]bool{
	"cd": true, "exec": true, "export": true, "set": true, ".": true, "source": true, "env": true,
	"if": true, "for": true, "while": true, "{": true, "(": true, "!": true, "true": true, "false": true, "test": true, "[": true,
}
