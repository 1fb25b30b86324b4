package tui

import (
	"fmt"
	"github.com/whittle-dev/whittle/event"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

// checkScreen asserts what every frame must be: exactly h lines, none wider
// than w, no escape sequences under the pinned Ascii profile.
func checkScreen(t *testing.T, s string, w, h int) {
	t.Helper()
	lines := strings.Split(s, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d columns wide, want at most %d: %q", i, lw, w, l)
		}
	}
	if strings.Contains(s, "\x1b") {
		t.Errorf("escape sequences in a view rendered with the Ascii profile")
	}
}

// TestGolden pins the main views at 80x24 and 120x40. Run with -update to
// rewrite testdata/TestGolden/*.
func TestGolden(t *testing.T) {
	scenarios := []struct {
		name  string
		setup func(hs *harness)
	}{
		{"start", func(hs *harness) {}},
		{"fuzzing", func(hs *harness) { hs.fuzzing() }},
		{"paused", func(hs *harness) { hs.fuzzing(); hs.keys("p") }},
		{"coverage_mechanism", func(hs *harness) {
			hs.fuzzing()
			hs.progress.update(func(p *event.Progress) {
				p.CoverageMechanism = "V8 precise coverage through the inspector (functions and blocks), 3 processes"
			})
			hs.at(84 * time.Second)
		}},
		{"no_code_coverage", func(hs *harness) {
			hs.fuzzing()
			hs.progress.update(func(p *event.Progress) {
				p.FunctionsTotal, p.Functions = 0, 0
				p.CoverageWhy = "the Python interpreter has no USDT probes"
			})
			hs.at(84 * time.Second)
		}},
		{"limits_hit", func(hs *harness) {
			hs.fuzzing()
			hs.progress.update(func(p *event.Progress) {
				p.LimitsHit = []string{"findings.per_check", "oracle.validation_steps"}
			})
			hs.at(84 * time.Second)
		}},
		{"filter_operations", func(hs *harness) { hs.fuzzing(); hs.keys("/", "p", "e", "t", "I", "d") }},
		{"finding_detail", func(hs *harness) { hs.fuzzing(); hs.keys("tab", "enter") }},
		{"operation_detail", func(hs *harness) { hs.fuzzing(); hs.keys("home", "enter") }},
		{"help", func(hs *harness) { hs.fuzzing(); hs.keys("?") }},
		{"confirm_quit", func(hs *harness) { hs.fuzzing(); hs.keys("q") }},
		{"building", func(hs *harness) { hs.fuzzing(); hs.building() }},
		{"companion_services", func(hs *harness) { hs.companions(); hs.fuzzing() }},
		{"results", func(hs *harness) { hs.fuzzing(); hs.building(); hs.finished(false) }},
		{"results_diverged", func(hs *harness) { hs.fuzzing(); hs.building(); hs.finished(true); hs.keys("tab") }},
		{"results_divergence_detail", func(hs *harness) {
			hs.fuzzing()
			hs.building()
			hs.finished(true)
			hs.keys("tab", "enter")
		}},
		{"coverage_packages", func(hs *harness) { hs.fuzzing(); hs.building(); hs.finished(false); hs.keys("shift+tab") }},
		{"coverage_functions", func(hs *harness) {
			hs.fuzzing()
			hs.building()
			hs.finished(false)
			hs.keys("shift+tab", "enter")
		}},
		{"coverage_find", func(hs *harness) {
			hs.fuzzing()
			hs.building()
			hs.finished(false)
			hs.keys("shift+tab", "/", "c", "o", "m", "p", "enter")
		}},
		{"coverage_function_detail", func(hs *harness) {
			hs.fuzzing()
			hs.building()
			hs.finished(false)
			hs.keys("shift+tab", "down", "enter", "down", "down", "down", "enter")
		}},
		{"results_file_detail", func(hs *harness) {
			hs.fuzzing()
			hs.building()
			hs.finished(false)
			hs.keys("end", "enter")
		}},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					hs := newHarness(w, h)
					sc.setup(hs)
					v := hs.view()
					checkScreen(t, v, w, h)
					golden.RequireEqual(t, []byte(v+"\n"))
				})
			}
		})
	}
}

// TestViewsFitEverySize renders each screen at many sizes, including ones
// below the minimum, and checks no frame overflows the terminal.
func TestViewsFitEverySize(t *testing.T) {
	for _, size := range [][2]int{{40, 10}, {59, 15}, {60, 16}, {72, 20}, {80, 24}, {100, 30}, {132, 43}, {200, 60}} {
		w, h := size[0], size[1]
		hs := newHarness(w, h)
		checkScreen(t, hs.view(), w, h)
		hs.fuzzing()
		checkScreen(t, hs.view(), w, h)
		hs.keys("?")
		checkScreen(t, hs.view(), w, h)
		hs.keys("?", "tab", "enter")
		checkScreen(t, hs.view(), w, h)
		hs.keys("esc", "q")
		checkScreen(t, hs.view(), w, h)
		hs.keys("n")
		hs.building()
		checkScreen(t, hs.view(), w, h)
		hs.finished(true)
		for i := 0; i < 5; i++ {
			checkScreen(t, hs.view(), w, h)
			hs.keys("tab")
		}
	}
}

// TestResizeReflows changes the size in the middle of a run.
func TestResizeReflows(t *testing.T) {
	hs := newHarness(120, 40)
	hs.fuzzing()
	for _, size := range [][2]int{{80, 24}, {100, 30}, {61, 17}, {120, 40}} {
		hs.send(windowSize(size[0], size[1]))
		checkScreen(t, hs.view(), size[0], size[1])
	}
}
