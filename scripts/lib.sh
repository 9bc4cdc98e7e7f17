# shellcheck shell=bash
# Shared helpers for scripts/play and scripts/test. Source it; do not run it.
#
# Installs what building dicebard needs, idempotently: Debian packages (skipped when
# already installed, so it works offline once set up) and Rust via rustup (only when
# cargo is missing or older than the minimum). Uses sudo only when not root.

set -euo pipefail

# The repository root (this file lives in scripts/).
DICEBARD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Minimum Rust (matches rust-version in Cargo.toml).
DICEBARD_MIN_RUST="1.94"

# Debian packages needed to build. Voice (crates/voice): cmake + libclang-dev build
# whisper.cpp, espeak-ng and libopus from source; libsonic-dev is linked into espeak-ng;
# libssl-dev is for ort's (unused) download feature; espeak-ng-data is espeak's data;
# python3 unpacks the ONNX Runtime wheel (scripts/models.sh); chromium (with a font) is
# the real browser of the web table's test (tests/it/web_browser.rs).
DICEBARD_APT_PACKAGES=(build-essential pkg-config ca-certificates curl
    cmake libclang-dev libsonic-dev libssl-dev espeak-ng-data python3
    chromium fonts-dejavu-core)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' (run as root or install sudo)"
    fi
}

# True when a Debian package is installed.
apt_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Installs the missing ones of the given Debian packages.
ensure_apt_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        say "not a Debian-like system: skipping apt; make sure a C toolchain, pkg-config and curl are installed"
        return 0
    fi
    local missing=() pkg
    for pkg in "$@"; do
        apt_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    say "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Prints "MAJOR.MINOR" of the cargo on PATH, or nothing.
cargo_version() {
    cargo --version 2>/dev/null | sed -n 's/^cargo \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1.\2/p'
}

# True when version $1 (MAJOR.MINOR) >= version $2.
version_at_least() {
    local a_major=${1%%.*} a_minor=${1#*.} b_major=${2%%.*} b_minor=${2#*.}
    [ "$a_major" -gt "$b_major" ] || { [ "$a_major" -eq "$b_major" ] && [ "$a_minor" -ge "$b_minor" ]; }
}

rust_ok() {
    local v
    v=$(cargo_version)
    [ -n "$v" ] && version_at_least "$v" "$DICEBARD_MIN_RUST"
}

# Makes a recent enough cargo available on PATH, installing Rust with rustup if needed.
ensure_rust() {
    # A rustup install from an earlier run may not be on PATH yet.
    if [ -f "$HOME/.cargo/env" ]; then
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
    rust_ok && return 0

    if command -v rustup >/dev/null 2>&1; then
        say "updating the stable Rust toolchain (need >= $DICEBARD_MIN_RUST)"
        rustup toolchain install stable --profile minimal
        export RUSTUP_TOOLCHAIN=stable
        # rustup's cargo proxy sits beside rustup; put it ahead of any system cargo.
        PATH="$(dirname "$(command -v rustup)"):$PATH"
        export PATH
    else
        say "installing Rust with rustup (need >= $DICEBARD_MIN_RUST; found: $(cargo_version || true))"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
            sh -s -- -y --profile minimal --default-toolchain stable --no-modify-path
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
        # Prefer rustup's cargo over an older system one for the rest of this run.
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    rust_ok || die "cargo $(cargo_version) is older than $DICEBARD_MIN_RUST after installing Rust"
}

# Everything needed to build; then cd to the repository root.
ensure_build_deps() {
    ensure_apt_packages "${DICEBARD_APT_PACKAGES[@]}"
    ensure_rust
    cd "$DICEBARD_ROOT"
}

# Speech models and ONNX Runtime (ensure_models, ensure_onnxruntime).
# shellcheck source=scripts/models.sh
. "$DICEBARD_ROOT/scripts/models.sh"
