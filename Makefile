# whittle — see README.md. Everything runs as root on a Debian machine;
# scripts/setup.sh installs and starts what is missing.
export PATH := /usr/local/go/bin:$(PATH)
GO        ?= go
BIN       := bin/whittle
FIXTURES  := whittle-fixture/gopets:latest whittle-fixture/pypets:latest
OUT       := out

.PHONY: all build setup schemas fixtures demo demo-pypets test test-unit fuzz fuzz-short bench lint generate clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/whittle

setup:
	@scripts/setup.sh

# The official SARIF 2.1.0 schema for report's tests, fetched and checked into a cache outside git.
schemas: setup
	@scripts/sarif-schema.sh

fixtures: setup
	@scripts/fixtures.sh all

# The main job on the bundled sample target: fat gopets image in, verified minimal image out.
demo: setup fixtures build
	@mkdir -p $(OUT)
	$(BIN) run whittle-fixture/gopets:latest --spec testdata/targets/gopets/openapi.yaml \
		--auto --seed 1 -o json=$(OUT)/gopets-report.json

demo-pypets: setup fixtures build
	@mkdir -p $(OUT)
	$(BIN) run whittle-fixture/pypets:latest --auto --seed 1 -o json=$(OUT)/pypets-report.json

# Unit and integration tests (integration tests need root, Docker and BPF: setup provides them).
test: setup schemas fixtures lint
	$(GO) test -count=1 -p 1 -timeout 60m ./...
	@$(MAKE) --no-print-directory fuzz-short

test-unit: schemas
	$(GO) test -count=1 -short ./...

# Longer runs of the native fuzz tests of every parser.
FUZZTIME ?= 60s
fuzz:
	@start=$$(date +%s); n=0; \
	for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg 2>&1); rc=$$?; echo "$$out"; \
	    if [ $$rc -ne 0 ] && echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input'; then \
	      echo "fuzz: $$f: the fuzzing engine's own deadline error at the end, no failing input: once more"; \
	      $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
	    elif [ $$rc -ne 0 ]; then exit 1; fi; \
	    n=$$((n+1)); \
	  done; \
	done; \
	echo "fuzz: $$n fuzz tests, $(FUZZTIME) each, in $$(( $$(date +%s) - start ))s"

# Every native fuzz test briefly, as part of `make test`.
FUZZTIME_SHORT ?= 3s
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT)

bench: setup fixtures build
	@mkdir -p bench/results
	scripts/bench.sh

bench-endurance: setup fixtures build
	@mkdir -p bench/results
	scripts/bench.sh endurance

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...

# Regenerates the committed BPF objects (clang-14 and libbpf-dev from Debian), the JVM agent
# (clang-14 and a JDK's headers) and the syscall table from linux-libc-dev's asm/unistd_64.h
# (alone: go generate -run gensyscalls ./tracer); installs the tools it lacks first.
generate:
	@scripts/setup.sh generate
	$(GO) generate ./tracer/...

clean:
	rm -rf bin $(OUT)
