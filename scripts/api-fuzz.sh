#!/usr/bin/env bash
# Property-based fuzzing of the daemon's HTTP API with schemathesis, driven by
# the API's own OpenAPI document (/v1/openapi.json).
#
# What it does:
#   1. installs schemathesis (quietly, once) into a venv under
#      ~/.cache/leash-ci/venv (override: LEASH_CI_VENV);
#   2. builds `leash` (or uses LEASH_BIN) and starts `leash daemon` in a temp
#      home on a free loopback port, with the replay backend, `prompt` mode
#      and only `ls` allowed, and seeds a job and an approval request;
#   3. runs schemathesis against /v1/openapi.json with the bearer token, for a
#      bounded number of examples per operation (API_FUZZ_EXAMPLES, default
#      100; the whole run stays under ~2 minutes on a 2-core machine);
#   4. fails on any 5xx, any response that breaks the document (status code,
#      content type, schema), a daemon that crashed, a daemon that does not
#      stop gracefully on SIGTERM, or an audit chain that does not verify.
#
# /v1/events is excluded: it is an endless event stream (tested in
# crates/leash-daemon/tests/daemon/http.rs instead).
#
# Usage: scripts/api-fuzz.sh            (from anywhere in the repository)
# Env:   API_FUZZ_EXAMPLES=N  API_FUZZ_SEED=N  LEASH_BIN=/path/to/leash
#        LEASH_CI_VENV=/path/to/venv
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LEASH_CI_VENV:-$HOME/.cache/leash-ci/venv}
EXAMPLES=${API_FUZZ_EXAMPLES:-100}
SEED=${API_FUZZ_SEED:-}
SCHEMATHESIS_SPEC='schemathesis>=4.0,<5'

say() { printf 'api-fuzz: %s\n' "$*" >&2; }

# 1. schemathesis, once.
if ! "$VENV/bin/st" --version >/dev/null 2>&1; then
    say "installing schemathesis into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$SCHEMATHESIS_SPEC"
fi
say "$("$VENV/bin/st" --version)"

# 2. the binary.
if [[ -n "${LEASH_BIN:-}" ]]; then
    LEASH=$LEASH_BIN
else
    (cd "$ROOT" && cargo build --quiet -p leash)
    LEASH=${CARGO_TARGET_DIR:-$ROOT/target}/debug/leash
fi
if ! "$LEASH" daemon --help >/dev/null 2>&1; then
    say "this leash ($LEASH) has no \`daemon\` subcommand; nothing to fuzz"
    exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/leash-api-fuzz.XXXXXX")
DAEMON_PID=
cleanup() {
    if [[ -n "$DAEMON_PID" ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/home" "$WORK/ws" "$WORK/cfg/leash" "$WORK/state"
export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/cfg XDG_STATE_HOME=$WORK/state \
    XDG_CACHE_HOME=$WORK/cache XDG_DATA_HOME=$WORK/data LEASH_CONFIG=$WORK/cfg/leash/config.yaml
unset RUST_LOG

# Every job gets the same answer: run `ls`, done. In `prompt` mode that files
# an approval request (expiring after 5 s, so the worker moves on), which
# gives the approval routes real ids to be fuzzed against; `ls` is the only
# program allowed, so no fuzzed prompt could get anything else run.
cat >"$WORK/transcript.yaml" <<'YAML'
description: the answer to every fuzzed job
play: by_expect
responses:
  - text: '{"thought": "look", "actions": [{"run": ["ls"]}], "done": true}'
YAML
cat >"$LEASH_CONFIG" <<YAML
model:
  backend: replay
  transcript: $WORK/transcript.yaml
security:
  execution_mode: prompt
  workspace: $WORK/ws
  whitelist: [ls]
approvals:
  expiry_s: 5
api:
  listen: 127.0.0.1:$PORT
  max_body_kb: 64
logging:
  level: warn
YAML

"$LEASH" daemon >"$WORK/daemon.out" 2>"$WORK/daemon.err" &
DAEMON_PID=$!
for _ in $(seq 1 300); do
    grep -q 'daemon ready' "$WORK/daemon.err" 2>/dev/null && break
    kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$WORK/daemon.err" >&2; say "the daemon did not start"; exit 1; }
    sleep 0.1
done
grep -q 'daemon ready' "$WORK/daemon.err" || { cat "$WORK/daemon.err" >&2; say "the daemon did not get ready in 30 s"; exit 1; }
TOKEN=$(tr -d '[:space:]' <"$XDG_STATE_HOME/leash/api.token")
say "daemon pid $DAEMON_PID on 127.0.0.1:$PORT"

# Seed: job 1 and its approval request 1 (the OpenAPI document's example id),
# through the CLI clients.
"$LEASH" submit "list the files" >/dev/null
for _ in $(seq 1 100); do
    "$LEASH" approvals --state all --json | grep -q '"id":1' && break
    sleep 0.1
done
"$LEASH" approvals --state all --json | grep -q '"id":1' || { say "no approval request appeared"; exit 1; }

# 3. the run.
ST_ARGS=(
    run "http://127.0.0.1:$PORT/v1/openapi.json"
    --header "Authorization: Bearer $TOKEN"
    --exclude-path /v1/events
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
    --max-examples "$EXAMPLES"
    --phases examples,coverage,fuzzing,stateful
    --request-timeout 10
    --workers 1
    --no-color
)
[[ -n "$SEED" ]] && ST_ARGS+=(--seed "$SEED")
START=$(date +%s)
set +e
timeout 300 "$VENV/bin/st" "${ST_ARGS[@]}"
ST_STATUS=$?
set -e
say "schemathesis finished in $(( $(date +%s) - START )) s with status $ST_STATUS"

# 4. the daemon survived, stops gracefully, and its audit chain verifies.
STATUS=$ST_STATUS
if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
    say "the daemon died during the run:"; cat "$WORK/daemon.err" >&2
    STATUS=1
else
    kill -TERM "$DAEMON_PID"
    set +e
    wait "$DAEMON_PID"
    DAEMON_STATUS=$?
    set -e
    DAEMON_PID=
    if [[ $DAEMON_STATUS -ne 0 ]]; then
        say "the daemon exited with status $DAEMON_STATUS after SIGTERM:"; cat "$WORK/daemon.err" >&2
        STATUS=1
    fi
fi
if grep -q 'panicked' "$WORK/daemon.err"; then
    say "the daemon panicked:"; cat "$WORK/daemon.err" >&2
    STATUS=1
fi
if ! "$LEASH" audit verify >&2; then
    say "the audit chain does not verify after the run"
    STATUS=1
fi
JOBS=$(sqlite3 "$XDG_STATE_HOME/leash/leash.db" 'SELECT count(*) FROM jobs' 2>/dev/null || echo '?')
say "jobs submitted by the fuzzer: $JOBS"
[[ $STATUS -eq 0 ]] && say "no 5xx, no crash, every answer matches the document"
exit $STATUS
