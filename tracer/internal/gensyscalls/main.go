// Command gensyscalls writes tracer/syscalls_amd64_table.go: the x86_64
// syscall names by number, from the kernel's UAPI header as Debian ships it
// (linux-libc-dev), completed with the numbers that golang.org/x/sys/unix
// knows and the header does not (newer kernels' calls, uprobe/uretprobe).
//
//	go run ./internal/gensyscalls -o syscalls_amd64_table.go   (from tracer/, via go generate)
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	header := flag.String("header", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "the kernel's x86_64 syscall numbers (linux-libc-dev)")
	version := flag.String("version", "/usr/include/linux/version.h", "the UAPI headers' version (linux-libc-dev)")
	xsys := flag.String("xsys", "", "golang.org/x/sys/unix/zsysnum_linux_amd64.go (default: from the module cache)")
	out := flag.String("o", "syscalls_amd64_table.go", "output file")
	flag.Parse()
	if err := run(*header, *version, *xsys, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gensyscalls:", err)
		os.Exit(1)
	}
}

func run(header, version, xsys, out string) error {
	if xsys == "" {
		dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/sys").Output()
		if err != nil {
			return fmt.Errorf("locating golang.org/x/sys: %w", err)
		}
		xsys = filepath.Join(strings.TrimSpace(string(dir)), "unix", "zsysnum_linux_amd64.go")
	}
	src, err := generate(header, version, xsys)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

var (
	headerRe  = regexp.MustCompile(`^#define __NR_(\w+) (\d+)$`)
	xsysRe    = regexp.MustCompile(`^\s*SYS_(\w+)\s*=\s*(\d+)$`)
	versionRe = regexp.MustCompile(`^#define LINUX_VERSION_(MAJOR|PATCHLEVEL) (\d+)$`)
)

// generate returns the formatted Go source of the table.
func generate(header, version, xsys string) ([]byte, error) {
	names := map[int]string{}
	if err := scan(header, headerRe, func(name string, n int) { names[n] = name }); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no __NR_ definitions", header)
	}
	fromHeader := len(names)
	if err := scan(xsys, xsysRe, func(name string, n int) {
		if _, ok := names[n]; !ok {
			names[n] = strings.ToLower(name)
		}
	}); err != nil {
		return nil, err
	}
	ver := map[string]string{}
	if err := scan(version, versionRe, func(name string, n int) { ver[name] = strconv.Itoa(n) }); err != nil {
		return nil, err
	}
	if ver["MAJOR"] == "" || ver["PATCHLEVEL"] == "" {
		return nil, fmt.Errorf("%s: no LINUX_VERSION_MAJOR/PATCHLEVEL", version)
	}
	nums := make([]int, 0, len(names))
	for n := range names {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	last := nums[len(nums)-1]

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated from the kernel's x86_64 syscall table (asm/unistd_64.h, %s.%s UAPI,\n", ver["MAJOR"], ver["PATCHLEVEL"])
	if len(names) > fromHeader {
		fmt.Fprintf(&b, "// completed up to %d from golang.org/x/sys/unix zsysnum_linux_amd64.go). DO NOT EDIT.\n\n", last)
	} else {
		b.WriteString("// DO NOT EDIT.\n\n")
	}
	b.WriteString("package tracer\n\n")
	b.WriteString("// syscallNamesAMD64 maps x86_64 syscall numbers to their kernel names, which are\n")
	b.WriteString("// also the names Docker's seccomp profiles use.\n")
	b.WriteString("var syscallNamesAMD64 = [...]string{\n")
	for _, n := range nums {
		fmt.Fprintf(&b, "\t%d: %q,\n", n, names[n])
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

// scan calls fn with the name and number of every line of file that re
// matches (two groups: name, number).
func scan(file string, re *regexp.Regexp, fn func(string, int)) error {
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && strings.HasPrefix(file, "/usr/include/") {
			return fmt.Errorf("%w (apt-get install linux-libc-dev)", err)
		}
		return err
	}
	defer f.Close()
	return scanReader(f, re, fn)
}

func scanReader(r io.Reader, re *regexp.Regexp, fn func(string, int)) error {
	s := bufio.NewScanner(r)
	for s.Scan() {
		if m := re.FindStringSubmatch(strings.TrimSpace(s.Text())); m != nil {
			n, err := strconv.Atoi(m[2])
			if err != nil {
				return err
			}
			fn(m[1], n)
		}
	}
	return s.Err()
}
