#!/bin/bash
# Runs inside the systemd + pure cgroup v2 guest (tests/v2vm/run.sh starts it): targeted checks of gantry-runtime
# on the host layout real users have. One PASS/FAIL line per check, then "N passed, N failed"; exit 1 on any
# failure. Every check cleans up its containers, cgroups and units, pass or fail.
#
#   guest.sh RUNTIME_BINARY [BENCH_OUT]
set -uo pipefail
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

SRC_BIN=${1:?usage: guest.sh RUNTIME_BINARY [BENCH_OUT]}
BENCH_OUT=${2:-}
RT=/usr/local/bin/gantry-runtime
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) # checks run in their own bash (see check): no BASH_SOURCE there
install -m 0755 "$SRC_BIN" "$RT"
STATE=${GV2_STATE:-/run/gantry-v2}      # state on the tmpfs /run ...
WORK=/var/lib/gantry-v2   # ... bundles on the disk (ext4): podman's layout
CG=/sys/fs/cgroup
rm -rf "$WORK" "$STATE"; mkdir -p "$WORK" "$STATE"
pass=0 fail=0 failed=()

log() { printf '    %s\n' "$*"; }

# A busybox rootfs, made once and copied per bundle.
BASE=$WORK/base-rootfs
mkdir -p "$BASE"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$BASE/bin/busybox"
for a in $("$BASE/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$BASE/bin/$a"; done
echo 'root:x:0:0:root:/:/bin/sh' > "$BASE/etc/passwd"

# mkbundle DIR CGROUPS_PATH SCRIPT [RESOURCES_JSON] [EXTRA_LINUX_JSON]: a runc-like config running `sh -c SCRIPT`.
mkbundle() {
  local dir=$1 cgpath=$2 script=$3 res=${4:-'{}'} extra=${5:-}
  mkdir -p "$dir"; cp -a "$BASE" "$dir/rootfs"
  script=${script//\\/\\\\}; script=${script//\"/\\\"}
  cat > "$dir/config.json" <<JSON
{
  "ociVersion": "1.2.0",
  "process": {
    "terminal": false, "user": {"uid": 0, "gid": 0},
    "args": ["/bin/sh", "-c", "$script"],
    "env": ["PATH=/bin", "HOME=/"], "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_KILL","CAP_SETGID","CAP_SETUID","CAP_MKNOD","CAP_SYS_CHROOT"],
      "effective": ["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_KILL","CAP_SETGID","CAP_SETUID","CAP_MKNOD","CAP_SYS_CHROOT"],
      "permitted": ["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_KILL","CAP_SETGID","CAP_SETUID","CAP_MKNOD","CAP_SYS_CHROOT"]
    },
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "v2",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid","strictatime","mode=755","size=65536k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid","noexec","nodev","ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid","noexec","nodev","relatime","ro"]}
  ],
  "linux": {
    "cgroupsPath": "$cgpath",
    "resources": $res,
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}, {"type": "cgroup"}]
    $extra
  }
}
JSON
}

