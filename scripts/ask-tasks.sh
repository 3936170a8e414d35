#!/usr/bin/env bash
# Everyday tasks through `leash ask` on the embedded model: done/total, steps and
# seconds per task, each with an objective check of the outcome.
#
#   scripts/ask-tasks.sh [LEASH_BINARY] [MODEL_GGUF]
#
# Defaults: target/debug/leash (built with the `llama` feature) and the default
# model (SmolLM2-135M-Instruct Q4_1, fetched by `leash model fetch`). Each task
# runs in a fresh workspace with temperature 0, auto-approve and 6 steps; the
# result is one tab-separated line per task, then a summary line. "said done":
# the model ended the job with done; "check": the objective outcome check.
set -u
leash="${1:-${CARGO_TARGET_DIR:-target}/debug/leash}"
model="${2:-$HOME/.local/share/leash/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
leash="$(realpath "$leash")"
[ -x "$leash" ] || { echo "no leash binary at $leash" >&2; exit 2; }
[ -f "$model" ] || { echo "no model at $model (run: leash model fetch)" >&2; exit 2; }
root="$(mktemp -d /var/tmp/leash-ask-tasks.XXXXXX)"
chmod 755 "$root"
# As root, commands run as security.run_as or not at all: an unprivileged
# user that owns the workspaces.
run_as=""
if [ "$(id -u)" = 0 ]; then run_as="  run_as: ${LEASH_TASKS_RUN_AS:-nobody}"; fi
[ -n "${KEEP_ROOT:-}" ] || trap 'rm -rf "$root"' EXIT

# name | setup (shell, in the workspace) | prompt | check (shell, in the workspace)
tasks=(
"list|printf 'a\n' > a.txt; printf 'b\n' > b.txt|list the files in this folder|grep -q a.txt \"\$out\""
"disk|:|how much disk space is free?|grep -q -E 'Avail|Use%|[0-9]+%' \"\$out\""
"count-lines|printf 'one\ntwo\nthree\n' > notes.txt|how many lines are in notes.txt?|grep -q -E '(^|[^0-9])3([^0-9]|$)' \"\$out\""
"show-file|printf 'the secret word is banana\n' > readme.txt|show me what readme.txt says|grep -q banana \"\$out\""
"mkdir|:|create a directory called archive|test -d archive"
"write-note|:|write a file todo.txt that says buy milk|grep -qi milk todo.txt"
"copy|printf 'data\n' > report.txt|make a copy of report.txt named report.bak|test -f report.bak && test -f report.txt"
"move|mkdir docs; printf 'x\n' > draft.md|move draft.md into the docs folder|test -f docs/draft.md && ! test -f draft.md"
"delete|printf 'x\n' > old.log; printf 'y\n' > keep.txt|delete old.log|! test -e old.log && test -f keep.txt"
"grep-error|mkdir logs; printf 'ok\nERROR disk full\nok\n' > logs/app.log|find the error in logs/app.log|grep -q 'disk full' \"\$out\""
"date|:|what is the date today?|grep -q -E '20[0-9][0-9]' \"\$out\""
"tail-log|mkdir logs; for i in \$(seq 1 100); do echo line \$i; done > logs/app.log|show the last lines of logs/app.log|grep -q 'line 100' \"\$out\""
)

printf 'task\tsaid_done\tcheck\tsteps\tactions\tseconds\n'
said=0; passed=0; total=0; steps_sum=0; secs_sum=0
for entry in "${tasks[@]}"; do
  IFS='|' read -r name setup prompt check <<<"$entry"
  ws="$root/$name/ws"; mkdir -p "$ws" "$root/$name/state" "$root/$name/cfg"
  cat > "$root/$name/config.yaml" <<YAML
model:
  backend: llama
  path: $model
  temperature: 0.0
security:
  execution_mode: auto-approve
$run_as
agent:
  max_steps: 6
  min_free_memory_mb: 0
logging:
  level: error
YAML
  (cd "$ws" && bash -c "$setup")
  [ -n "$run_as" ] && chown -R "${LEASH_TASKS_RUN_AS:-nobody}" "$ws"
  out="$root/$name/out.json"
  start=$(date +%s.%N)
  (cd "$ws" && HOME="$root/$name" XDG_STATE_HOME="$root/$name/state" XDG_CONFIG_HOME="$root/$name/cfg" \
     timeout 600 "$leash" --config "$root/$name/config.yaml" --json ask --quiet "$prompt" \
     >"$out" 2>"$root/$name/err.txt")
  end=$(date +%s.%N)
  secs=$(printf '%.1f' "$(echo "$end - $start" | bc)")
  end_kind=$(jq -r '.report.end // "none"' "$out" 2>/dev/null || echo none)
  steps=$(jq -r '.report.steps // 0' "$out" 2>/dev/null || echo 0)
  actions=$(jq -r '.report.actions // 0' "$out" 2>/dev/null || echo 0)
  # The check reads the workspace, and $out: what leash showed the person
  # (the JSON report; older binaries print no account, so only the audit has it).
  if (cd "$ws" && out="$out" bash -c "$check") >/dev/null 2>&1; then ok=yes; passed=$((passed+1)); else ok=no; fi
  [ "$end_kind" = done ] && said=$((said+1))
  total=$((total+1)); steps_sum=$((steps_sum+steps)); secs_sum=$(echo "$secs_sum + $secs" | bc)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$end_kind" "$ok" "$steps" "$actions" "$secs"
  [ -n "${KEEP_OUTPUT:-}" ] && cp "$out" "${KEEP_OUTPUT}.$name.json"
done
printf 'TOTAL\tsaid done %d/%d\tchecked %d/%d\tsteps %d\t\tseconds %s\n' "$said" "$total" "$passed" "$total" "$steps_sum" "$secs_sum"
