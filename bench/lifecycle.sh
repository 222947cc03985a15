#!/usr/bin/env bash
# bench/lifecycle.sh - the lifecycle table of BENCHMARKS.md: gantry-runtime beside plain runc and plain crun.
#
# usage: bench/lifecycle.sh [-n RUNS] [-c CROWD] [GANTRY_BINARY]       (as root, from the repository root)
#
# GANTRY_BINARY defaults to target/release/gantry-runtime (build it with `cargo build --release -p gantry-runtime`).
# Four columns: gantry-runtime as built (wherever it sits, so `create`/`exec` re-exec it through a read-only bind of
# itself, see crates/gantry-runtime/src/seal.rs), the same file bind-mounted read-only ("gantry-ro": no re-exec),
# plain `runc` and plain `crun` (not the crun-hybrid wrapper: the cgroup2 mount is hidden here instead).
# Rows:
#   run back to back     median of ../shared/bench/lifecycle.sh (RUNS timed runs, interleaved)
#   run p90              its p90
#   run isolated         median of 20 `run`s, each after 200 ms of idle
#   CPU per run          user+system CPU of RUNS/2 `run`s (the runtime and everything it waited for) / count
#   peak RSS of create   ../shared/bench/lifecycle.sh (GNU time %M, max of 5)
#   syscalls per run     `strace -f -c RT run` total calls (median of 3)
#   exec / state         median of 30 `exec ID /bin/true` / `state ID` on a running `sleep` container
#   20 parallel run      wall time of 20 concurrent `run`s, median of 5 batches
#   create, 0 / CROWD    median of 40 `create`s (each deleted again) with no (20 before the crowd, 20 after) / CROWD
#                        created containers present
#   kernel only          the kernel's part of that: median of 40 makings and removals, by util-linux, of what a
#                        container has (cgroups, namespaces, procfs/sysfs/tmpfs/mqueue/devpts mounts) beside no
#                        containers / the first runtime's CROWD; the last row takes its extra time off each
#                        runtime's crowd figure
# The machine's load (uptime) is printed before and after: on a shared machine the numbers are indicative only,
# compare the ratios. Everything runs in one private mount namespace; every container gets an absolute
# cgroupsPath /benchlc.XXXXXX/<id>; every container, cgroup and bind mount is removed at exit, even on failure.
set -euo pipefail
export LC_ALL=C

runs=100 crowd=1000
usage() { echo "usage: $0 [-n RUNS] [-c CROWD] [GANTRY_BINARY]" >&2; exit 2; }
while getopts n:c:h opt; do
  case $opt in n) runs=$OPTARG ;; c) crowd=$OPTARG ;; *) usage ;; esac
