#!/bin/bash
# Issue 8, point 5, inside the systemd + cgroup v2 guest (../shared/testbed/v2vm.sh): a Type=notify unit that
# runs a gantry pod becomes active only after the app's READY=1 (--sdnotify container), and one with
# --sdnotify conmon becomes active once the apps run; a .socket unit's listening socket reaches the pod's first app
# (socket activation: LISTEN_FDS, fd 3), which answers a connection; `systemctl stop` of a pod whose app ignores
# SIGTERM ends after gantry's --stop-timeout, not systemd's TimeoutStopSec. tests/v2vm/guest.sh runs it (check
# pod_systemd). The pods use --net none: what is tested is systemd's side, not CNI. Usage (as root, in the guest):
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
    local units=(gantry-notify-app.service gantry-notify-conmon.service gantry-notify-stuck.service gantry-sock.socket
        gantry-sock.service)
    systemctl stop "${units[@]}" 2>/dev/null
    systemctl reset-failed "${units[@]}" 2>/dev/null
    for id in $("${G[@]}" ps -a -q --no-trunc 2>/dev/null); do "${G[@]}" rm -f "$id" >/dev/null 2>&1; done
    rm -rf "$work" /run/gantry-pod-notify
}
trap cleanup EXIT

if [ -z "$LAYOUT" ]; then
    bash "$here/../../../shared/testbed/images.sh" "$work/imgs" >/dev/null || { echo "images.sh failed"; exit 1; }
    LAYOUT=$work/imgs/oci
fi
"${G[@]}" -q import "$LAYOUT:busybox" >/dev/null || { echo "importing busybox from $LAYOUT failed"; exit 1; }

# gone: waits up to 60 s for no pod to be left (teardown is slow under emulation).
gone() {
    for _ in $(seq 120); do [ -z "$("${G[@]}" ps -a -q)" ] && return 0; sleep 0.5; done
    "${G[@]}" ps -a; return 1
}

# state UNIT: ActiveState of the unit.
state() { systemctl show -p ActiveState --value "$1"; }

# The apps run as PID 1 of their PID namespace, which ignores SIGTERM without a handler: they trap it, so that
# `systemctl stop` (SIGTERM to gantry, forwarded to the apps) ends them and gantry removes the pod (--rm).
term_sleep='trap "exit 143" TERM; sleep 300 & wait'

# The app says READY=1 after 4 s with systemd-notify from the guest's /usr (busybox cannot send datagrams).
systemd-run --unit gantry-notify-app -p Type=notify -p NotifyAccess=all -p KillMode=mixed --no-block \
    "${G[@]}" run --rm --net none --sdnotify container -v /usr:/usr:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro \
    busybox sh -c 'trap "exit 143" TERM; sleep 4; systemd-notify --ready; sleep 300 & wait' >/dev/null
sleep 2
s=$(state gantry-notify-app)
[ "$s" = activating ] && ok "container: activating before READY=1" || bad "container: $s before READY=1 (want activating)"
for _ in $(seq 60); do [ "$(state gantry-notify-app)" = active ] && break; sleep 0.5; done
s=$(state gantry-notify-app)
[ "$s" = active ] && ok "container: active after the app's READY=1" ||
    bad "container: $s after READY=1 (want active); $(journalctl -u gantry-notify-app.service --no-pager -n 20 2>&1)"
systemctl stop gantry-notify-app
gone && ok "container: stopping the unit removed the pod" || bad "container: pod left after stop"

# conmon: gantry says READY=1 once both apps run.
systemd-run --unit gantry-notify-conmon -p Type=notify -p NotifyAccess=all -p KillMode=mixed --no-block \
    "${G[@]}" run --rm --net none --sdnotify conmon busybox sh -c "$term_sleep" --- busybox sh -c "$term_sleep" >/dev/null
for _ in $(seq 60); do [ "$(state gantry-notify-conmon)" = active ] && break; sleep 0.5; done
s=$(state gantry-notify-conmon)
[ "$s" = active ] && ok "conmon: active once the apps run" || bad "conmon: $s (want active)"
n=$("${G[@]}" ps | grep -c ' Up ')
[ "$n" = 2 ] && ok "conmon: both apps up" || bad "conmon: $n apps up (want 2)"
systemctl stop gantry-notify-conmon

# Stop escalation: an app that ignores SIGTERM (sleep as PID 1, no handler) must not hold the unit until
# TimeoutStopSec: gantry SIGKILLs it after --stop-timeout 3, records the end and removes the pod (--rm) itself.
systemd-run --unit gantry-notify-stuck -p Type=notify -p NotifyAccess=all -p KillMode=mixed -p TimeoutStopSec=90 \
    --no-block "${G[@]}" run --rm --net none --sdnotify conmon --stop-timeout 3 busybox sleep 300 >/dev/null
for _ in $(seq 60); do [ "$(state gantry-notify-stuck)" = active ] && break; sleep 0.5; done
t0=$(date +%s)
systemctl stop gantry-notify-stuck
took=$(($(date +%s) - t0))
((took < 30)) && ok "stuck: systemctl stop took ${took}s (--stop-timeout 3, TimeoutStopSec=90)" ||
    bad "stuck: systemctl stop took ${took}s (want the stop timeout, not TimeoutStopSec)"
gone && ok "stuck: the pod was removed by gantry" || bad "stuck: pod left after stop"

# Socket activation: systemd listens, starts the pod on the first connection; the app (the guest's perl, busybox
# cannot accept on an inherited socket) accepts on fd 3 and answers.
port=18089
systemd-run --unit gantry-sock --socket-property=ListenStream=127.0.0.1:$port -p KillMode=mixed \
    "${G[@]}" run --rm --net none -v /usr:/usr:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro busybox \
    /usr/bin/perl -e 'open(my $l, "<&=", 3) or die "fd 3: $!"; accept(my $c, $l) or die "accept: $!";
        print $c "activated LISTEN_FDS=$ENV{LISTEN_FDS}\n"; close $c' >/dev/null
s=$(state gantry-sock.socket)
[ "$s" = active ] && ok "socket: the .socket unit listens" || bad "socket: gantry-sock.socket is $s (want active)"
reply=$(timeout 180 bash -c "exec 5<>/dev/tcp/127.0.0.1/$port && cat <&5" 2>&1)
[ "$reply" = "activated LISTEN_FDS=1" ] && ok "socket: the first app got the listening socket and answered" ||
    bad "socket: reply '$reply' (want 'activated LISTEN_FDS=1'); $(journalctl -u gantry-sock.service --no-pager -n 20 2>&1)"
for _ in $(seq 60); do [ "$(state gantry-sock.service)" = inactive ] && break; sleep 0.5; done
gone && ok "socket: the pod is gone after the app exited" || bad "socket: pod left after the app exited"
systemctl stop gantry-sock.socket

echo "pod-notify: $pass passed, $fail failed"
[ "$fail" = 0 ]
