# tickroom: the two commands that matter are `make run` and `make test`.
CARGO ?= cargo
NPM ?= npm
# Extra flags for the server, e.g. `make run ARGS="--bind 0.0.0.0:8080"`.
ARGS ?=

.PHONY: run test build client client-deps lint rust-test client-test bindings bench soak clean

## Build the web client and start the server with the arena game at http://127.0.0.1:8080
run: client
	$(CARGO) run --release -p tickroom-server --bin tickroom-server -- $(ARGS)

## Every test: format, lints, docs, Rust unit + integration tests, client unit + browser tests.
test: lint rust-test client-test

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

rust-test:
	$(CARGO) test --workspace

client-deps: client-web/node_modules/.package-lock.json

client-web/node_modules/.package-lock.json: client-web/package.json client-web/package-lock.json
	cd client-web && $(NPM) ci --no-audit --no-fund

client: client-deps
	cd client-web && $(NPM) run build

## Client checks: strict typecheck, unit tests, then the browser end-to-end test (needs the
## server binary, built here, and Chromium; skipped with a message when Chromium is missing).
client-test: client-deps
	cd client-web && $(NPM) run format:check && $(NPM) run typecheck && $(NPM) test
	$(CARGO) build -p tickroom-server --bin tickroom-server
	cd client-web && $(NPM) run build && TICKROOM_BIN=../target/debug/tickroom-server $(NPM) run e2e

## Regenerate client-web/src/generated/protocol.ts from the Rust schema.
bindings:
	UPDATE_BINDINGS=1 $(CARGO) test -p tickroom-tests --test integration -- bindings golden

clean:
	$(CARGO) clean
	rm -rf client-web/node_modules client-web/dist

## The arena benchmark of shared/WORKLOAD.md (release build, about 6 minutes on 2 cores): a fresh
## server per client count, bots in this machine's other half, the raw fan-out floor for ratios.
## Prints one table and writes bench/results/<date>-<commit>.json. See bench/README.md.
## Extra flags: `make bench BENCH_ARGS="--clients 1000 --step 0"`.
BENCH_ARGS ?=
bench:
	$(CARGO) build --release -p tickroom-server -p tickroom-bots
	target/release/tickroom-bench $(BENCH_ARGS)

## A long run: SOAK_CLIENTS bots (rooms of 49, so the replica check's observer has a seat) for
## SOAK_SECONDS against a fresh release server; the server's RSS and open fds are sampled every
## 10 s and their growth reported; at the end every replica is compared with the server's world.
SOAK_CLIENTS ?= 490
SOAK_SECONDS ?= 600
soak:
	$(CARGO) build --release -p tickroom-server -p tickroom-bots
	SOAK_CLIENTS=$(SOAK_CLIENTS) SOAK_SECONDS=$(SOAK_SECONDS) bench/soak.sh
