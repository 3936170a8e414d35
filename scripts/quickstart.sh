#!/usr/bin/env bash
# The README's first Quick start command: install what is missing, build leash,
# initialise its config and state (once), and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

cargo build --release --quiet -p leash
leash=target/release/leash
[ -n "${CARGO_TARGET_DIR:-}" ] && leash="$CARGO_TARGET_DIR/release/leash"

config="${LEASH_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/leash/config.yaml}"
if [ ! -e "$config" ]; then
    "$leash" init
fi

echo "== leash doctor"
"$leash" doctor || true
echo "== leash config check"
"$leash" config check >/dev/null && echo "config: ok ($config)"
echo "== the policy at work"
"$leash" policy check -- ls -la || true
"$leash" policy check -- rm -rf ~ || true
echo "== a sandboxed, audited command"
"$leash" exec --mode auto-approve -- ls -la
"$leash" audit verify
