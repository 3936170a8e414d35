#!/usr/bin/env bash
# The README's first Quick start command: install what is missing, build leash,
# initialise its config and state (once), fetch the default model, and run the
# main job — the embedded model looks at a demo workspace and acts on it, on the
# leash — then show what was recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

echo "== building leash (the first build compiles llama.cpp: ~15 minutes on 2 cores)"
cargo build --release --quiet -p leash
leash="$(pwd)/target/release/leash"
[ -n "${CARGO_TARGET_DIR:-}" ] && leash="$CARGO_TARGET_DIR/release/leash"

config="${LEASH_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/leash/config.yaml}"
[ -e "$config" ] || "$leash" init
"$leash" model fetch

echo "== leash doctor"
"$leash" doctor || true

demo="$(mktemp -d "${TMPDIR:-/tmp}/leash-demo.XXXXXX")"
printf 'buy milk\n' >"$demo/todo.txt"
printf '# notes\n' >"$demo/notes.md"
echo "== the main job: leash ask, in the demo workspace $demo"
(cd "$demo" && "$leash" ask --mode auto-approve "list the files here") || true
echo "== what was recorded"
"$leash" audit tail -n 8
"$leash" audit verify
