package main

import (
	"errors"
	"strings"

	"github.com/whittle-dev/whittle/compose"
	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/pipeline"
	"github.com/whittle-dev/whittle/probe"
)

// Libraries say what a user can do in their own words, naming no option of
// this command; here those remedies are said with whittle's flags.
var flagFixes = map[string]string{
	spec.FixPassSpec:        "pass --spec FILE|URL",
	spec.FixCheckPath:       "check the path given with --spec, or pass a URL",
	spec.FixPointAtSpec:     "point --spec at an OpenAPI 3 or Swagger 2.0 document",
	spec.FixDownload:        "download the spec and pass the file with --spec",
	probe.FixStartEngine:    "start dockerd, e.g. scripts/setup.sh",
	probe.FixPort:           "pass --port with the port the service listens on",
	probe.FixNotReady:       "pass --port if the service listens elsewhere, or raise --ready-timeout",
	corpus.FixLocked:        "wait for it to finish, or use another --corpus directory",
	corpus.FixOtherCorpus:   "use another --corpus directory",
	corpus.FixForceMerge:    "pass --force to merge anyway",
	corpus.FixOneImage:      "build the image once and docker load that image in every job, or pass --force (the first corpus's image stays the original)",
	corpus.FixGiveSpec:      "pass --spec with the spec the corpus was recorded for",
	pipeline.FixSameSecrets: "pass the same --header, --auth and --env values as the run that recorded it; they are never stored",
	probe.FixMountSyntax:    "write --mount SOURCE:TARGET[:ro], SOURCE a host path or a volume name, TARGET an absolute path in the container",
	probe.FixMountSource:    "create it, or correct the SOURCE of --mount",
	probe.FixEnvSyntax:      "write each variable as NAME=VALUE",
	compose.FixService:      "pass --service with one of the file's services",
	compose.FixDependency:   "check the service's settings and health check in the compose file, or raise --ready-timeout",
}

// flagWords names the flag behind a library outcome.
var flagWords = map[error]string{
	pipeline.ErrFindings: "findings at or above the --fail-on severity",
}

// remedied is an error carrying its remedy as data (*remedy.Error,
// *spec.LoadError).
type remedied interface {
	error
	Remedy() string
	WithRemedy(fix string) error
}

// withFlags is err's message with every remedy in its chain said with
// whittle's flags. Wrapping with %w embeds an error's message verbatim, so
// each remedied error's own text is replaced where it stands.
func withFlags(err error) string {
	msg := err.Error()
	walkErrors(err, func(e error) {
		if r, ok := e.(remedied); ok {
			if fix, ok := flagFixes[r.Remedy()]; ok {
				msg = strings.Replace(msg, e.Error(), r.WithRemedy(fix).Error(), 1)
			}
		}
	})
	for sentinel, words := range flagWords {
		if errors.Is(err, sentinel) {
			msg = strings.Replace(msg, sentinel.Error(), words, 1)
		}
	}
	return msg
}

// walkErrors calls fn on err and everything it wraps, outermost first.
func walkErrors(err error, fn func(error)) {
	if err == nil {
		return
	}
	fn(err)
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		walkErrors(u.Unwrap(), fn)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walkErrors(e, fn)
		}
	}
}

// flagWorded is an error whose message says its remedies with whittle's
// flags (withFlags), for interfaces that print an error themselves (the
// dashboard's results view); errors.Is and As still see the original.
type flagWorded struct{ err error }

func (e flagWorded) Error() string { return withFlags(e.err) }
func (e flagWorded) Unwrap() error { return e.err }

// sayFlags wraps err (nil stays nil) so that its message names the flags.
func sayFlags(err error) error {
	if err == nil {
		return nil
	}
	return flagWorded{err}
}
