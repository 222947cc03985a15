#!/usr/bin/env bash
# confined.sh - lifecycle with a fully confined config, and exec latency, for runc-compatible runtimes.
#
# usage: bench/confined.sh [-n RUNS] RUNTIME...        (as root; crun: ../shared/testbed/crun-hybrid)
#
# Bundle: busybox /bin/true with runc's default spec plus memory/pids/cpu limits (no blkio: this host has no
# blkio.weight, which crun would fail on), a device allow-list and
# podman's default seccomp profile (/usr/share/containers/seccomp.json from the containers-common package),
# reduced to the rules that apply to an x86_64 container with the default capabilities.
# 1. `RT run` of that bundle RUNS times per runtime, interleaved; median and p90 in ms.
# 2. exec latency: one `sleep` container per runtime, `RT exec ID /bin/true` RUNS times; median and p90 in ms.
# Every container gets an absolute cgroupsPath /confined.XXXX/<id>; everything is removed at exit.
set -euo pipefail
export LC_ALL=C
runs=50
while getopts n: opt; do case $opt in n) runs=$OPTARG ;; *) exit 2 ;; esac; done
shift $((OPTIND - 1))
(($# > 0)) || { echo "usage: $0 [-n RUNS] RUNTIME..." >&2; exit 2; }
((EUID == 0)) || { echo "confined.sh: run as root" >&2; exit 1; }
profile=/usr/share/containers/seccomp.json
[[ -f $profile ]] || { echo "confined.sh: $profile missing (apt-get install containers-common)" >&2; exit 1; }
rts=(); for r; do rts+=("$(realpath "$(command -v "$r")")"); done
work=$(mktemp -d /tmp/confined.XXXXXX); cg=${work##*/}
cleanup() {
  local k d
  for k in "${!rts[@]}"; do for d in "$work/state$k"/*/; do [[ -d $d ]] && "${rts[k]}" --root "$work/state$k" delete -f "$(basename "$d")" &>/dev/null; done; done
  for d in /sys/fs/cgroup/*/"$cg" /sys/fs/cgroup/"$cg"; do rmdir "$d"/*/ "$d" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work"/rootfs/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$work/rootfs/bin/"
for a in true sleep sh; do ln -s busybox "$work/rootfs/bin/$a"; done
(cd "$work" && runc spec)
jq --arg root "$work/rootfs" --slurpfile sc "$profile" '
  .process.terminal = false | .process.args = ["/bin/true"] | .root.path = $root
  | .linux.resources = {
      memory: {limit: 268435456, reservation: 134217728},
      pids: {limit: 512},
      cpu: {shares: 512, quota: 50000, period: 100000},
      devices: [{allow: false, access: "rwm"}, {allow: true, type: "c", major: 1, minor: 3, access: "rwm"}]
    }
  | .linux.seccomp = ($sc[0] | {defaultAction, defaultErrnoRet, archMap, syscalls}
      | .architectures = [.archMap[] | select(.architecture == "SCMP_ARCH_X86_64") | .architecture, .subArchitectures[]]
      | del(.archMap)
      | .syscalls = [.syscalls[]
          | select((.includes.caps // []) == [])
          | select((.includes.arches // []) == [] or (.includes.arches | index("amd64")))
          | select((.excludes.arches // []) | index("amd64") | not)
          | del(.includes, .excludes, .comment)])
  ' "$work/config.json" > "$work/tmpl.json"
stats() { sort -n | awk '{a[NR]=$1} END {m = NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; p=int(0.9*NR); if (p<0.9*NR) p++; printf "%.2f %.2f\n", m/1000, a[p]/1000}'; }
bundle() { mkdir -p "$work/b$1"; jq --arg cg "/$cg/$2" '.linux.cgroupsPath = $cg' "$work/tmpl.json" > "$work/b$1/config.json"; }
n=${#rts[@]}
for ((i = 0; i < runs; i++)); do
  for ((j = 0; j < n; j++)); do
    k=$(((i + j) % n)); id=c$k-$i; bundle "$k" "$id"
    t0=$EPOCHREALTIME
    "${rts[k]}" --root "$work/state$k" run -b "$work/b$k" "$id" </dev/null >/dev/null 2>>"$work/err$k" || { echo "run failed: ${rts[k]}" >&2; tail -3 "$work/err$k" >&2; exit 1; }
    t1=$EPOCHREALTIME; echo $((${t1/./} - ${t0/./})) >> "$work/run$k"
  done
done
for k in "${!rts[@]}"; do
  bundle "$k" "x$k"; jq '.process.args = ["sleep", "1000"]' "$work/b$k/config.json" > "$work/b$k/c" && mv "$work/b$k/c" "$work/b$k/config.json"
  "${rts[k]}" --root "$work/state$k" run -d -b "$work/b$k" "x$k" </dev/null >/dev/null 2>>"$work/err$k"
done
for ((i = 0; i < runs; i++)); do
  for ((j = 0; j < n; j++)); do
    k=$(((i + j) % n)); t0=$EPOCHREALTIME
    "${rts[k]}" --root "$work/state$k" exec "x$k" /bin/true </dev/null >/dev/null 2>>"$work/err$k" || { echo "exec failed: ${rts[k]}" >&2; tail -3 "$work/err$k" >&2; exit 1; }
    t1=$EPOCHREALTIME; echo $((${t1/./} - ${t0/./})) >> "$work/exec$k"
  done
done
printf '%-16s %14s %10s %14s %10s\n' runtime run_median_ms run_p90 exec_median_ms exec_p90
for k in "${!rts[@]}"; do
  read -r rm rp < <(stats < "$work/run$k"); read -r em ep < <(stats < "$work/exec$k")
  printf '%-16s %14s %10s %14s %10s\n' "$(basename "${rts[k]}")" "$rm" "$rp" "$em" "$ep"
done
