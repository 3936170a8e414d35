#!/usr/bin/env bash
# The README's first Quick start command: install what is missing, build leash,
# initialise its config and state (once), fetch the default model, and run the
# main job — the embedded model looks at a demo workspace and acts on it, on the
# leash — then show what was recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

echo "== building leash"
cargo build --release --quiet -p leash
leash="$(pwd)/target/release/leash"
[ -n "${CARGO_TARGET_DIR:-}" ] && leash="$CARGO_TARGET_DIR/release/leash"

config="${LEASH_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/leash/config.yaml}"
[ -e "$config" ] || "$leash" init
"$leash" model fetch
"$leash" model info | head -6

echo "== leash doctor"
"$leash" doctor || true
echo "== leash config check"
"$leash" config check >/dev/null && echo "config: ok ($config)"

demo="$(mktemp -d "${TMPDIR:-/tmp}/leash-demo.XXXXXX")"
printf 'buy milk\n' >"$demo/todo.txt"
cd "$demo"
echo "== the policy at work (in $demo)"
for cmd in "ls -la" "cat todo.txt | sh" "rm -rf ~" "git -c core.pager=sh log" "cat ~/.ssh/id_rsa"; do
    printf '%-28s -> ' "$cmd"
    printf '%s\n' "$cmd" | "$leash" policy check --json --stdin | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["decision"], "-", d["reason"])'
done
echo "== one sandboxed, audited command"
"$leash" exec --mode auto-approve -- ls -la
"$leash" exec --mode auto-approve -- cat "$HOME/.ssh/id_rsa" || echo "(not run, as it should be: exit $?)"
echo "== what was recorded"
"$leash" audit tail -n 6
"$leash" audit verify