# check NAME: runs check_NAME in its own shell (errexit on, at most CHECK_TIMEOUT seconds), then cleans up
# (containers deleted, cgroups removed, units stopped) whatever happened.
CHECK_TIMEOUT=${CHECK_TIMEOUT:-300}
check() {
  local name=$1 out rc t0=$SECONDS
  # Output goes to a file, not a pipe: a container left running by a timed-out check would hold a pipe open.
  timeout -k 5 "$CHECK_TIMEOUT" bash -c "set -eo pipefail; check_$name" > "$WORK/check.log" 2>&1 < /dev/null
  rc=$?
  out=$(cat "$WORK/check.log")
  ((rc != 124)) || out+=$'\n'"timed out after $CHECK_TIMEOUT s"
  cleanup_all
  if ((rc == 0)); then
    pass=$((pass + 1)); echo "PASS $name ($((SECONDS - t0)) s)"
  else
    fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name ($((SECONDS - t0)) s)"
  fi
  [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    /'
}

cleanup_all() {
  local id d
  for id in $("$RT" --root "$STATE" list -q 2>/dev/null); do "$RT" --root "$STATE" delete -f "$id" >/dev/null 2>&1; done
  for d in $(find "$CG/gv2" -mindepth 1 -depth -type d 2>/dev/null); do rmdir "$d" 2>/dev/null; done
  rmdir "$CG/gv2" 2>/dev/null
  for u in $(systemctl list-units --all --plain --no-legend 'gv2-*' 2>/dev/null | awk '{print $1}'); do
    systemctl stop "$u" >/dev/null 2>&1
  done
  rm -rf "${WORK:?}"/b-*
  return 0
}

rt() { "$RT" --root "$STATE" "$@"; }
expect() { # expect WHAT ACTUAL EXPECTED
  if [ "$2" != "$3" ]; then echo "$1: got '$2', want '$3'"; return 1; fi
}
wait_status() { # wait_status ID STATUS: poll `state` for up to 30 s
  local i
  for i in $(seq 300); do
    rt state "$1" 2>/dev/null | grep -q "\"status\": *\"$2\"" && return 0
    sleep 0.1
  done
  echo "$1 never reached $2: $(rt state "$1" 2>&1)"; return 1
}

# ------------------------------------------------------------------ checks
# Issue 7 point 1: bundle on the disk, state on the tmpfs /run (different filesystems).
check_lifecycle_bundle_on_disk_state_on_run() {
  mkbundle "$WORK/b-life" /gv2/life 'echo hello > /tmp/out; sleep 600'
  rt create --bundle "$WORK/b-life" life
  wait_status life created
  rt start life
  wait_status life running
  expect "output" "$(cat "$WORK/b-life/rootfs/tmp/out")" hello
  rt kill life KILL
  wait_status life stopped
  rt delete life
  [ ! -e "$CG/gv2/life" ] || { echo "cgroup left"; return 1; }
  [ ! -e "$STATE/life" ] || { echo "state left"; return 1; }
}

# Issue 7 point 2: a bundle on the noexec tmpfs /run.
check_bundle_on_run() {
  local b=/run/gv2-b-run rc=0
  rm -rf "$b"; mkbundle "$b" /gv2/onrun 'echo ran'
  out=$(rt run --bundle "$b" onrun) || rc=$?
  rm -rf "$b"
  expect "exit" $rc 0 && expect "output" "$out" ran
}

# memory.max seen inside, a 100 MB allocation OOM-killed under 64 MiB (exit 137), the oom_kill event recorded.
check_memory_oom() {
  mkbundle "$WORK/b-mem" /gv2/mem 'cat /sys/fs/cgroup/memory.max; head -c 100000000 /dev/zero | tail; echo tail=$?; sleep 600' \
    '{"memory": {"limit": 67108864, "swap": 67108864}}'
  rt create --bundle "$WORK/b-mem" mem; rt start mem
  local i; for i in $(seq 600); do grep -q '^oom_kill [1-9]' "$CG/gv2/mem/memory.events" && break; sleep 0.1; done
  expect "memory.events oom_kill" "$(awk '/^oom_kill/{print ($2>0)}' "$CG/gv2/mem/memory.events")" 1
  local ev; ev=$(rt events --stats mem)
  echo "$ev" | grep -q '"memory"' || { echo "events --stats: $ev"; return 1; }
  rt delete -f mem
  # the same allocation as the container's own process: it is killed, and `run` exits 137
  mkbundle "$WORK/b-mem2" /gv2/mem2 'head -c 100000000 /dev/zero | exec tail' '{"memory": {"limit": 67108864, "swap": 67108864}}'
  local rc=0
  out=$(rt run --bundle "$WORK/b-mem2" mem2) || rc=$?
  expect "run exit status" $rc 137
}

check_pids_max() {
  mkbundle "$WORK/b-pids" /gv2/pids 'cat /sys/fs/cgroup/pids.max; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 30 & done 2>&1 | head -1; echo started=$(ls /proc | grep -c "^[0-9]")' \
    '{"pids": {"limit": 6}}'
  out=$(rt run --bundle "$WORK/b-pids" pids)
  log "$out"
  expect "pids.max inside" "$(echo "$out" | head -1)" 6
  echo "$out" | grep -qi "fork\|Resource temporarily unavailable" || { echo "no fork refused: $out"; return 1; }
}

# cpu.max: 20 % of one CPU; a busy loop is throttled (cpu.stat nr_throttled, and usage/wall time).
check_cpu_max() {
  mkbundle "$WORK/b-cpu" /gv2/cpu 'cat /sys/fs/cgroup/cpu.max; t=$(date +%s); while [ $(($(date +%s) - t)) -lt 4 ]; do :; done; cat /sys/fs/cgroup/cpu.stat' \
    '{"cpu": {"quota": 20000, "period": 100000}}'
  out=$(rt run --bundle "$WORK/b-cpu" cpu)
  expect "cpu.max inside" "$(echo "$out" | head -1)" "20000 100000"
  local usage thr nthr
  usage=$(echo "$out" | awk '/^usage_usec/{print $2}'); nthr=$(echo "$out" | awk '/^nr_throttled/{print $2}')
  thr=$(echo "$out" | awk '/^throttled_usec/{print $2}')
  log "busy 4 s wall: usage_usec=$usage nr_throttled=$nthr throttled_usec=$thr (share of one CPU: $((usage / 40000)) %)"
  [ "${nthr:-0}" -gt 0 ] || { echo "not throttled: $out"; return 1; }
  [ "$((usage / 40000))" -le 35 ] || { echo "used more than the quota allows"; return 1; }
  [ -n "$BENCH_OUT" ] && echo "cpu.max 20%: busy 4 s wall -> ${usage} us CPU ($((usage / 40000)) %), nr_throttled=$nthr, throttled_usec=$thr" >> "$BENCH_OUT"
  return 0
}

check_io_max_and_weight() {
  local dev; dev=$(cat /sys/class/block/"$(lsblk -ndo PKNAME "$(findmnt -no SOURCE /)" 2>/dev/null || basename "$(findmnt -no SOURCE /)")"/dev 2>/dev/null || cat /sys/class/block/vda/dev)
  local maj=${dev%:*} min=${dev#*:}
  mkbundle "$WORK/b-io" /gv2/io 'cat /sys/fs/cgroup/io.max; cat /sys/fs/cgroup/io.weight 2>/dev/null || cat /sys/fs/cgroup/io.bfq.weight' \
    "{\"blockIO\": {\"weight\": 500, \"throttleReadBpsDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": 1048576}]}}"
  out=$(rt run --bundle "$WORK/b-io" io)
  log "$out"
  echo "$out" | grep -q "^$maj:$min rbps=1048576 " || { echo "io.max not set"; return 1; }
  echo "$out" | grep -q "^default " || { echo "no io weight"; return 1; }
}