done
shift $((OPTIND - 1))
(($# <= 1 && runs >= 2)) || usage
((EUID == 0)) || { echo "bench/lifecycle.sh: must run as root" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gantry=$(realpath "${1:-$here/target/release/gantry-runtime}")
shared=$here/../shared/bench/lifecycle.sh
[[ -x $gantry ]] || { echo "bench/lifecycle.sh: $gantry missing: cargo build --release -p gantry-runtime" >&2; exit 1; }
[[ -x $shared ]] || { echo "bench/lifecycle.sh: $shared missing (the shared bench tools)" >&2; exit 1; }

if [[ -z ${BENCH_LC_NS:-} ]]; then
  pkgs=()
  dpkg -s busybox-static &>/dev/null || pkgs+=(busybox-static)
  for t in jq strace runc crun; do command -v $t >/dev/null || pkgs+=("$t"); done
  [[ -x /usr/bin/time ]] || pkgs+=(time)
  if ((${#pkgs[@]})); then
    { apt-get install -y -qq "${pkgs[@]}" || { apt-get update -qq && apt-get install -y -qq "${pkgs[@]}"; }; } >&2
  fi
  exec env -i PATH="$PATH" ${TMPDIR:+TMPDIR="$TMPDIR"} BENCH_LC_NS=1 \
    unshare --mount --propagation private -- "$BASH" "${BASH_SOURCE[0]}" -n "$runs" -c "$crowd" "$gantry"
fi
load_before=$(uptime)
if [[ $(stat -fc %T /sys/fs/cgroup) != cgroup2fs ]] && mountpoint -q /sys/fs/cgroup/unified; then
  # crun 1.8 refuses the hybrid layout: hide the cgroup2 mount in this namespace only, for every runtime alike.
  mount -t tmpfs -o size=64m benchlc /sys/fs/cgroup/unified
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/benchlc.XXXXXX")
cg=${work##*/}
names=(gantry-runtime gantry-ro runc crun)
rts=("$gantry" "$work/ro/gantry-runtime" "$(realpath "$(command -v runc)")" "$(realpath "$(command -v crun)")")
shopt -s nullglob
cleanup() {
  local k d
  for k in "${!rts[@]}"; do
    for d in "$work/state$k"/*/; do
      d=${d%/}
      "${rts[k]}" --root "$work/state$k" delete -f "${d##*/}" &>/dev/null || true
    done
  done
  for d in /sys/fs/cgroup/*/"$cg" /sys/fs/cgroup/"$cg"; do
    rmdir "$d"/*/ "$d" 2>/dev/null || true
  done
  umount "$work/ro/gantry-runtime" 2>/dev/null || true
  grep -q " $work/" /proc/self/mountinfo || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/ro"
touch "$work/ro/gantry-runtime"
mount --bind "$gantry" "$work/ro/gantry-runtime"
mount -o remount,bind,ro "$work/ro/gantry-runtime"


echo "# load before: $load_before"
for k in "${!rts[@]}"; do echo "# ${names[k]}: ${rts[k]} ($("${rts[k]}" --version 2>&1 | head -1))"; done
echo "# $(nproc) CPUs, kernel $(uname -r), $runs runs, crowd of $crowd"

# 1. The shared script: back-to-back runs and the peak RSS of create.
echo "## ../shared/bench/lifecycle.sh -n $runs ${rts[*]}"
"$shared" -n "$runs" "${rts[@]}" | tee "$work/shared.out"
med=() p90=() rss=()
i=0
while read -r _ m p r _; do
  med[i]=$m p90[i]=$p rss[i]=$((r / 1024)).$((r % 1024 * 10 / 1024)) i=$((i + 1))
done < <(sed -n '/^runtime /,/^$/p' "$work/shared.out" | sed '1d;/^$/d')
((i == ${#rts[@]})) || { echo "bench/lifecycle.sh: cannot read the shared script's table" >&2; exit 1; }


# 2. Own measures, one bundle per container: busybox rootfs, runc's default spec made portable.
mkdir -p "$work"/rootfs/{bin,dev,etc,proc,sys,tmp}
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do ln -s busybox "$work/rootfs/bin/$a" 2>/dev/null || true; done
(cd "$work" && runc spec)
tmpl=$(jq --arg root "$work/rootfs" --arg cg "/$cg/@ID@" '
  .ociVersion = "1.0.2" | .process.terminal = false | .process.args = ["/bin/true"] | .hostname = "bench"
  | .root.path = $root | .linux.cgroupsPath = $cg' "$work/config.json")
sleeper=$(jq '.process.args = ["/bin/sleep", "100000"]' <<<"$tmpl")
# bundle K ID [TEMPLATE]: a bundle directory for container ID of runtime K; prints its path
bundle() {
  local b="$work/b$1-$2"
  mkdir -p "$b"
  local t=${3:-$tmpl}
  printf '%s\n' "${t//@ID@/$2}" > "$b/config.json"
  echo "$b"
}
rt() { local k=$1; shift; "${rts[k]}" --root "$work/state$k" "$@" </dev/null >/dev/null 2>>"$work/err$k"; }
fail() { echo "bench/lifecycle.sh: ${names[$1]}: $2 failed:" >&2; tail -5 "$work/err$1" >&2; exit 1; }
# median FILE: median of microsecond samples, in ms
median() { sort -n "$1" | awk '{ a[NR] = $1 } END {
  m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f\n", m / 1000 }'; }
us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
n=${#rts[@]} seq=0
nextid() { seq=$((seq + 1)); id=b$$-$1-$seq; }

echo "## run isolated (200 ms idle before each)"
for ((i = 0; i < 20; i++)); do
  for ((j = 0; j < n; j++)); do
    k=$(((i + j) % n)); nextid "$k"; b=$(bundle "$k" "$id")
    sleep 0.2
    t0=$EPOCHREALTIME
    rt "$k" run -b "$b" "$id" || fail "$k" "run $id"
    t1=$EPOCHREALTIME
    echo $((${t1/./} - ${t0/./})) >> "$work/iso$k"
    rm -rf "$b"
  done
done

echo "## CPU per run"
cpu_runs=$((runs / 2))
for k in "${!rts[@]}"; do
  ids=()
  for ((i = 0; i < cpu_runs; i++)); do nextid "$k"; ids+=("$id"); bundle "$k" "$id" >/dev/null; done
  export RT="${rts[k]}" ST="$work/state$k" W="$work" K=$k
  /usr/bin/time -f '%U %S' -o "$work/cpu$k" "$BASH" -c \
    'for id; do "$RT" --root "$ST" run -b "$W/b$K-$id" "$id" </dev/null >/dev/null 2>&1 || exit 1; done' _ "${ids[@]}" \
    || fail "$k" "CPU loop"
  cpu[k]=$(tail -1 "$work/cpu$k" | awk -v n="$cpu_runs" '{ printf "%.2f", ($1 + $2) * 1000 / n }')
  for id in "${ids[@]}"; do rm -rf "$work/b$k-$id"; done
done

echo "## syscalls per run"
for k in "${!rts[@]}"; do
  : > "$work/sys$k"
  for ((i = 0; i < 3; i++)); do
    nextid "$k"; b=$(bundle "$k" "$id")
    strace -f -c -o "$work/strace$k" "${rts[k]}" --root "$work/state$k" run -b "$b" "$id" \
      </dev/null >/dev/null 2>>"$work/err$k" || fail "$k" "strace run"
    awk '$NF == "total" { print $4 }' "$work/strace$k" >> "$work/sys$k"
  done
  sys[k]=$(sort -n "$work/sys$k" | sed -n 2p)
done

echo "## exec and state"
for k in "${!rts[@]}"; do
  nextid "$k"; sid[k]=$id
  rt "$k" run -d -b "$(bundle "$k" "$id" "$sleeper")" "$id" || fail "$k" "run -d $id"
done
for ((i = 0; i < 30; i++)); do
  for ((j = 0; j < n; j++)); do
    k=$(((i + j) % n))
    t0=$EPOCHREALTIME; rt "$k" exec "${sid[k]}" /bin/true || fail "$k" exec; t1=$EPOCHREALTIME
    echo $((${t1/./} - ${t0/./})) >> "$work/exec$k"
    t0=$EPOCHREALTIME; rt "$k" state "${sid[k]}" || fail "$k" state; t1=$EPOCHREALTIME
    echo $((${t1/./} - ${t0/./})) >> "$work/state$k.t"
  done
done
for k in "${!rts[@]}"; do rt "$k" delete -f "${sid[k]}" || fail "$k" "delete -f"; done

echo "## 20 parallel run"
for ((i = 0; i < 5; i++)); do
  for ((j = 0; j < n; j++)); do
    k=$(((i + j) % n)) pids=() bs=()
    for ((p = 0; p < 20; p++)); do nextid "$k"; bs+=("$id"); bundle "$k" "$id" >/dev/null; done
    t0=$EPOCHREALTIME
    for id in "${bs[@]}"; do rt "$k" run -b "$work/b$k-$id" "$id" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || fail "$k" "parallel run"; done
    t1=$EPOCHREALTIME
    echo $((${t1/./} - ${t0/./})) >> "$work/par$k"
    for id in "${bs[@]}"; do rm -rf "$work/b$k-$id"; done
  done
done

echo "## create with 0 and $crowd containers present"
# creates K FILE COUNT: COUNT timed creates (each deleted again, untimed) into FILE
creates() {
  local k=$1 i b t0 t1
  for ((i = 0; i < $3; i++)); do
    nextid "$k"; b=$(bundle "$k" "$id")
    t0=$EPOCHREALTIME; rt "$k" create -b "$b" "$id" || fail "$k" "create $id"; t1=$EPOCHREALTIME
    echo $((${t1/./} - ${t0/./})) >> "$2"
    rt "$k" delete -f "$id" || fail "$k" "delete $id"
    rm -rf "$b"
  done
}
# The kernel's part of a crowd, which every runtime pays, measured with no runtime involved: 15 times, what a
# container's create and delete ask of the kernel, made with util-linux and a shell: a cgroup in every v1
# hierarchy, a process that moves itself there in new mount, UTS, IPC, network and PID namespaces and mounts
# procfs, sysfs, a tmpfs, mqueue and a devpts instance (superblocks of its own, as a container's are), then exits,
# and the cgroups removed; beside no containers and beside the first runtime's crowd. The process starts are the
# same on both sides, so they cancel out of the difference, which is the figure used below. (Removing a memory
# cgroup makes the kernel walk the LRU lists of every superblock under cgroup_mutex; pivot_root visits every task:
# both grow with a crowd, whoever made it.)
hier=()
for d in /sys/fs/cgroup/*/; do [[ $(stat -fc %T "$d") == cgroupfs ]] && hier+=("${d%/}/$cg"); done
((${#hier[@]})) && mkdir -p "${hier[@]}"
# A v1 cpuset cgroup takes no process until it has CPUs and memory nodes: copy its parent's, as runtimes do.
cpuset_dir=/sys/fs/cgroup/cpuset/$cg
cpuset_init() { # cpuset_init DIR
  [[ -e $1/cpuset.cpus ]] || return 0
  cat "${1%/*}/cpuset.cpus" > "$1/cpuset.cpus"
  cat "${1%/*}/cpuset.mems" > "$1/cpuset.mems"
}
[[ ! -d $cpuset_dir ]] || cpuset_init "$cpuset_dir"
probe() { # probe FILE
  local i t0 t1
  ((${#hier[@]})) || return 0
  for ((i = 0; i < 40; i++)); do
    t0=$EPOCHREALTIME
    mkdir "${hier[@]/%//probe$i}"
    cpuset_init "$cpuset_dir/probe$i"
    unshare --mount --uts --ipc --net --pid --fork --propagation private "$BASH" -c '
      for d; do echo 0 > "$d/cgroup.procs"; done
      mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t tmpfs tmpfs /dev &&
        mkdir /dev/mqueue /dev/pts && mount -t mqueue mqueue /dev/mqueue &&
        mount -t devpts -o newinstance devpts /dev/pts' _ "${hier[@]/%//probe$i}" ||
      { echo "bench/lifecycle.sh: the kernel-only probe failed" >&2; exit 1; }
    rmdir "${hier[@]/%//probe$i}" 2>/dev/null || { sleep 0.01; rmdir "${hier[@]/%//probe$i}"; }
    t1=$EPOCHREALTIME
    echo $((${t1/./} - ${t0/./})) >> "$1"
  done
}
# Per runtime: 20 creates with none present, the crowd, 40 with the crowd, the crowd deleted, 20 more with none
# (both "none" phases make its median, so a drift of the machine during the crowd phase shows up on both sides).
for k in "${!rts[@]}"; do
  creates "$k" "$work/c0$k" 20
  ((k != 0)) || probe "$work/mk0"
  crowd_ids=() crowd_ok=1 slow=0
  for ((i = 0; i < crowd; i++)); do
    nextid "$k"; crowd_ids+=("$id"); b=$(bundle "$k" "$id")
    t0=$EPOCHREALTIME
    rt "$k" create -b "$b" "$id" || {
      echo "bench/lifecycle.sh: ${names[k]}: create $id, with $i present, failed:" >&2; tail -3 "$work/err$k" >&2
      crowd_ok=0; break
    }
    t1=$EPOCHREALTIME; ((${t1/./} - ${t0/./} < slow)) || slow=$((${t1/./} - ${t0/./}))
  done
  echo "# ${names[k]}: slowest of the $crowd crowd creates: $((slow / 1000)) ms"
  if ((crowd_ok)); then creates "$k" "$work/cN$k" 40; else echo 0 > "$work/cN$k"; fi
  ((k != 0 || !crowd_ok)) || probe "$work/mkN"
  for id in "${crowd_ids[@]}"; do rt "$k" delete -f "$id" || true; rm -rf "$work/b$k-$id"; done
  sleep 2 # the crowd's network namespaces are torn down by the kernel in the background
  creates "$k" "$work/c0$k" 20
done
if [[ -s $work/mk0 && -s $work/mkN ]]; then
  mk0=$(median "$work/mk0") mkN=$(median "$work/mkN")
  mkdir_row="| kernel only: a container's cgroups, namespaces and mounts made and removed by util-linux, beside 0 / $crowd containers | $mk0 / $mkN ms | | | | |"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
row() { # row LABEL UNIT V0 V1 V2 V3: one table row, with gantry-runtime/crun and gantry-ro/crun (none for ratios)
  local last="$(ratio "$3" "$6") / $(ratio "$4" "$6")"
  [[ $2 != '×' ]] || last=
  printf '| %s | %s %s | %s %s | %s %s | %s %s | %s |\n' "$1" "$3" "$2" "$4" "$2" "$5" "$2" "$6" "$2" "$last"
}
for k in "${!rts[@]}"; do
  iso[k]=$(median "$work/iso$k") ex[k]=$(median "$work/exec$k") stt[k]=$(median "$work/state$k.t")
  par[k]=$(median "$work/par$k") c0[k]=$(median "$work/c0$k") cN[k]=$(median "$work/cN$k")
done
echo
echo "load before: $load_before"
echo "load after:  $(uptime)"
echo
echo "| measure | gantry-runtime | gantry-ro | runc | crun | gantry / crun, gantry-ro / crun |"
echo "|---|---|---|---|---|---|"
row '`run` back to back (median)' ms "${med[@]}"
row '`run` back to back (p90)' ms "${p90[@]}"
row '`run` isolated (200 ms idle first)' ms "${iso[@]}"
row 'CPU per `run`' ms "${cpu[@]}"
row 'peak RSS of `create`' MiB "${rss[@]}"
row 'syscalls per `run`' '' "${sys[@]}"
row '`exec`' ms "${ex[@]}"
row '`state`' ms "${stt[@]}"
row '20 parallel `run` (wall)' ms "${par[@]}"
row '`create`, none present' ms "${c0[@]}"
row "\`create\`, $crowd present" ms "${cN[@]}"
for k in "${!rts[@]}"; do cr[k]=$(ratio "${cN[k]}" "${c0[k]}"); done
row "\`create\` $crowd present / none" '×' "${cr[@]}"
if [[ -n ${mkdir_row:-} ]]; then
  echo "$mkdir_row"
  # The runtime's own part: the crowd's extra time less the kernel's extra time, never below none (1.00: the
  # runtime adds nothing beyond what the kernel-only probe gained beside the crowd).
  for k in "${!rts[@]}"; do
    cx[k]=$(awk -v n="${cN[k]}" -v z="${c0[k]}" -v a="$mkN" -v b="$mk0" 'BEGIN {
      own = (n - z) - (a - b); if (own < 0) own = 0
      if (z > 0) printf "%.2f", (z + own) / z; else print "-" }')
  done
  row "\`create\` $crowd present / none, the kernel's extra taken off" '×' "${cx[@]}"
fi
