#!/usr/bin/env bash
# pull.sh - pull + unpack of the testbed debian image: gantry with signature verification on vs off, vs podman.
#
# usage: bench/pull.sh [-n RUNS] GANTRY_BINARY        (as root; a release build: target/release/gantry)
#
# Everything lives on a private tmpfs: the loopback registry's storage (../shared/testbed/registry.sh with its
# own TESTBED_STATE), gantry's stores, podman's storage (../shared/testbed/podman.sh). The image is
# $GANTRY_TEST_IMAGES/archives/debian.oci.tar (../shared/testbed/images.sh DIR --debian), loaded into a staging
# gantry store and pushed signed (`gantry push --sign-by-sigstore-private-key`, a key made here) to
# ADDR/bench/debian:v1. Each run pulls it into an empty store, in rotating order:
#   off     gantry pull, policy insecureAcceptAnything (no signature fetched)
#   on      gantry pull, policy sigstoreSigned with the public key (.sig tag fetched and checked)
#   podman  podman pull --signature-policy (insecureAcceptAnything: Debian 12's podman 4.3 is built without
#           sigstore support, so it cannot verify these signatures), then `podman rmi` (not timed)
# Prints each run (wall and CPU ms), the medians of each, on/off, the median per-run difference on - off (runs are interleaved, so this
# pairs runs made under the same load), on/podman, and the load average before and after.
set -euo pipefail
export LC_ALL=C
runs=7
while getopts n: opt; do case $opt in n) runs=$OPTARG ;; *) exit 2 ;; esac; done
shift $((OPTIND - 1))
(($# == 1)) || { echo "usage: $0 [-n RUNS] GANTRY_BINARY" >&2; exit 2; }
((EUID == 0)) || { echo "pull.sh: run as root" >&2; exit 1; }
gantry=$(realpath "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
testbed=$(realpath "${GANTRY_TESTBED:-$here/../../shared/testbed}")
archive=${GANTRY_TEST_IMAGES:-/tmp/gantry-imgs}/archives/debian.oci.tar
[[ -f $archive ]] || { echo "pull.sh: $archive missing: run $testbed/images.sh DIR --debian" >&2; exit 1; }
command -v podman >/dev/null || { echo "pull.sh: podman missing (apt-get install podman)" >&2; exit 1; }

work=$(mktemp -d /tmp/bench-pull.XXXXXX)
mount -t tmpfs -o size=3g tmpfs "$work"
export TESTBED_STATE=$work/testbed
cleanup() {
  set +e
  "$testbed/podman.sh" reset >/dev/null 2>&1
  "$testbed/registry.sh" stop >/dev/null 2>&1
  umount "$work" && rmdir "$work"
}
trap cleanup EXIT

addr=$("$testbed/registry.sh" start)
image=$addr/bench/debian:v1
cat >"$work/registries.toml" <<EOF
insecure = ["$addr"]
EOF
export GANTRY_REGISTRIES_CONF=$work/registries.toml
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$work/off.json"
"$gantry" trust generate-key "$work/k" 2>/dev/null
cat >"$work/on.json" <<EOF
{"default":[{"type":"reject"}],
 "transports":{"docker":{"$addr/bench":[{"type":"sigstoreSigned","keyPath":"$work/k.pub"}]}}}
EOF
"$gantry" --root "$work/stage" -q load -i "$archive" >/dev/null
"$gantry" --root "$work/stage" --policy "$work/off.json" -q push \
  --sign-by-sigstore-private-key "$work/k.key" localhost/testbed/debian:latest "$image" >/dev/null
eval "$(REGISTRY=$addr "$testbed/podman.sh" env)"

# One timed pull: prints "WALL_MS CPU_MS" (CPU: user + system of the pulling process and its children).
one() {
  local mode=$1 t
  TIMEFORMAT='%R %U %S'
  case $mode in
    off | on)
      t=$( { time "$gantry" --root "$work/store" --policy "$work/$mode.json" -q pull "$image" >/dev/null; } 2>&1)
      rm -rf "$work/store" ;;
    podman)
      t=$( { time podman pull -q --signature-policy "$work/off.json" "$image" >/dev/null; } 2>&1)
      podman rmi -af >/dev/null ;;
  esac
  awk '{printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000}' <<<"$t"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

modes=(off on podman)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in "${modes[@]}"; do one "$m" >/dev/null; done # warm the page cache and the registry
for ((i = 0; i < runs; i++)); do
  line="run $((i + 1)):"
  for ((j = 0; j < 3; j++)); do
    m=${modes[(i + j) % 3]}
    read -r wall cpu < <(one "$m")
    echo "$wall" >>"$work/$m.ms"; echo "$cpu" >>"$work/$m.cpu"; line+=" $m=${wall}ms(cpu ${cpu})"
  done
  echo "$line"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for k in ms cpu; do
  off=$(median <"$work/off.$k"); on=$(median <"$work/on.$k"); pod=$(median <"$work/podman.$k")
  paired=$(paste "$work/on.$k" "$work/off.$k" | awk '{print $1 - $2}' | median)
  echo "median $k: off=$off on=$on podman=$pod; median per-run difference on - off: $paired"
  awk -v off="$off" -v on="$on" -v pod="$pod" -v k="$k" \
    'BEGIN {printf "  %s: verification %+.1f %% (on/off = %.3f); gantry(on)/podman = %.2f\n", k, (on/off-1)*100, on/off, on/pod}'
done