check_cpuset() {
  mkbundle "$WORK/b-cpuset" /gv2/cpuset 'cat /sys/fs/cgroup/cpuset.cpus.effective; grep Cpus_allowed_list /proc/self/status' \
    '{"cpu": {"cpus": "1", "mems": "0"}}'
  out=$(rt run --bundle "$WORK/b-cpuset" cpuset)
  expect "cpuset.cpus.effective" "$(echo "$out" | head -1)" 1
  expect "affinity" "$(echo "$out" | awk '{print $2}' | tail -1)" 1
}

check_hugetlb() {
  grep -qw hugetlb "$CG/cgroup.controllers" || { echo "no hugetlb controller on this guest"; return 1; }
  mkbundle "$WORK/b-huge" /gv2/huge 'cat /sys/fs/cgroup/hugetlb.2MB.max' '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}'
  out=$(rt run --bundle "$WORK/b-huge" huge)
  expect "hugetlb.2MB.max" "$out" 4194304
}

# freezer: pause stops a counter (frozen in cgroup.events), resume restarts it.
check_freezer() {
  mkbundle "$WORK/b-frz" /gv2/frz 'i=0; while :; do i=$((i+1)); echo $i > /tmp/c; sleep 0.2; done'
  rt create --bundle "$WORK/b-frz" frz; rt start frz
  local c=$WORK/b-frz/rootfs/tmp/c a b
  for a in $(seq 100); do [ -s "$c" ] && break; sleep 0.1; done
  rt pause frz
  wait_status frz paused
  expect "cgroup.events frozen" "$(awk '/^frozen/{print $2}' "$CG/gv2/frz/cgroup.events")" 1
  a=$(cat "$c"); sleep 2; b=$(cat "$c")
  expect "counter while paused" "$b" "$a"
  rt resume frz
  wait_status frz running
  sleep 2; b=$(cat "$c")
  [ "$b" -gt "$a" ] || { echo "counter did not move after resume ($a -> $b)"; return 1; }
  rt delete -f frz
}

# device eBPF: a device node made with mknod but not allowed by linux.resources.devices cannot be opened.
check_devices_ebpf() {
  mkbundle "$WORK/b-dev" /gv2/dev 'mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem >/dev/null; echo mem=$?; echo x > /dev/null; echo null=$?' \
    '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}, {"allow": true, "type": "c", "access": "m"}]}'
  out=$(rt run --bundle "$WORK/b-dev" dev 2>&1) || true
  log "$out"
  echo "$out" | grep -q "Operation not permitted" || { echo "open of /dev/mem was not refused"; return 1; }
  echo "$out" | grep -q "^mem=1" && echo "$out" | grep -q "^null=0"
}

