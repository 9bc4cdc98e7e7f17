# shellcheck shell=bash
# Speech models and ONNX Runtime for dicebard's voice features.
#
# Source it (scripts/lib.sh does) and call ensure_models; or run it directly
# (`scripts/models.sh`), which fetches everything and prints the export lines.
#
# Puts into ./models/ (or $DICEBARD_MODELS_DIR), idempotently:
#   ggml-tiny.en.bin                     whisper.cpp speech-to-text model
#   piper/en_US-joe-medium.onnx(.json)   Piper text-to-speech voice
#   onnxruntime/libonnxruntime.so        ONNX Runtime >= 1.24 (from the PyPI wheel)
# Files are copied from ../shared/models when that folder exists (CI), else downloaded
# from their usual public homes. Then exports DICEBARD_WHISPER_MODEL,
# DICEBARD_PIPER_VOICE, DICEBARD_ONNXRUNTIME and ORT_DYLIB_PATH (unless already set).

if [ -z "${DICEBARD_ROOT:-}" ]; then
    DICEBARD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fi
if ! declare -F say >/dev/null 2>&1; then
    say() { printf '==> %s\n' "$*" >&2; }
fi

DICEBARD_MODELS_DIR=${DICEBARD_MODELS_DIR:-"$DICEBARD_ROOT/models"}
DICEBARD_SHARED_MODELS=${DICEBARD_SHARED_MODELS:-"$DICEBARD_ROOT/../shared/models"}
DICEBARD_ORT_VERSION=${DICEBARD_ORT_VERSION:-1.24.4}

DICEBARD_WHISPER_URL="https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-tiny.en.bin"
DICEBARD_PIPER_URL="https://huggingface.co/rhasspy/piper-voices/resolve/main/en/en_US/joe/medium/en_US-joe-medium.onnx"

# Known checksums of the copies in ../shared/models (a download from the upstream home
# may differ: it is checked for size and format instead).
DICEBARD_SHA256_WHISPER_SHARED=49b35c0f0fa5e8fe48396546d4c3308e7cc3e8a50589273a99710c76fd373fdf
DICEBARD_SHA256_PIPER_SHARED=58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06
DICEBARD_SHA256_PIPER_JSON_SHARED=3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33

# Prints a file's sha256.
_models_sha256() {
    sha256sum "$1" | cut -d' ' -f1
}

# _models_fetch REL URL [SHA256_OF_SHARED_COPY]
# Makes $DICEBARD_MODELS_DIR/REL exist: kept when present, else copied from the shared
# folder (checksum verified when known), else downloaded from URL.
_models_fetch() {
    local rel=$1 url=$2 sha=${3:-}
    local dest="$DICEBARD_MODELS_DIR/$rel" shared="$DICEBARD_SHARED_MODELS/$rel"
    if [ -s "$dest" ]; then
        return 0
    fi
    mkdir -p "$(dirname "$dest")" || return 1
    local tmp="$dest.part"
    if [ -f "$shared" ]; then
        say "copying $rel from $DICEBARD_SHARED_MODELS"
        cp "$shared" "$tmp" || return 1
        chmod u+w "$tmp" || return 1
        if [ -n "$sha" ] && [ "$(_models_sha256 "$tmp")" != "$sha" ]; then
            rm -f "$tmp"
            say "error: checksum mismatch for $shared"
            return 1
        fi
    else
        say "downloading $rel from $url"
        if ! curl -fL --retry 3 --connect-timeout 20 -o "$tmp" "$url"; then
            rm -f "$tmp"
            say "error: could not download $url"
            return 1
        fi
    fi
    mv -f "$tmp" "$dest" || return 1
}

# Checks that the whisper model starts with the ggml magic ("lmgg" on disk).
_models_check_whisper() {
    local f="$DICEBARD_MODELS_DIR/ggml-tiny.en.bin"
    if [ "$(head -c 4 "$f")" != "lmgg" ]; then
        say "error: $f is not a whisper.cpp ggml model; delete it and run again"
        return 1
    fi
}

