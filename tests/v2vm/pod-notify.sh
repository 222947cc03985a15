#!/bin/bash
# Issue 8, point 5, inside the systemd + cgroup v2 guest (../shared/testbed/v2vm.sh): a Type=notify unit that
# runs a gantry pod becomes active only after the app's READY=1 (--sdnotify container), and one with
# --sdnotify conmon becomes active once the apps run. Usage (as root, in the guest):
#   tests/v2vm/pod-notify.sh /path/to/gantry [OCI_LAYOUT_WITH_BUSYBOX]
# The layout defaults to one built by ../shared/testbed/images.sh. Prints "pod-notify: N passed, M failed";
# exits non-zero on any failure. Cleans up its units, pods and store.
set -u
GANTRY=${1:?usage: pod-notify.sh GANTRY [OCI_LAYOUT]}
LAYOUT=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /var/lib/gantry-pod-notify.XXXXXX)
G=("$GANTRY" --root "$work/root" --state-root "/run/gantry-pod-notify")
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
cleanup() {
    systemctl stop gantry-notify-app.service gantry-notify-conmon.service 2>/dev/null
    systemctl reset-failed gantry-notify-app.service gantry-notify-conmon.service 2>/dev/null
    for id in $("${G[@]}" ps -a -q --no-trunc 2>/dev/null); do "${G[@]}" rm -f "$id" >/dev/null 2>&1; done
    rm -rf "$work" /run/gantry-pod-notify
}
trap cleanup EXIT

if [ -z "$LAYOUT" ]; then
    bash "$here/../../../shared/testbed/images.sh" "$work/imgs" >/dev/null || { echo "images.sh failed"; exit 1; }
    LAYOUT=$work/imgs/oci
fi
"${G[@]}" -q import "$LAYOUT:busybox" >/dev/null || { echo "importing busybox from $LAYOUT failed"; exit 1; }

# state UNIT: ActiveState of the unit.
state() { systemctl show -p ActiveState --value "$1"; }

# The app says READY=1 after 4 s with systemd-notify from the guest's /usr (busybox cannot send datagrams).
systemd-run --unit gantry-notify-app -p Type=notify -p NotifyAccess=all -p KillMode=mixed --no-block \
    "${G[@]}" run --rm --sdnotify container -v /usr:/usr:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro \
    busybox sh -c 'sleep 4; systemd-notify --ready; sleep 300' >/dev/null
sleep 2
s=$(state gantry-notify-app)
[ "$s" = activating ] && ok "container: activating before READY=1" || bad "container: $s before READY=1 (want activating)"
for _ in $(seq 60); do [ "$(state gantry-notify-app)" = active ] && break; sleep 0.5; done
s=$(state gantry-notify-app)
[ "$s" = active ] && ok "container: active after the app's READY=1" || bad "container: $s after READY=1 (want active)"
systemctl stop gantry-notify-app
[ -z "$("${G[@]}" ps -a -q)" ] && ok "container: stopping the unit removed the pod" || bad "container: pod left after stop"

# conmon: gantry says READY=1 once both apps run.
systemd-run --unit gantry-notify-conmon -p Type=notify -p NotifyAccess=all -p KillMode=mixed --no-block \
    "${G[@]}" run --rm --sdnotify conmon busybox sleep 300 --- busybox sleep 300 >/dev/null
for _ in $(seq 60); do [ "$(state gantry-notify-conmon)" = active ] && break; sleep 0.5; done
s=$(state gantry-notify-conmon)
[ "$s" = active ] && ok "conmon: active once the apps run" || bad "conmon: $s (want active)"
n=$("${G[@]}" ps | grep -c ' Up ')
[ "$n" = 2 ] && ok "conmon: both apps up" || bad "conmon: $n apps up (want 2)"
systemctl stop gantry-notify-conmon

echo "pod-notify: $pass passed, $fail failed"
[ "$fail" = 0 ]
