package compose

import (
	"io"
	"sync"

	"github.com/sirupsen/logrus"
)

// The compose loader warns through logrus's standard logger (an obsolete
// version key, a yes/no boolean). A library prints nothing: while a file
// loads, the warnings are collected for Project.Warnings instead.
var loaderLog sync.Mutex

type collectHook struct{ lines *[]string }

func (h collectHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (h collectHook) Fire(e *logrus.Entry) error {
	*h.lines = append(*h.lines, e.Message)
	return nil
}

// collectWarnings runs load with the standard logger silenced and returns
// what it warned.
func collectWarnings(load func()) []string {
	loaderLog.Lock()
	defer loaderLog.Unlock()
	std := logrus.StandardLogger()
	out, hooks := std.Out, std.ReplaceHooks(logrus.LevelHooks{})
	var lines []string
	std.SetOutput(io.Discard)
	std.AddHook(collectHook{&lines})
	defer func() {
		std.SetOutput(out)
		std.ReplaceHooks(hooks)
	}()
	load()
	return lines
}
