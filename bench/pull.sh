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
#   podman5 podman 5.4 from Debian trixie (scripts/trixie-sigstore.sh run; built once per machine when missing)
#           with a sigstoreSigned policy naming the same public key (so podman fetches and checks the signature),
#           overlay storage on the same tmpfs; timed inside the chroot (`time` in bash there), so the chroot's
#           namespace setup is not counted; then `podman rmi -af` (not timed)
#   podman4 Debian 12's podman 4.3 (host), --signature-policy insecureAcceptAnything: it is built without
#           sigstore support, so it cannot verify; overlay storage on the same tmpfs; then `podman rmi` (not timed)
# Prints each run (wall and CPU ms), the medians of each, on/off, the median per-run difference on - off (runs are
# interleaved, so this pairs runs made under the same load), on/podman5, on/podman4, and the load average before
# and after.
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
trixie=$here/../scripts/trixie-sigstore.sh
"$trixie" build >/dev/null || { echo "pull.sh: the trixie chroot (podman 5.4) could not be built" >&2; exit 1; }

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

# podman 5.4 in the trixie chroot: its own config, storage and run state under $work/p5 (the chroot sees $work at
# the same path); the chroot's registries.d keeps sigstore signatures as `.sig` attachments, as gantry writes them.
p5=$work/p5
mkdir -p "$p5"
cat >"$p5/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$p5/run"
graphroot = "$p5/root"
EOF
cat >"$p5/registries.conf" <<EOF
[[registry]]
location = "$addr"
insecure = true
EOF
cat >"$p5/containers.conf" <<EOF
[engine]
events_logger = "file"
events_logfile_path = "$p5/events.log"
tmp_dir = "$p5/tmp"
EOF
cat >"$p5/policy.json" <<EOF
{"default":[{"type":"reject"}],
 "transports":{"docker":{"$addr/bench":[{"type":"sigstoreSigned","keyPath":"$work/k.pub"}]}}}
EOF
"$gantry" trust generate-key "$work/stranger" 2>/dev/null
sed "s|$work/k.pub|$work/stranger.pub|" "$p5/policy.json" >"$p5/stranger.json"
# Runs CMD... in the chroot with this podman's configuration.
in_trixie() {
  TRIXIE_SHARE=$work CONTAINERS_STORAGE_CONF=$p5/storage.conf CONTAINERS_REGISTRIES_CONF=$p5/registries.conf \
    CONTAINERS_CONF=$p5/containers.conf PODMAN_IGNORE_CGROUPSV1_WARNING=1 "$trixie" run "$@"
}
# Runs "podman pull" under `time` inside the chroot, then removes the image; prints "REAL USER SYS".
podman5() {
  in_trixie bash -c '
      TIMEFORMAT="%R %U %S"
      { time podman pull -q --signature-policy "$1" "$2" >/dev/null 2>"$3"; } 2>&1 ||
        { echo "pull.sh: podman 5.4 pull failed:" >&2; cat "$3" >&2; exit 1; }
      podman rmi -af >/dev/null' podman5 "$p5/policy.json" "$image" "$p5/pull.err"
}
storage_driver=$(in_trixie podman info --format \
  '{{.Store.GraphDriverName}} (native overlay diff: {{index .Store.GraphStatus "Native Overlay Diff"}})')
# The podman5 column must be a verifying pull: a policy naming another key has to refuse the image.
if in_trixie podman pull -q --signature-policy "$p5/stranger.json" "$image" >/dev/null 2>"$p5/stranger.err"; then
  echo "pull.sh: podman 5.4 accepted $image under a policy naming another key: it is not verifying" >&2; exit 1
fi
grep -q rejected "$p5/stranger.err" ||
  { echo "pull.sh: podman 5.4 failed for another reason than the signature:" >&2; cat "$p5/stranger.err" >&2; exit 1; }
echo "podman 5.4 (trixie chroot) storage driver: $storage_driver; refuses the image under another key;" \
  "host $(podman --version)"

# One timed pull: prints "WALL_MS CPU_MS" (CPU: user + system of the pulling process and its children).
one() {
  local mode=$1 t
  TIMEFORMAT='%R %U %S'
  case $mode in
    off | on)
      t=$( { time "$gantry" --root "$work/store" --policy "$work/$mode.json" -q pull "$image" >/dev/null; } 2>&1)
      rm -rf "$work/store" ;;
    podman5)
      t=$(podman5) ;;
    podman4)
      t=$( { time podman pull -q --signature-policy "$work/off.json" "$image" >/dev/null; } 2>&1)
      podman rmi -af >/dev/null ;;
  esac
  awk '{printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000}' <<<"$t"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

modes=(off on podman5 podman4)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in "${modes[@]}"; do one "$m" >/dev/null; done # warm the page cache and the registry
for ((i = 0; i < runs; i++)); do
  line="run $((i + 1)):"
  for ((j = 0; j < ${#modes[@]}; j++)); do
    m=${modes[(i + j) % ${#modes[@]}]}
    read -r wall cpu < <(one "$m")
    echo "$wall" >>"$work/$m.ms"; echo "$cpu" >>"$work/$m.cpu"; line+=" $m=${wall}ms(cpu ${cpu})"
  done
  echo "$line"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for k in ms cpu; do
  off=$(median <"$work/off.$k"); on=$(median <"$work/on.$k")
  m5=$(median <"$work/podman5.$k"); m4=$(median <"$work/podman4.$k")
  paired=$(paste "$work/on.$k" "$work/off.$k" | awk '{print $1 - $2}' | median)
  echo "median $k: off=$off on=$on podman5=$m5 podman4=$m4; median per-run difference on - off: $paired"
  awk -v off="$off" -v on="$on" -v p5="$m5" -v p4="$m4" -v k="$k" 'BEGIN {
    printf "  %s: verification %+.1f %% (on/off = %.3f); gantry(on)/podman5(sigstoreSigned) = %.2f;", k, (on/off-1)*100, on/off, on/p5
    printf " gantry(on)/podman4(insecure) = %.2f\n", on/p4 }'
done
