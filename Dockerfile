# syntax=docker/dockerfile:1
#
# dicebard container image.
#
#   docker build -t dicebard .
#   docker run -d --name dicebard \
#       -e DICEBARD_DISCORD_TOKEN=... \
#       -v dicebard-data:/data \
#       dicebard
#
# State (the SQLite database) lives in the /data volume. Configuration comes from
# DICEBARD_* environment variables, or from /data/dicebard.toml, which is read
# automatically because /data is the working directory (see config.example.toml).
# Prefer the environment for the token.
#
# Voice models are not baked into the image (they are large and a matter of choice).
# Mount a folder read-only and point dicebard at the files, for example:
#   -v /srv/dicebard/models:/models:ro \
#   -e DICEBARD_WHISPER_MODEL=/models/ggml-base.en.bin \
#   -e DICEBARD_PIPER_VOICE=/models/en_US-lessac-medium.onnx \
#   -e DICEBARD_ONNXRUNTIME=/models/libonnxruntime.so.1.24.4
# (ONNX Runtime >= 1.24; the Piper voice's .onnx.json must sit beside the .onnx.)

# ---- build ----------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /src
# whisper.cpp needs cmake and libclang; piper's espeak-ng links libsonic; ort wants OpenSSL
# headers (the same list as scripts/lib.sh).
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake libclang-dev libsonic-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
# whisper.cpp (added with voice) defaults to -march=native; the image must run on any
# x86-64 host, so build portable code.
ENV GGML_NATIVE=OFF
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin dicebard \
    && install -D -m 0755 target/release/dicebard /out/dicebard

# ---- run ------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates espeak-ng-data libsonic0 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 dicebard \
    && useradd --system --uid 10001 --gid dicebard --home-dir /data --shell /usr/sbin/nologin dicebard \
    && mkdir -p /data \
    && chown dicebard:dicebard /data
COPY --from=builder /out/dicebard /usr/local/bin/dicebard

# Piper's phonemizer reads Debian's espeak-ng data.
ENV PIPER_ESPEAKNG_DATA_DIRECTORY=/usr/lib/x86_64-linux-gnu \
    DICEBARD_DATA_DIR=/data \
    DICEBARD_WEB_LISTEN=0.0.0.0:8787
VOLUME ["/data"]
# The phone web side-port (when enabled).
EXPOSE 8787
WORKDIR /data
USER dicebard:dicebard
ENTRYPOINT ["dicebard"]
CMD ["run"]
