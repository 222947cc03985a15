#!/usr/bin/env bash
# bench/v2vm.sh - the lifecycle benchmark in the systemd + pure cgroup v2 guest (tests/v2vm), as a markdown table
# for BENCHMARKS.md beside the host's (bench/lifecycle.sh).
#
# usage: bench/v2vm.sh [-n RUNS] [GANTRY_BINARY]            (as root, from the repository root)
#
# Boots the guest (one at a time on the machine: it takes /tmp/v2vm.lock), runs only its bench_lifecycle check:
# RUNS (default 30) `run`s of busybox /bin/true for gantry-runtime, the guest's runc and crun (the host's, copied
# in), interleaved. The guest runs under software emulation (fork/exec ~70x slower than the host), so only the
# ratios mean anything. GANTRY_BINARY defaults to target/release/gantry-runtime (`cargo release-runtime`).
set -euo pipefail
export LC_ALL=C
runs=30
while getopts n:h opt; do case $opt in n) runs=$OPTARG ;; *) echo "usage: $0 [-n RUNS] [GANTRY_BINARY]" >&2; exit 2 ;; esac; done
shift $((OPTIND - 1))
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gantry=$(realpath "${1:-$here/target/release/gantry-runtime}")
[[ -x $gantry ]] || { echo "bench/v2vm.sh: $gantry missing: cargo release-runtime" >&2; exit 1; }
((EUID == 0)) || { echo "bench/v2vm.sh: must run as root" >&2; exit 1; }
log=$(mktemp "${TMPDIR:-/tmp}/benchv2.XXXXXX")
trap 'rm -f "$log"' EXIT
echo "# host load before: $(uptime)" >&2
# The engine is not benchmarked here, but run.sh stages it; the runtime binary is all the check needs.
V2VM_RUNTIME=$gantry V2VM_GANTRY=${V2VM_GANTRY:-$gantry} V2VM_ONLY=bench_lifecycle V2VM_BENCH_RUNS=$runs \
  flock /tmp/v2vm.lock "$here/tests/v2vm/run.sh" > "$log" 2>&1 || { cat "$log" >&2; exit 1; }
echo "# host load after: $(uptime)" >&2
kernel=$(sed -n 's/^guest: \([^,]*\), systemd \([0-9]*\).*/kernel \1, systemd \2/p' "$log" | head -1)
mapfile -t lines < <(grep '^lifecycle ' "$here/target/v2vm/bench.txt" 2>/dev/null)
((${#lines[@]} >= 2)) || { cat "$log" >&2; echo "bench/v2vm.sh: no benchmark lines in the guest's output" >&2; exit 1; }
crun_med=$(printf '%s\n' "${lines[@]}" | awk '$2 == "crun" { sub(":", "", $3); print $5 }')
echo "Guest: ${kernel:-?}, pure cgroup v2, software emulation; $runs interleaved runs each."
echo
echo "| runtime (in the guest) | median ms | min | max | / crun |"
echo "|---|---|---|---|---|"
for l in "${lines[@]}"; do
  # lifecycle NAME VERSION: median X ms of N runs (min A, max B)
  read -r _ name ver _ med _ _ _ _ _ min _ max <<<"${l//[(),]/ }"
  ratio=$(awk -v a="$med" -v b="${crun_med:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  echo "| $name ${ver%:} | $med | $min | $max | $ratio |"
done