# exec joins the container's cgroup; kill --all signals every process in it.
check_exec_and_kill_all() {
  mkbundle "$WORK/b-ex" /gv2/ex 'sleep 600'
  rt create --bundle "$WORK/b-ex" ex; rt start ex
  expect "exec cgroup" "$(rt exec ex cat /proc/self/cgroup)" "0::/"
  rt exec -d ex sleep 600
  local n; n=$(wc -l < "$CG/gv2/ex/cgroup.procs")
  expect "processes in the cgroup" "$n" 2
  rt kill --all ex KILL
  wait_status ex stopped
  local i; for i in $(seq 50); do [ -s "$CG/gv2/ex/cgroup.procs" ] || break; sleep 0.1; done
  expect "cgroup.procs after kill --all" "$(cat "$CG/gv2/ex/cgroup.procs")" ""
  rt delete ex
  [ ! -e "$CG/gv2/ex" ] || { echo "cgroup left after delete"; return 1; }
}

# --systemd-cgroup: a transient scope; update, exec, kill --all; delete leaves no unit and no cgroup.
check_systemd_scope() {
  local unit=gv2-sd.scope dir=$CG/system.slice/gv2-sd.scope
  mkbundle "$WORK/b-sd" system.slice:gv2:sd 'cat /sys/fs/cgroup/memory.max; sleep 600' '{"memory": {"limit": 67108864}, "pids": {"limit": 50}}'
  rt --systemd-cgroup create --bundle "$WORK/b-sd" sd
  expect "unit active" "$(systemctl is-active "$unit")" active
  expect "Delegate" "$(systemctl show -p Delegate --value "$unit")" yes
  expect "memory.max" "$(cat "$dir/memory.max")" 67108864
  expect "pids.max" "$(cat "$dir/pids.max")" 50
  rt start sd
  rt update --memory 134217728 sd
  expect "memory.max after update" "$(cat "$dir/memory.max")" 134217728
  expect "MemoryMax" "$(systemctl show -p MemoryMax --value "$unit")" 134217728
  systemctl daemon-reload # systemd re-applies the unit's settings: the limits must survive
  expect "memory.max after daemon-reload" "$(cat "$dir/memory.max")" 134217728
  expect "pids.max after daemon-reload" "$(cat "$dir/pids.max")" 50
  expect "exec cgroup" "$(rt exec sd cat /proc/self/cgroup)" "0::/"
  rt exec -d sd sleep 600
  expect "processes in the scope" "$(wc -l < "$dir/cgroup.procs")" 2
  rt kill --all sd KILL
  wait_status sd stopped
  local i; for i in $(seq 100); do systemctl is-active -q "$unit" || break; sleep 0.1; done
  rt kill --all sd KILL # containerd's shim does this after every exit: the scope is gone by now, it must exit 0
  rt delete sd
  systemctl status "$unit" >/dev/null 2>&1 && { echo "unit left: $(systemctl status "$unit" 2>&1 | head -3)"; return 1; }
  [ ! -e "$dir" ] || { echo "scope cgroup left"; return 1; }
  # delete --force of a running container stops its scope too
  rt --systemd-cgroup run -d --bundle "$WORK/b-sd" sd2 >/dev/null 2>&1 ||
    { mkbundle "$WORK/b-sd2" system.slice:gv2:sd2 'sleep 600'; rt --systemd-cgroup create --bundle "$WORK/b-sd2" sd2; rt start sd2; }
  rt delete -f sd2
  ! systemctl status gv2-sd2.scope >/dev/null 2>&1 || { echo "unit gv2-sd2.scope left"; return 1; }
}

# podman with gantry-runtime as its OCI runtime and the systemd cgroup manager.
check_podman_systemd() {
  command -v podman >/dev/null || { echo "podman is not in the guest image (V2VM_EXTRA_PKGS)"; return 1; }
  tar -C "$BASE" -c . | podman import -q - localhost/gv2-busybox >/dev/null
  out=$(podman --runtime "$RT" --cgroup-manager systemd run --rm --network none localhost/gv2-busybox sh -c 'echo in-podman; cat /proc/self/cgroup')
  log "$out"
  echo "$out" | grep -q in-podman
  podman ps -a --format '{{.ID}}' | grep -q . && { echo "podman container left"; return 1; }
  podman rmi -f localhost/gv2-busybox >/dev/null
}

