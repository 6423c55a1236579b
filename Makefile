# simgate — see README.md. Every target works on a fresh clone.
GO        ?= go
BIN       := bin/simgate
PKGS      := ./...
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build run test bench fuzz lint clean screenshots

all: build

build:
	$(GO) build -o $(BIN) ./cmd/simgate

# The gateway on its embedded defaults (database under ./data) with two
# virtual modems; it prints the URL, an API key and a curl to try.
run: build
	./$(BIN) serve --sim 2

# vet, then every test with the race detector. Tests need gammu (see .ci/run).
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# Every benchmark, then a table of the figures measured with the store's
# durability normal and full side by side (.ci/bench-table.awk).
bench:
	@out=$$(mktemp); \
	{ $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS); echo $$? >$$out.rc; } | tee $$out; \
	rc=$$(cat $$out.rc); awk -f .ci/bench-table.awk $$out; rm -f $$out $$out.rc; exit $$rc

# Each fuzzer runs for FUZZTIME; go test -fuzz takes one fuzzer at a time.
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff || { echo "go mod tidy would change go.mod/go.sum: run go mod tidy"; exit 1; }
	$(GO) run $(STATICCHECK) $(PKGS)

# The status page's overview as the browser test sees it (headless
# chromium), kept as docs/status-overview.png for the README.
screenshots:
	SIMGATE_SCREENSHOT_DIR=$(CURDIR)/docs $(GO) test -count=1 -run '^TestStatusPage_Browser$$' ./cmd/simgate

clean:
	rm -rf bin
