#!/bin/sh
# Creates repo/ (a git repository with one commit on main) for this example.
# The example's trigger reports commits made after the daemon first saw it.
set -eu
cd "$(dirname "$0")"
[ -d repo/.git ] && { echo "repo/ exists"; exit 0; }
mkdir -p repo/src
git -C repo init -q -b main
git -C repo config user.email demo@example.invalid
git -C repo config user.name demo
printf 'def add(a, b):\n    return a + b\n' > repo/src/calc.py
git -C repo add -A
git -C repo commit -q -m "calc: add"
echo "created repo/ with one commit; commit more to trigger a review"
