#!/usr/bin/env bash
# Installs what the tests need (Debian packages) and runs the whole test suite as root:
# unit tests, the runtime conformance/integration suite (real containers), image and registry tests.
# Run from the project root: ./scripts/test.sh
# GANTRY_TEST_RUNTIME=/path/to/runc ./scripts/test.sh points the runtime suite at another runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
((EUID == 0)) || { echo "test.sh: run as root (the suite runs real containers)" >&2; exit 1; }
command -v cargo >/dev/null || { echo "test.sh: needs a Rust toolchain >= 1.85 (rustup) on PATH" >&2; exit 1; }
# protobuf-compiler: the CRI test client (tests/cri) generates its protos with protoc at build time.
# The clients and tools the tests drive (none is optional: a missing one fails its tests, never skips them).
pkgs=(busybox-static libseccomp-dev pkg-config jq iproute2 util-linux runc qemu-user protobuf-compiler
  crun podman containerd skopeo umoci containernetworking-plugins iptables catatonit debootstrap)
pkgs+=(openssl curl) # gantry-trust tests: a throw-away CA; HTTP checks
pkgs+=(python3) # the pod tests play systemd (NOTIFY_SOCKET, LISTEN_FDS) with python
need=()
for p in "${pkgs[@]}"; do dpkg -s "$p" &>/dev/null || need+=("$p"); done
if ((${#need[@]})); then
  echo "test.sh: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
# The shared testbed (../shared/testbed beside the project, or GANTRY_TESTBED) builds the test images; tests that
# need them read GANTRY_TEST_IMAGES (default /tmp/gantry-imgs) and fail when they are missing.
testbed=${GANTRY_TESTBED:-$PWD/../shared/testbed}
[ -x "$testbed/images.sh" ] ||
  { echo "test.sh: the shared testbed is missing at $testbed (set GANTRY_TESTBED to its directory)" >&2; exit 1; }
export GANTRY_TESTBED=$testbed GANTRY_TEST_IMAGES=${GANTRY_TEST_IMAGES:-/tmp/gantry-imgs}
echo "test.sh: building the test images in $GANTRY_TEST_IMAGES"
"$testbed/images.sh" "$GANTRY_TEST_IMAGES" --debian >/dev/null
# Sigstore-enabled skopeo 1.18, cosign 2.5 and podman 5.4 (Debian 12's have sigstore disabled) for the signature
# interop tests: a Debian trixie chroot, cached in /var/cache/gantry-testbed (~1-2 min once per machine, debootstrap).
echo "test.sh: the trixie chroot with sigstore-enabled skopeo/cosign/podman (scripts/trixie-sigstore.sh)"
scripts/trixie-sigstore.sh build >/dev/null
cargo fmt --all --check
cargo clippy --workspace --all-targets -q -- -D warnings
cargo build --workspace --bins
cargo test --workspace --no-fail-fast
# The systemd + cgroup v2 guest (issue 7): gantry-runtime on a host layout this machine lacks. Runs last: it boots a
# QEMU guest under software emulation (~5-8 min; the guest image is built once per machine and cached).
tests/v2vm/run.sh
