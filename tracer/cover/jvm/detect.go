package jvm

import (
	"path"
	"strings"
)

// jvmEnv are environment variables that JVM images set (official and
// distribution images: JAVA_HOME, JAVA_VERSION) or that only JVMs read.
var jvmEnv = []string{"JAVA_HOME", "JAVA_VERSION", "JDK_HOME", "JRE_HOME", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_OPTS"}

// DetectJVM says from an image's configuration (its entrypoint and command,
// and its environment, KEY=VALUE) whether it runs a JVM, and why: the
// command runs java (also through `sh -c`), or the environment is a JVM
// image's. "" when nothing says so: the entrypoint may still start one
// (a script), which only the running container shows (RanJVM).
func DetectJVM(argv, env []string) string {
	for _, arg := range argv {
		for _, word := range strings.Fields(arg) {
			word = strings.Trim(word, `"'`)
			if path.Base(word) == "java" {
				return "the command runs " + word
			}
		}
	}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		for _, v := range jvmEnv {
			if name == v && strings.TrimSpace(value) != "" {
				return "the image sets " + name
			}
		}
	}
	return ""
}

// RanJVM reports whether one of the paths a container used is HotSpot's
// libjvm.so (the launcher loads it from lib/server or lib/client), or
// OpenJ9's: then the container ran a JVM, whatever its command said.
func RanJVM(paths []string) (string, bool) {
	for _, p := range paths {
		if path.Base(p) == "libjvm.so" {
			return p, true
		}
	}
	return "", false
}
