#!/usr/bin/env bash
# The README's first Quick start command: install what is missing, build leash,
# initialise its config and state (once), fetch the default model, and run the
# main job — the embedded model looks at a demo workspace and acts on it, on the
# leash — then show what was recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
# llama-cpp-sys-2 cannot build natively on Termux: there leash is built without
# the embedded backend (use llama-server through model.backend: openai).
features=()
case "${PREFIX:-}" in *com.termux*) features=(--no-default-features) ;; esac

echo "== building leash"
cargo build --release --quiet -p leash "${features[@]}"
leash="$(pwd)/target/release/leash"
[ -n "${CARGO_TARGET_DIR:-}" ] && leash="$CARGO_TARGET_DIR/release/leash"

config="${LEASH_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/leash/config.yaml}"
demo="$(mktemp -d "${TMPDIR:-/tmp}/leash-demo.XXXXXX")"
# As root, `leash init` names an unprivileged user (security.run_as, created if
# missing) that every command runs as, and gives it the demo workspace; on a
# machine already initialised, `init --workspace` only hands the workspace over.
"$leash" init --workspace "$demo"
run_as="$(sed -n 's/^  run_as: *//p' "$config" | head -1)"
"$leash" model fetch
"$leash" model info | head -6

echo "== leash doctor"
"$leash" doctor || true
echo "== leash config check"
"$leash" config check >/dev/null && echo "config: ok ($config)"

printf 'buy milk\n' >"$demo/todo.txt"
if [ -n "$run_as" ]; then chown "$run_as:" "$demo/todo.txt"; fi
cd "$demo"
echo "== the policy at work (in $demo)"
for cmd in "ls -la" "cat todo.txt | sh" "rm -rf ~" "git -c core.pager=sh log" "cat ~/.ssh/id_rsa"; do
    printf '%-28s -> ' "$cmd"
    printf '%s\n' "$cmd" | "$leash" policy check --json --stdin | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["decision"], "-", d["reason"])'
done
echo "== one sandboxed, audited command"
"$leash" exec --mode auto-approve -- ls -la
"$leash" exec --mode auto-approve -- cat "$HOME/.ssh/id_rsa" || echo "(not run, as it should be: exit $?)"

echo "== the main job: the embedded model (SmolLM2-135M) acts on the demo workspace"
# auto-approve: what the policy allows runs at once; anything that would need
# a person is not run (no terminal is asked here). The grammar keeps the small
# model to well-formed actions; the policy judges every one.
"$leash" --set agent.max_steps=3 --set model.temperature=0 --set model.max_tokens=160 \
    ask --mode auto-approve --quiet "list the files here and show what is in todo.txt" || true

echo "== the daemon: a trigger file becomes a job for the embedded model"
mkdir -p "$demo/inbox"
if [ -n "$run_as" ]; then chown "$run_as:" "$demo/inbox"; fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$demo/daemon.yaml" <<YAML
model: { backend: llama, temperature: 0, max_tokens: 160 }
security: { execution_mode: auto-approve, workspace: $demo${run_as:+, run_as: $run_as} }
monitoring:
  watch_directories: [$demo/inbox]
  watch_patterns: ["*.task"]
agent: { max_steps: 2 }
api: { listen: "127.0.0.1:$port" }
logging: { level: warn }
YAML
"$leash" --config "$demo/daemon.yaml" daemon 2>"$demo/daemon.log" &
daemon_pid=$!
for _ in $(seq 1 100); do grep -q "daemon ready" "$demo/daemon.log" 2>/dev/null && break; sleep 0.2; done
echo "show the files in this folder" >"$demo/inbox/look.task"
for _ in $(seq 1 600); do [ -e "$demo/inbox/.leash/done/look.task" ] || [ -e "$demo/inbox/.leash/failed/look.task" ] && break; sleep 0.2; done
"$leash" --config "$demo/daemon.yaml" jobs
kill -TERM "$daemon_pid"; wait "$daemon_pid" || true
ls "$demo/inbox/.leash/"*/

echo "== what was recorded"
"$leash" audit tail -n 12
"$leash" audit verify