# Issue 8 point 5: gantry pods under systemd (tests/v2vm/pod-notify.sh): Type=notify units become active on the
# app's READY=1 (--sdnotify container) or once the apps run (conmon), and a .socket unit's listening socket reaches
# the pod's first app. GV2_GANTRY is the gantry binary and GV2_LAYOUT an OCI layout with busybox (run.sh sets both).
check_pod_systemd() {
  [ -n "${GV2_GANTRY:-}" ] && [ -n "${GV2_LAYOUT:-}" ] || { echo "GV2_GANTRY and GV2_LAYOUT must be set (run.sh sets them)"; return 1; }
  install -m 0755 "$GV2_GANTRY" /usr/local/bin/gantry
  bash "$HERE/pod-notify.sh" /usr/local/bin/gantry "$GV2_LAYOUT"
}

# ------------------------------------------------------------------ bench
# Lifecycle (run = create + start + wait + delete of /bin/true) in the guest: gantry-runtime vs runc, interleaved,
# with bundles on /var/lib and state on /run. A failed run fails the check.
check_bench_lifecycle() {
  # gantry-runtime, the guest's runc and crun (the guest's own, else the host's staged by run.sh in dir GV2_CRUN),
  # interleaved run by run with the first runtime rotating. `run` of busybox /bin/true, wall time in ms.
  local n=${V2VM_BENCH_RUNS:-20} r i j t0 t1 failures=0 crun=${GV2_CRUN:-}
  mkbundle "$WORK/b-bench" /gv2/bench 'true'
  sed -i 's#"/bin/sh", "-c", "true"#"/bin/true"#; s#"ociVersion": "1.2.0"#"ociVersion": "1.0.2"#' "$WORK/b-bench/config.json"
  local rts=("$RT" /usr/sbin/runc) lib
  if [ ! -x /usr/bin/crun ] && [ -n "$crun" ] && [ -x "$crun/crun" ]; then
    # The host's crun (same Debian release) and the libraries it needs that this guest lacks.
    install -m 0755 "$crun/crun" /usr/bin/crun
    for lib in "$crun"/lib*.so*; do
      ldconfig -p | grep -q "${lib##*/} " || cp "$lib" /usr/local/lib/
    done
    ldconfig
  fi
  [ ! -x /usr/bin/crun ] || rts+=(/usr/bin/crun)
  declare -A ms
  for i in $(seq "$n"); do
    for ((j = 0; j < ${#rts[@]}; j++)); do
      r=${rts[(i + j) % ${#rts[@]}]}
      t0=$(date +%s%N)
      if ! "$r" --root "/run/bench-$(basename "$r")" run --bundle "$WORK/b-bench" "bench$i" >/dev/null 2>&1; then
        failures=$((failures + 1)); echo "bench: $r run bench$i failed"
      fi
      t1=$(date +%s%N)
      ms[$r]+="$(( (t1 - t0) / 1000 )) "
    done
  done
  rm -rf /run/bench-*
  for r in "${rts[@]}"; do
    local sorted med line
    sorted=$(echo ${ms[$r]} | tr ' ' '\n' | sort -n)
    med=$(echo "$sorted" | awk -v n="$n" '{ a[NR] = $1 } END { m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2; printf "%.1f", m / 1000 }')
    line="lifecycle $(basename "$r") $("$r" --version 2>/dev/null | head -1 | awk '{print $NF}'): median ${med} ms of $n runs"
    line+=" (min $(echo "$sorted" | head -1 | awk '{printf "%.1f", $1 / 1000}'), max $(echo "$sorted" | tail -1 | awk '{printf "%.1f", $1 / 1000}'))"
    echo "$line"
    [ -z "$BENCH_OUT" ] || echo "$line" >> "$BENCH_OUT"
  done
  ((failures == 0))
}

export RT STATE WORK CG BASE BENCH_OUT HERE
export -f $(declare -F | awk '{print $3}')
echo "guest: $(uname -r), systemd $(systemctl --version | head -1 | awk '{print $2}'), cgroup2 controllers: $(cat $CG/cgroup.controllers)"
echo "guest: / is $(findmnt -no FSTYPE /), /run is $(findmnt -no FSTYPE,OPTIONS /run)"
cleanup_all
for c in lifecycle_bundle_on_disk_state_on_run bundle_on_run memory_oom pids_max cpu_max io_max_and_weight cpuset \
  hugetlb freezer devices_ebpf exec_and_kill_all systemd_scope podman_systemd pod_systemd bench_lifecycle; do
  [ -z "${V2VM_ONLY:-}" ] || [[ " $V2VM_ONLY " == *" $c "* ]] || continue
  check "$c"
done
rm -rf "$WORK" "$STATE"
echo "$pass passed, $fail failed${failed[*]:+ (${failed[*]})}"
((fail == 0))
