#!/usr/bin/env bash
# bench/hang.sh - "`run` never misses the container's exit": RUNS consecutive `RT run` of busybox /bin/true, each
# killed (SIGKILL) and counted as a hang when it takes longer than LIMIT seconds. Not part of the test suite: 10,000
# runs take 3-5 minutes.
#
# usage: bench/hang.sh [-n RUNS] [-t LIMIT] [RUNTIME_BINARY]        (as root, from the repository root)
#
# RUNS defaults to 10000, LIMIT to 10, the runtime to target/release/gantry-runtime (`cargo release-runtime`).
# Prints progress every 1000 runs and ends with one markdown table row:
#   | runs | hangs | failures | wall time | slowest run |
# and exits 1 when any run hung or failed. Every container gets an absolute cgroupsPath /benchhang.XXXXXX/<id>;
# a hung run's container, the state directory and the cgroups are removed at exit, even on failure.
set -euo pipefail
export LC_ALL=C

runs=10000 limit=10
usage() { echo "usage: $0 [-n RUNS] [-t LIMIT_SECONDS] [RUNTIME_BINARY]" >&2; exit 2; }
while getopts n:t:h opt; do
  case $opt in n) runs=$OPTARG ;; t) limit=$OPTARG ;; *) usage ;; esac
done
shift $((OPTIND - 1))
(($# <= 1 && runs >= 1)) || usage
((EUID == 0)) || { echo "bench/hang.sh: must run as root" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rt=$(realpath "${1:-$here/target/release/gantry-runtime}")
[[ -x $rt ]] || { echo "bench/hang.sh: $rt missing: cargo release-runtime" >&2; exit 1; }
[[ -x /bin/busybox ]] && dpkg -s busybox-static &>/dev/null ||
  { echo "bench/hang.sh: needs a static /bin/busybox: apt-get install busybox-static" >&2; exit 1; }
for t in jq runc; do
  command -v $t >/dev/null || { echo "bench/hang.sh: needs $t (apt-get install $t)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/benchhang.XXXXXX")
cg=${work##*/}
cleanup() {
  local d
  shopt -s nullglob
  for d in "$work/state"/*/; do d=${d%/}; "$rt" --root "$work/state" delete -f "${d##*/}" &>/dev/null || true; done
  for d in /sys/fs/cgroup/*/"$cg" /sys/fs/cgroup/"$cg"; do rmdir "$d"/*/ "$d" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work"/rootfs/{bin,dev,etc,proc,sys,tmp}
cp /bin/busybox "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/true"
(cd "$work" && runc spec)
# One bundle for all runs; the cgroup of each run is its own (the id is in the path, see below).
jq --arg root "$work/rootfs" --arg cg "/$cg/hang" '
  .ociVersion = "1.0.2" | .process.terminal = false | .process.args = ["/bin/true"] | .hostname = "hang"
  | .root.path = $root | .linux.cgroupsPath = $cg' "$work/config.json" > "$work/config.tmp"
mv "$work/config.tmp" "$work/config.json"

echo "# $rt ($("$rt" --version 2>&1 | head -1)), $runs runs, limit ${limit} s"
echo "# load before: $(uptime)"
hangs=0 failures=0 slowest=0
t_start=$EPOCHREALTIME
for ((i = 1; i <= runs; i++)); do
  id=hang$$-$i
  t0=$EPOCHREALTIME
  set +e
  timeout -s KILL "$limit" "$rt" --root "$work/state" run -b "$work" "$id" </dev/null >/dev/null 2>"$work/err"
  rc=$?
  set -e
  t1=$EPOCHREALTIME
  us=$((${t1/./} - ${t0/./}))
  ((us <= slowest)) || slowest=$us
  if ((rc == 137)); then
    hangs=$((hangs + 1))
    echo "# run $i ($id) hung: killed after ${limit} s" >&2
    "$rt" --root "$work/state" delete -f "$id" &>/dev/null || true
  elif ((rc != 0)); then
    failures=$((failures + 1))
    echo "# run $i ($id) failed with status $rc: $(tail -1 "$work/err")" >&2
    "$rt" --root "$work/state" delete -f "$id" &>/dev/null || true
  fi
  ((i % 1000)) || echo "# $i runs: $hangs hangs, $failures failures"
done
t_end=$EPOCHREALTIME
wall=$(((${t_end/./} - ${t_start/./}) / 1000000))
echo "# load after: $(uptime)"
echo "| runs | hangs | failures | wall time | slowest run |"
echo "|---|---|---|---|---|"
echo "| $runs | $hangs | $failures | $wall s | $((slowest / 1000)) ms |"
((hangs == 0 && failures == 0))
