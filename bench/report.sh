#!/usr/bin/env bash
# bench/report.sh - regenerates the measured tables of BENCHMARKS.md's lifecycle sections in one go:
#   1. `cargo release-runtime` (the static-pie release build that is benchmarked and installed);
#   2. bench/lifecycle.sh      host: gantry-runtime beside plain runc and crun, one interleaved run;
#   3. bench/hang.sh           host: 10,000 consecutive `run`s, 0 hangs expected;
#   4. bench/v2vm.sh           the systemd + pure cgroup v2 guest: gantry-runtime, runc and crun, interleaved.
# Each table replaces the text between its markers in BENCHMARKS.md (`<!-- report:NAME:begin -->` ... `end -->`);
# the prose around them is left alone: reread it against the new numbers. Every step's full output is kept in
# target/bench/. Run it as root on a machine that is otherwise quiet: about 15 minutes (the guest alone 5-8).
#
# usage: bench/report.sh [-n RUNS] [-H HANG_RUNS] [-V GUEST_RUNS] [-s STEPS]
#   RUNS: lifecycle.sh -n (default 100); HANG_RUNS: hang.sh -n (default 10000); GUEST_RUNS: v2vm.sh -n (default 30);
#   STEPS: which of "lifecycle hang v2vm" to run (default all three).
set -euo pipefail
export LC_ALL=C
runs=100 hang_runs=10000 guest_runs=30 steps="lifecycle hang v2vm"
while getopts n:H:V:s:h opt; do
  case $opt in
    n) runs=$OPTARG ;; H) hang_runs=$OPTARG ;; V) guest_runs=$OPTARG ;; s) steps=$OPTARG ;;
    *) echo "usage: $0 [-n RUNS] [-H HANG_RUNS] [-V GUEST_RUNS] [-s STEPS]" >&2; exit 2 ;;
  esac
done
((EUID == 0)) || { echo "bench/report.sh: must run as root" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
out=$here/target/bench
mkdir -p "$out"
cargo release-runtime
rt=$here/target/release/gantry-runtime
stamp="$(date -u +%F), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with local changes)')"

# splice NAME FILE: BENCHMARKS.md's text between NAME's markers becomes FILE's.
splice() {
  local begin="<!-- report:$1:begin -->" end="<!-- report:$1:end -->"
  grep -qF "$begin" BENCHMARKS.md && grep -qF "$end" BENCHMARKS.md ||
    { echo "bench/report.sh: BENCHMARKS.md has no $1 markers" >&2; return 1; }
  awk -v b="$begin" -v e="$end" -v f="$2" '
    $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
    $0 == e { skip = 0 }
    !skip' BENCHMARKS.md > BENCHMARKS.md.new
  mv BENCHMARKS.md.new BENCHMARKS.md
}

failed=
for step in $steps; do
  case $step in
    lifecycle)
      bench/lifecycle.sh -n "$runs" "$rt" | tee "$out/lifecycle.out"
      { echo "Measured $stamp; $(grep -m1 '^load before:' "$out/lifecycle.out"); $(grep -m1 '^load after:' "$out/lifecycle.out")."
        echo
        sed -n '/^| measure /,$p' "$out/lifecycle.out"; } > "$out/lifecycle.md"
      splice lifecycle "$out/lifecycle.md" ;;
    hang)
      # A hang or failure still goes into the table; the script fails at the end.
      bench/hang.sh -n "$hang_runs" "$rt" | tee "$out/hang.out" || failed+=" hang"
      { echo "Measured $stamp; $(grep -m1 '^# load before:' "$out/hang.out" | sed 's/^# //')."
        echo
        sed -n '/^| runs /,$p' "$out/hang.out"; } > "$out/hang.md"
      splice hang "$out/hang.md" ;;
    v2vm)
      bench/v2vm.sh -n "$guest_runs" "$rt" | tee "$out/v2vm.out"
      { echo "Measured $stamp."; echo; cat "$out/v2vm.out"; } > "$out/v2vm.md"
      splice v2vm "$out/v2vm.md" ;;
    *) echo "bench/report.sh: unknown step $step" >&2; exit 2 ;;
  esac
done
echo "bench/report.sh: BENCHMARKS.md updated ($steps); outputs in $out"
[[ -z $failed ]] || { echo "bench/report.sh: failed:$failed" >&2; exit 1; }
