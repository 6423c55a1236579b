# simgate — see README.md. Every target works on a fresh clone.
GO        ?= go
BIN       := bin/simgate
PKGS      := ./...
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Release stamps: the nearest v* tag without its v (1.2.3, or 1.2.3+4.gabc…
# past it: Debian versions must start with a digit), else 0.0.0+git and the
# commit; the date is the commit's, so the same commit builds the same bytes.
VERSION   ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed -e 's/^v//' -e 's/-\([0-9][0-9]*\)-g/+\1.g/' -e 's/-dirty$$/+dirty/' | grep . || echo 0.0.0+git$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown))
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE      ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
DIST      ?= dist
# GOARCH[:GOARM] per target; the package takes nfpm's name for it.
ARCHES    ?= amd64 arm64 arm:7
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

.PHONY: all build run test bench bench-peers fuzz lint clean screenshots release powercut soak cluster

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

# The power-cut test (see docs/ARCHITECTURE.md) with more cuts than in
# make test. Needs root and /dev/fuse.
POWERCUT_CUTS ?= 15
powercut:
	SIMGATE_POWERCUT_CUTS=$(POWERCUT_CUTS) $(GO) test -count=1 -timeout 20m -v -run '^TestE2E_PowerCut$$' ./cmd/simgate

# Three gateway processes on one PostgreSQL (TestE2E_Cluster; issue 13):
# 1,000 messages exactly once, OTP across hosts, SIGKILL and SIGSTOP of a
# host. In make test too; this runs it alone, verbose.
cluster:
	$(GO) test -race -count=1 -timeout 20m -v -run '^TestE2E_Cluster$$' ./cmd/simgate

# The chaos soak (TestE2E_Soak; see docs/ARCHITECTURE.md): the real binary
# against four misbehaving virtual modems for SOAK, SIGKILLed and restarted
# along the way, then its invariant table. make test runs it for 60s with a
# fixed seed; here the seed is new each time unless SOAK_SEED is given.
SOAK      ?= 10m
SOAK_SEED ?= $(shell date +%s)
soak:
	SIMGATE_SOAK=$(SOAK) SIMGATE_SOAK_SEED=$(SOAK_SEED) $(GO) test -count=1 -timeout 0 -v -run '^TestE2E_Soak$$' ./cmd/simgate

# Every benchmark, then a table of the figures measured with the store's
# durability normal and full side by side (.ci/bench-table.awk).
bench:
	@out=$$(mktemp); \
	{ $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS); echo $$? >$$out.rc; } | tee $$out; \
	rc=$$(cat $$out.rc); awk -f .ci/bench-table.awk $$out; rm -f $$out $$out.rc; exit $$rc

# The same workloads through simgate, gammu-smsd, smstools and Kannel, one
# after another on virtual modems (bench/peers; results in
# docs/benchmarks.md). Installs the three from Debian when missing (root).
# Takes tens of minutes; not part of make test. E.g.
# BENCH_PEERS_FLAGS='-peers simgate,kannel -idle 20'.
BENCH_PEERS_FLAGS ?=
bench-peers: build
	@for p in gammu-smsd gammu-smsd-inject smsd bearerbox smsbox; do \
	  command -v $$p >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y gammu-smsd smstools kannel; break; }; \
	done
	$(GO) run ./bench/peers -simgate $(BIN) $(BENCH_PEERS_FLAGS)

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

# Static (no cgo), stripped binaries for each of ARCHES, a .deb of each
# (nfpm, a Go tool in go.mod: packaging/nfpm.yaml), and SHA256SUMS, in DIST.
release:
	@set -e; mkdir -p $(DIST); \
	for a in $(ARCHES); do \
	  goarch=$${a%%:*}; goarm=$$(echo $$a | sed -n 's/.*://p'); name=linux-$$goarch$${goarm:+v$$goarm}; \
	  echo "== $$name $(VERSION)"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$goarch GOARM=$$goarm \
	    $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/simgate-$$name ./cmd/simgate; \
	  SIMGATE_BINARY=$(DIST)/simgate-$$name SIMGATE_VERSION='$(VERSION)' NFPM_ARCH=$$goarch$$goarm \
	    $(GO) tool nfpm package --config packaging/nfpm.yaml --packager deb --target $(DIST)/; \
	done; \
	cd $(DIST) && rm -f SHA256SUMS && sha256sum simgate-linux-* *.deb > SHA256SUMS && cat SHA256SUMS

clean:
	rm -rf bin dist
