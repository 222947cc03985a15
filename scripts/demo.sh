#!/usr/bin/env bash
# Builds gantry-runtime and runs a real busybox container through it (no network needed beyond Debian's
# packages). Run as root from the project root: ./scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
((EUID == 0)) || { echo "demo.sh: run as root (containers need it)" >&2; exit 1; }
command -v cargo >/dev/null || { echo "demo.sh: needs a Rust toolchain >= 1.85 (rustup) on PATH" >&2; exit 1; }
need=()
dpkg -s busybox-static &>/dev/null || need+=(busybox-static)
dpkg -s libseccomp-dev &>/dev/null || need+=(libseccomp-dev)
dpkg -s pkg-config &>/dev/null || need+=(pkg-config)
command -v jq >/dev/null || need+=(jq)
if ((${#need[@]})); then
  apt-get install -y -qq "${need[@]}" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
cargo build --release -q -p gantry-runtime
rt=$PWD/target/release/gantry-runtime
work=$(mktemp -d /tmp/gantry-demo.XXXXXX)
trap '"$rt" --root "$work/state" delete -f demo &>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/bundle/rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/bundle/rootfs/bin/$a"; done
(cd "$work/bundle" && "$rt" spec)
jq '.process.terminal = false | .hostname = "gantry-demo" | .linux.cgroupsPath = "/gantry-demo/demo"
    | .process.args = ["sh", "-c", "echo hello from a gantry container: host $(hostname), pid $$, uid $(id -u); ls /"]' \
  "$work/bundle/config.json" > "$work/config.json" && mv "$work/config.json" "$work/bundle/config.json"
"$rt" --root "$work/state" run --bundle "$work/bundle" demo
