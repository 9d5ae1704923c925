# kad — a Kademlia distributed hash table.
GO      ?= go
BIN     ?= bin/kad
ARGS    ?= --transport udp
BENCHARGS ?=
FUZZTIME ?= 60s
SIMNODES ?= 100 1000 10000
SIMARGS ?=

.PHONY: all build run test test-short vet lint bench sim fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/kad

# Start one node on a random port of 127.0.0.1; pass flags with ARGS="...".
run: build
	./$(BIN) node $(ARGS)

vet:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

# Everything that must pass: vet, then every test (unit, cluster, integration) under -race.
test: vet
	$(GO) test -race -count=1 -timeout 20m ./...

# staticcheck, fetched through the module proxy (not part of make test).
lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

test-short:
	$(GO) test -short -count=1 ./...

# Micro-benchmarks of every package, then the cluster benchmark (kad bench, 50 nodes in
# this process on 127.0.0.1) over UDP and over QUIC; about a minute and a half on two
# cores. BENCHARGS adds flags to kad bench, e.g. BENCHARGS="--nodes 100 --plot cdf.png".
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	./$(BIN) bench --transport udp $(BENCHARGS)
	./$(BIN) bench --transport quic $(BENCHARGS)

# The table of SIMULATION.md: kad sim of SIMNODES nodes (k 20, alpha 3, the internet
# latency model, no loss, no NAT, no churn), each run printing its table and, last, its
# JSON line; about 10 minutes on two cores. SIMARGS adds flags to every run, e.g.
# SIMNODES=100000 SIMARGS="--join-parallel 512 --rate-limit=false".
sim: build
	@set -e; for n in $(SIMNODES); do \
		./$(BIN) sim --nodes $$n --k 20 --alpha 3 --latency-model internet --seed 1 $(SIMARGS); \
	done

# Fuzz every reader of network bytes for FUZZTIME each: the message codec, the node's
# request handler, and the UDP and QUIC framings.
FUZZ_TARGETS = ./protocol:FuzzDecode ./node:FuzzHandle ./transports/udp:FuzzParseHeader ./transports/quic:FuzzParseResponse

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "$$name ($$pkg), $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

clean:
	rm -rf bin
