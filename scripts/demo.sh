#!/usr/bin/env bash
# Builds gantry and runs a real container from its built-in `hello` image (no network needed beyond Debian's
# packages for the build). Run as root from the project root: ./scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
((EUID == 0)) || { echo "demo.sh: run as root (containers need it)" >&2; exit 1; }
command -v cargo >/dev/null || { echo "demo.sh: needs a Rust toolchain >= 1.85 (rustup) on PATH" >&2; exit 1; }
need=()
for p in libseccomp-dev pkg-config; do dpkg -s "$p" &>/dev/null || need+=("$p"); done
if ((${#need[@]})); then
  apt-get install -y -qq "${need[@]}" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
cargo build --release -q -p gantry
exec target/release/gantry run --rm hello
