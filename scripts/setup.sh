#!/usr/bin/env bash
# Installs what leash needs to build and test, and nothing that is already there.
# Idempotent and quiet: prints only what it installs. Debian/Ubuntu (apt) and
# Termux (pkg) are supported; elsewhere it says what is missing and stops.
set -euo pipefail

say() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root to run: $*"; exit 1
    fi
}

is_termux() { case "${PREFIX:-}" in *com.termux*) return 0 ;; esac; return 1; }

missing_debs=()
need_deb() { # need_deb PACKAGE [COMMAND-OR-FILE]
    local pkg=$1 probe=${2:-}
    if [ -n "$probe" ]; then
        case "$probe" in
            /*) [ -e "$probe" ] && return 0 ;;
            *) command -v "$probe" >/dev/null 2>&1 && return 0 ;;
        esac
    fi
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" && return 0
    missing_debs+=("$pkg")
}

if is_termux; then
    for p in rust clang cmake git python; do
        command -v "${p/python/python3}" >/dev/null 2>&1 || { say "installing $p"; pkg install -y "$p" >/dev/null; }
    done
    exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
    need_deb build-essential cc
    need_deb pkg-config pkg-config
    need_deb git git
    need_deb curl curl
    need_deb python3 python3
    need_deb python3-pip pip3
    # scripts/api-fuzz.sh installs schemathesis into a venv.
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_deb python3-venv
    need_deb ca-certificates /etc/ssl/certs/ca-certificates.crt
    # The embedded llama.cpp backend: cmake builds it, bindgen needs libclang.
    need_deb cmake cmake
    need_deb clang clang
    need_deb libclang-dev
    # leash ask's approval tests drive a real terminal with script(1).
    need_deb bsdutils script
    # The web page's tests drive a real headless Chromium over WebDriver.
    need_deb chromium /usr/bin/chromium
    need_deb chromium-driver /usr/bin/chromedriver
    if [ ${#missing_debs[@]} -gt 0 ]; then
        say "installing ${missing_debs[*]}"
        as_root apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing_debs[@]}" >/dev/null
    fi
else
    say "no apt-get here: install a C compiler, git, curl and python3 yourself"
fi

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        say "installing the Rust toolchain with rustup"
        curl -sSf https://sh.rustup.rs | sh -s -- -y -q --profile minimal -c clippy -c rustfmt >/dev/null
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
fi
