#!/usr/bin/env bash
# bench/pods.sh - the pod table of BENCHMARKS.md: gantry pods beside podman pods (issue 8).
#
# usage: bench/pods.sh [-n ROUNDS] [GANTRY_BINARY]       (as root, from the repository root)
#
# GANTRY_BINARY defaults to target/release/gantry (build it with `cargo build --release -p gantry`).
# Rows, each measured ROUNDS times (default 10), interleaved round by round so load drifts hit both engines alike:
#   pod, 1 app     gantry: `gantry run -d --net default busybox sleep 60` until `gantry status` shows every app
#                  running; podman: `podman pod create --network podman` + `podman run -d --pod P busybox sleep 60`
#                  (which returns once the container runs). Then `rm -f` / `pod rm -f`, not timed.
#   pod, 3 apps    the same with three apps (`--- busybox sleep 60` twice more; three `podman run -d --pod`).
#   run --rm true  `gantry run --rm busybox true` vs `podman run --rm busybox true` (no network for either).
# Prints medians (ms) and the gantry/podman ratio, plus the machine's load before and after.
# Both engines keep images, containers and state on one tmpfs mounted for the run and unmounted at exit; the
# podman is the testbed's private one (../shared/testbed/podman.sh) with its state on that tmpfs too. Every pod
# and container is removed at exit, even on failure.
set -euo pipefail
export LC_ALL=C

rounds=10
usage() { echo "usage: $0 [-n ROUNDS] [GANTRY_BINARY]" >&2; exit 2; }
while getopts n:h opt; do
  case $opt in n) rounds=$OPTARG ;; *) usage ;; esac
done
shift $((OPTIND - 1))
(($# <= 1 && rounds >= 1)) || usage
((EUID == 0)) || { echo "bench/pods.sh: must run as root" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gantry_bin=$(realpath "${1:-$here/target/release/gantry}")
testbed=$here/../shared/testbed
[[ -x $gantry_bin ]] || { echo "bench/pods.sh: $gantry_bin missing: cargo build --release -p gantry" >&2; exit 1; }
[[ -x $testbed/podman.sh ]] || { echo "bench/pods.sh: $testbed missing (the shared testbed)" >&2; exit 1; }
command -v podman >/dev/null || { echo "bench/pods.sh: podman missing: apt-get install podman" >&2; exit 1; }

imgs=${TMPDIR:-/tmp}/gantry-imgs
[[ -f $imgs/archives/busybox.oci.tar ]] || "$testbed/images.sh" "$imgs" >/dev/null
image=localhost/testbed/busybox:latest

load_before=$(uptime)
# gantry's default network bridge, removed at exit if this run created it.
bridge_was_there=$(ip link show gantry0 &>/dev/null && echo 1 || true)
work=$(mktemp -d "${TMPDIR:-/tmp}/benchpods.XXXXXX")
mount -t tmpfs -o size=512m benchpods "$work"
export TESTBED_STATE=$work/testbed
g() { "$gantry_bin" --root "$work/gantry/root" --state-root "$work/gantry/state" -q "$@"; }

cleanup() {
  set +e
  for p in $(g ps -a -q --no-trunc 2>/dev/null); do g rm -f "$p" >/dev/null 2>&1; done
  if [[ -n ${CONTAINERS_CONF:-} ]]; then
    podman pod rm -a -f -t 0 >/dev/null 2>&1
    podman rm -a -f -t 0 >/dev/null 2>&1
    "$testbed/podman.sh" reset >/dev/null 2>&1
  fi
  # Whatever is still mounted below the tmpfs (overlays, netns bind mounts), innermost first.
  findmnt -rn -o TARGET | grep "^$work/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
  umount -l "$work"
  [[ -n $bridge_was_there ]] || ip link del gantry0 2>/dev/null
  rmdir "$work"
}
trap cleanup EXIT

eval "$("$testbed/podman.sh" env)"
g load -i "$imgs/archives/busybox.oci.tar" >/dev/null
podman load -q -i "$imgs/archives/busybox.oci.tar" >/dev/null

now() { date +%s%N; }
# Milliseconds since $1 (nanoseconds).
since() { echo $((($(now) - $1) / 1000000)); }

# gantry pod with N apps: `run -d` until status shows every app running.
gantry_pod() {
  local n=$1 name=gp$2 args=() t0 st i
  args=(run -d --name "$name" --net default "$image" sleep 60)
  for ((i = 1; i < n; i++)); do args+=(--- "$image" sleep 60); done
  t0=$(now)
  g "${args[@]}" >/dev/null
  until st=$(g status "$name") && [[ $(grep -c '^app=.*state=running' <<<"$st") == "$n" ]]; do
    (($(now) - t0 < 30000000000)) || { echo "bench/pods.sh: pod $name not running after 30 s: $st" >&2; exit 1; }
    sleep 0.005
  done
  since "$t0"
  g rm -f "$name" >/dev/null
}

# podman pod with N apps: `pod create` + N `run -d --pod` (each returns once its container runs).
podman_pod() {
  local n=$1 name=pp$2 t0 i
  t0=$(now)
  podman pod create --name "$name" --network podman >/dev/null
  for ((i = 0; i < n; i++)); do podman run -d --pod "$name" "$image" sleep 60 >/dev/null; done
  since "$t0"
  podman pod rm -f -t 0 "$name" >/dev/null
}

gantry_true() {
  local t0
  t0=$(now)
  g run --rm "$image" true
  since "$t0"
}

podman_true() {
  local t0
  t0=$(now)
  podman run --rm --network none "$image" true
  since "$t0"
}

# One untimed warm-up of each, then the interleaved rounds.
gantry_pod 1 w >/dev/null; podman_pod 1 w >/dev/null; gantry_true >/dev/null; podman_true >/dev/null
declare -A samples
for ((r = 0; r < rounds; r++)); do
  samples[g1]+=" $(gantry_pod 1 "$r")"
  samples[p1]+=" $(podman_pod 1 "$r")"
  samples[g3]+=" $(gantry_pod 3 "$r")"
  samples[p3]+=" $(podman_pod 3 "$r")"
  samples[gt]+=" $(gantry_true)"
  samples[pt]+=" $(podman_true)"
done
load_after=$(uptime)

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "rounds: $rounds (interleaved), gantry: $gantry_bin, podman: $(podman --version)"
echo "load before: $load_before"
echo "load after:  $load_after"
echo
echo "| measurement | gantry (ms, median) | podman (ms, median) | gantry / podman |"
echo "| --- | ---: | ---: | ---: |"
for row in "pod start, 1 app, default network:1" "pod start, 3 apps, default network:3" "run --rm busybox true:t"; do
  label=${row%:*} k=${row##*:}
  gm=$(median "${samples[g$k]}") pm=$(median "${samples[p$k]}")
  printf '| %s | %s | %s | %s |\n' "$label" "$gm" "$pm" "$(awk -v a="$gm" -v b="$pm" 'BEGIN {printf "%.3f", a / b}')"
done
echo
for k in g1 p1 g3 p3 gt pt; do echo "samples $k:${samples[$k]}"; done