# Downloads the onnxruntime wheel from PyPI and extracts libonnxruntime.so.
ensure_onnxruntime() {
    local dir="$DICEBARD_MODELS_DIR/onnxruntime"
    local lib="$dir/libonnxruntime.so.$DICEBARD_ORT_VERSION"
    if [ -s "$lib" ] && [ -L "$dir/libonnxruntime.so" ]; then
        return 0
    fi
    mkdir -p "$dir" || return 1
    if [ ! -s "$lib" ]; then
        command -v python3 >/dev/null 2>&1 || { say "error: python3 is needed to unpack the onnxruntime wheel"; return 1; }
        local tmp arch plat
        tmp=$(mktemp -d) || return 1
        arch=$(uname -m)
        plat="manylinux_2_28_$arch"
        say "fetching ONNX Runtime $DICEBARD_ORT_VERSION (PyPI wheel onnxruntime==$DICEBARD_ORT_VERSION)"
        if python3 -m pip --version >/dev/null 2>&1; then
            python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
                --platform "$plat" --platform "manylinux_2_27_$arch" \
                -d "$tmp" "onnxruntime==$DICEBARD_ORT_VERSION" >&2 || { rm -rf "$tmp"; return 1; }
        else
            # No pip: find the wheel in PyPI's simple index (its link carries the sha256).
            local url sha
            url=$(curl -fsSL "https://pypi.org/simple/onnxruntime/" | python3 -c '
import html, re, sys
ver, arch = sys.argv[1], sys.argv[2]
for href in re.findall(r"href=\"([^\"]+)\"", sys.stdin.read()):
    href = html.unescape(href)
    name = href.split("#")[0].rsplit("/", 1)[-1]
    if name.startswith("onnxruntime-" + ver + "-cp312-") and "manylinux" in name and name.endswith(arch + ".whl"):
        print(href); break
' "$DICEBARD_ORT_VERSION" "$arch") || { rm -rf "$tmp"; return 1; }
            [ -n "$url" ] || { say "error: no onnxruntime $DICEBARD_ORT_VERSION wheel for $arch on PyPI"; rm -rf "$tmp"; return 1; }
            sha=${url##*#sha256=}
            url=${url%%#*}
            curl -fL --retry 3 -o "$tmp/${url##*/}" "$url" || { rm -rf "$tmp"; return 1; }
            if [ "$sha" != "$url" ] && [ "$(_models_sha256 "$tmp/${url##*/}")" != "$sha" ]; then
                say "error: checksum mismatch for ${url##*/}"
                rm -rf "$tmp"
                return 1
            fi
        fi
        python3 - "$tmp" "$lib" <<'PY' || { rm -rf "$tmp"; return 1; }
import glob, shutil, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheels = glob.glob(tmp + "/onnxruntime-*.whl")
if not wheels:
    sys.exit("no onnxruntime wheel was downloaded")
with zipfile.ZipFile(wheels[0]) as z:
    names = [n for n in z.namelist() if n.startswith("onnxruntime/capi/libonnxruntime.so")]
    if not names:
        sys.exit("libonnxruntime.so not found in " + wheels[0])
    with z.open(sorted(names, key=len)[-1]) as src, open(dest + ".part", "wb") as out:
        shutil.copyfileobj(src, out)
shutil.move(dest + ".part", dest)
PY
        rm -rf "$tmp"
    fi
    ln -sfn "libonnxruntime.so.$DICEBARD_ORT_VERSION" "$dir/libonnxruntime.so" || return 1
}

# Everything the voice features need, then the environment variables pointing at it.
ensure_models() {
    _models_fetch ggml-tiny.en.bin "$DICEBARD_WHISPER_URL" "$DICEBARD_SHA256_WHISPER_SHARED" || return 1
    _models_check_whisper || return 1
    _models_fetch piper/en_US-joe-medium.onnx "$DICEBARD_PIPER_URL" "$DICEBARD_SHA256_PIPER_SHARED" || return 1
    _models_fetch piper/en_US-joe-medium.onnx.json "$DICEBARD_PIPER_URL.json" "$DICEBARD_SHA256_PIPER_JSON_SHARED" || return 1
    ensure_onnxruntime || return 1
    export DICEBARD_WHISPER_MODEL="${DICEBARD_WHISPER_MODEL:-$DICEBARD_MODELS_DIR/ggml-tiny.en.bin}"
    export DICEBARD_PIPER_VOICE="${DICEBARD_PIPER_VOICE:-$DICEBARD_MODELS_DIR/piper/en_US-joe-medium.onnx}"
    export DICEBARD_ONNXRUNTIME="${DICEBARD_ONNXRUNTIME:-$DICEBARD_MODELS_DIR/onnxruntime/libonnxruntime.so}"
    export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$DICEBARD_ONNXRUNTIME}"
}

# Run directly: fetch, then print the exports for a shell to eval.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    ensure_models
    printf 'export DICEBARD_WHISPER_MODEL=%q\n' "$DICEBARD_WHISPER_MODEL"
    printf 'export DICEBARD_PIPER_VOICE=%q\n' "$DICEBARD_PIPER_VOICE"
    printf 'export DICEBARD_ONNXRUNTIME=%q\n' "$DICEBARD_ONNXRUNTIME"
    printf 'export ORT_DYLIB_PATH=%q\n' "$ORT_DYLIB_PATH"
fi
