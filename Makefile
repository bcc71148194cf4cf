# tickroom: the two commands that matter are `make run` and `make test`.
CARGO ?= cargo
NPM ?= npm
# Extra flags for the server, e.g. `make run ARGS="--bind 0.0.0.0:8080"`.
ARGS ?=

.PHONY: run test build client client-deps lint rust-test client-test golden bench bench-cluster soak autobahn clean

## Build the web client, then the server (which embeds it), and start it with every bundled game
## at http://127.0.0.1:8080
run: client
	$(CARGO) run --release -p tickroom-games --bin tickroom-server -- $(ARGS)

## Every test: format, lints, docs, Rust unit + integration tests, client unit + browser tests.
test: lint rust-test client-test

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

## The client is built first: the server binary embeds it, and a process test checks that the
## binary serves it (TICKROOM_REQUIRE_CLIENT=1 turns that test's skip without a client into a failure).
rust-test: client
	TICKROOM_REQUIRE_CLIENT=1 $(CARGO) test --workspace

client-deps: client-web/node_modules/.package-lock.json

client-web/node_modules/.package-lock.json: client-web/package.json client-web/package-lock.json
	cd client-web && $(NPM) ci --no-audit --no-fund

client: client-deps
	cd client-web && $(NPM) run build

## Client checks: strict typecheck, unit tests, then the browser end-to-end test (needs the
## server binary, built here after the client it embeds, and Chromium; skipped with a message
## when Chromium is missing).
client-test: client
	cd client-web && $(NPM) run format:check && $(NPM) run typecheck && TICKROOM_REQUIRE_GOLDEN=1 $(NPM) test
	$(CARGO) build -p tickroom-games --bin tickroom-server
	cd client-web && TICKROOM_BIN=../target/debug/tickroom-server $(NPM) run e2e

## Regenerate shared/golden/messages.json (checked by the Rust and TypeScript tests) after a
## deliberate protocol change; review the diff.
golden:
	UPDATE_GOLDEN=1 $(CARGO) test -p tickroom-shared --test golden

clean:
	$(CARGO) clean
	rm -rf client-web/node_modules client-web/dist

## The arena benchmark of shared/WORKLOAD.md (release build, about 6 minutes on 2 cores): a fresh
## server per client count, light bots in this machine's other half, the duplex floor for ratios.
## Prints one table and writes bench/results/<date>-<commit>.json. See bench/README.md.
## Extra flags: `make bench BENCH_ARGS="--clients 1000 --step 0"`.
BENCH_ARGS ?=
bench:
	$(CARGO) build --release -p tickroom-games -p tickroom-bots
	target/release/tickroom-bench $(BENCH_ARGS)

## Cluster mode (README, "Running a cluster"): join latency through one node of 3 against a
## single node, Redis round trips per join, share of joins redirected. Needs redis-server.
## Writes bench/results/cluster-<date>-<commit>.json. Extra flags: BENCH_ARGS="--clients 300".
bench-cluster:
	$(CARGO) build --release -p tickroom-games -p tickroom-bots
	python3 bench/cluster.py $(BENCH_ARGS)

## A long run: SOAK_CLIENTS arena bots (quick match) for SOAK_SECONDS against a fresh release
## server; the server's RSS and open fds are sampled every 10 s and their growth reported; at the
## end every bot compares its replica with a keyframe of the server's state.
SOAK_CLIENTS ?= 490
SOAK_SECONDS ?= 600
soak:
	$(CARGO) build --release -p tickroom-games -p tickroom-bots
	SOAK_CLIENTS=$(SOAK_CLIENTS) SOAK_SECONDS=$(SOAK_SECONDS) bench/soak.sh

## WebSocket conformance: the Autobahn|Testsuite (groups 1-10; 12/13, permessage-deflate, are
## not offered) against the echo endpoint, which runs the game sessions' connection code. Needs
## ../shared/autobahn/setup.sh once (as root). Prints the table; see README, "WebSocket conformance".
autobahn:
	$(CARGO) build --release -p tickroom-games --bin tickroom-server
	conformance/autobahn.sh
