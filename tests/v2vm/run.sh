#!/bin/bash
# tests/v2vm/run.sh - gantry-runtime in a systemd + pure cgroup v2 guest (issue 7): the host layout real users
# have (systemd as PID 1, cgroup2 with every controller, a tmpfs /run, D-Bus), which this CI machine (hybrid
# cgroups, no systemd, one filesystem) lacks.
#
# Builds gantry-runtime, builds the guest image when missing (../shared/testbed/v2vm.sh build, cached on the
# machine), boots a pristine guest with the repository shared at /mnt/host, runs tests/v2vm/guest.sh inside
# (targeted checks, one PASS/FAIL line each, then the lifecycle benchmark against runc and crun), stops the
# guest whatever happens, and ends with "N passed, N failed" (exit 1 on any failure).
#
# Environment: V2VM_STATE (default /tmp/gantry-v2vm), V2VM_ONLY="check names ..." to run a subset,
# V2VM_BENCH_RUNS (default 20), V2VM_RUNTIME=/path/to/gantry-runtime to test a prebuilt binary (e.g. a release
# build for the benchmark) instead of building the debug one, V2VM_GANTRY=/path/to/gantry likewise for the engine
# (the pod systemd check, tests/v2vm/pod-notify.sh). The guest has no network: the busybox OCI layout that check
# imports is built here (../shared/testbed/images.sh) and read through the share. Needs root; about 5-8 minutes under software emulation, boot included.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
V2VM=$ROOT/../shared/testbed/v2vm.sh
[ -x "$V2VM" ] || { echo "run.sh: $V2VM not found (the shared testbed must be a sibling of the repository)" >&2; exit 1; }
((EUID == 0)) || { echo "run.sh: run as root" >&2; exit 1; }

# The package list must match the image built for the other tests on this machine (a change rebuilds it).
export V2VM_EXTRA_PKGS="podman runc containernetworking-plugins"
export V2VM_STATE=${V2VM_STATE:-/tmp/gantry-v2vm}
export V2VM_SHARE=$ROOT
export V2VM_RUN_TIMEOUT=${V2VM_RUN_TIMEOUT:-900}

command -v objcopy >/dev/null ||
  { apt-get install -y -qq binutils >/dev/null || { apt-get update -qq && apt-get install -y -qq binutils >/dev/null; }; }
stage=$ROOT/target/v2vm
mkdir -p "$stage"
if [ -n "${V2VM_RUNTIME:-}" ]; then
  echo "v2vm: using $V2VM_RUNTIME"
  cp "$V2VM_RUNTIME" "$stage/gantry-runtime"
else
  echo "v2vm: building gantry-runtime"
  cargo build -q -p gantry-runtime
  # Without debug info the binary is a quarter of the size: the guest reads it through 9p under emulation.
  objcopy --strip-debug target/debug/gantry-runtime "$stage/gantry-runtime"
fi
if [ -n "${V2VM_GANTRY:-}" ]; then
  echo "v2vm: using $V2VM_GANTRY"
  cp "$V2VM_GANTRY" "$stage/gantry"
else
  echo "v2vm: building gantry"
  cargo build -q -p gantry
  objcopy --strip-debug target/debug/gantry "$stage/gantry"
fi
"$ROOT/../shared/testbed/images.sh" "$stage/imgs" >/dev/null
# The guest image has no crun (its package list is shared: changing it rebuilds the image for everyone), so the
# lifecycle benchmark gets the host's (the same Debian release) with its libraries; the guest installs what it lacks.
rm -rf "$stage/crun"
if crun=$(command -v crun); then
  mkdir -p "$stage/crun"
  cp "$(realpath "$crun")" "$stage/crun/crun"
  ldd "$crun" | awk '$3 ~ /^\// && $1 !~ /^(libc|ld-linux)/ { print $3 }' | xargs -r cp -t "$stage/crun"
fi
rm -f "$stage/bench.txt"

"$V2VM" build
stop_guest() { "$V2VM" stop >/dev/null 2>&1 || true; }
trap stop_guest EXIT
stop_guest
"$V2VM" start
set +e
"$V2VM" run env "V2VM_ONLY=${V2VM_ONLY:-}" "V2VM_BENCH_RUNS=${V2VM_BENCH_RUNS:-20}" \
  GV2_GANTRY=/mnt/host/target/v2vm/gantry GV2_LAYOUT=/mnt/host/target/v2vm/imgs/oci GV2_CRUN=/mnt/host/target/v2vm/crun \
  bash /mnt/host/tests/v2vm/guest.sh /mnt/host/target/v2vm/gantry-runtime /mnt/host/target/v2vm/bench.txt \
  | tee "$stage/guest.log"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$stage/guest.log" | tail -1)
if [ -z "$summary" ]; then
  echo "0 passed, 1 failed (the guest run ended without a summary, exit $rc)"
  exit 1
fi
exit "$rc"
