#!/usr/bin/env bash
# bench/layout.sh - regenerates crates/gantry-runtime/symbol-order.txt, the function order that `cargo
# release-runtime` gives the linker (lld --symbol-ordering-file; see .cargo/config.toml for why), then rebuilds
# target/release/gantry-runtime with it.
#
# usage: bench/layout.sh [UNSTRIPPED_BINARY]            (as root, from the repository root; ~3 minutes)
#
# By default it measures a build made for it: `cargo release-runtime -C strip=none -C
# llvm-args=-align-all-functions=12`, i.e. the release build with its symbol table and every function aligned to a
# 4 KiB page of its own. Alignment is chosen after optimisation, so the functions are those of the real build, and
# a touched page names the function on it exactly (glibc's objects are not re-aligned: for them the list is
# page-granular). The names must be the real build's too: Rust symbols carry a hash of cargo's crate metadata,
# which changes with the profile (its `strip` setting included) and with dependency versions. Hence the same
# profile, with rustc's last `-C strip` winning over cargo's, and hence: regenerate after a dependency update.
# UNSTRIPPED_BINARY measures another binary of the same profile instead (page-granular: cold neighbours too).
#
# How the executed code is found without touching any global knob: the binary is copied onto a small ext2
# filesystem on a loop device of our own whose read-ahead is 0 (/sys/block/loopN/queue/read_ahead_kb, a property
# of that device only). A page of the file then enters the page cache only when some process touches it: a text
# fault reads just its page (no read-around), and fault-around maps only pages that are cached already. After each
# phase of a container lifecycle (create, start, state + exec + kill + delete, run, run -d + delete -f, and last a
# run with every kind of hook, so that hook code lands after the code every lifecycle runs) the cached pages of the
# file (mincore) are the pages the runtime and its helpers (the container's init before it executes the
# container's program) touched so far, whichever process touched them. Every function overlapping a
# touched page of the executable segment is listed, phase by phase (what `create` runs first), in address order
# within a phase.
#
# Everything runs in a private mount namespace (the hybrid cgroup2 mount hidden, as bench/lifecycle.sh does); the
# loop device, its image, every container and cgroup are removed at exit, even on failure.
set -euo pipefail
export LC_ALL=C
((EUID == 0)) || { echo "bench/layout.sh: must run as root" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
order=$here/crates/gantry-runtime/symbol-order.txt

if [[ -z ${LAYOUT_NS:-} ]]; then
  bin=${1:-}
  if [[ -z $bin ]]; then
    (cd "$here" && cargo release-runtime -C strip=none -C llvm-args=-align-all-functions=12)
    bin=$(mktemp "${TMPDIR:-/tmp}/layout-bin.XXXXXX")
    cp "$here/target/release/gantry-runtime" "$bin"
    chmod 0755 "$bin"
    trap 'rm -f "$bin"' EXIT
  fi
  nm "$bin" >/dev/null 2>&1 && [[ -n $(nm "$bin" 2>/dev/null | head -1) ]] ||
    { echo "bench/layout.sh: $bin has no symbol table: cargo release-runtime -C strip=none builds one" >&2; exit 1; }
  LAYOUT_NS=1 unshare --mount --propagation private -- "$BASH" "${BASH_SOURCE[0]}" "$(realpath "$bin")"
  echo "bench/layout.sh: wrote $order; rebuilding target/release/gantry-runtime with it" >&2
  (cd "$here" && cargo release-runtime)
  exit
fi
bin=$1

if [[ $(stat -fc %T /sys/fs/cgroup) != cgroup2fs ]] && mountpoint -q /sys/fs/cgroup/unified; then
  mount -t tmpfs -o size=1m layout /sys/fs/cgroup/unified
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/layout.XXXXXX")
cg=${work##*/} loop= rt=$work/mnt/gantry-runtime st=$work/state
cleanup() {
  local d
  for d in "$st"/*/; do [[ -d $d ]] && "$rt" --root "$st" delete -f "$(basename "$d")" &>/dev/null; done
  for d in /sys/fs/cgroup/*/"$cg"; do rmdir "$d"/*/ "$d" 2>/dev/null || true; done
  umount "$work/mnt" 2>/dev/null || true
  [[ -z $loop ]] || losetup -d "$loop"
  rm -rf "$work"
}
trap cleanup EXIT
shopt -s nullglob

# The private filesystem: ext2 on a loop device without read-ahead (a text fault then reads its one 4 KiB page).
truncate -s $((($(stat -c %s "$bin") >> 20) + 16))M "$work/fs.img"
mkfs.ext2 -q "$work/fs.img"
loop=$(losetup --find --show "$work/fs.img")
echo 0 > "/sys/block/${loop#/dev/}/queue/read_ahead_kb"
mkdir "$work/mnt"
mount "$loop" "$work/mnt"
cp "$bin" "$rt"
umount "$work/mnt" # drops the copy's pages from the page cache
mount "$loop" "$work/mnt"

# Busybox bundles whose container runs `sleep` (for start/exec/kill), `true` (for run), `true` with hooks.
mkdir -p "$work"/rootfs/{bin,dev,etc,proc,sys,tmp} "$work/b1" "$work/b2" "$st"
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in sleep true sh; do ln -s busybox "$work/rootfs/bin/$a"; done
(cd "$work" && "$bin" spec)
conf() { jq --arg root "$work/rootfs" --arg cg "/$cg/$2" --argjson args "$3" '.process.terminal = false
  | .process.args = $args | .root.path = $root | .linux.cgroupsPath = $cg' "$work/config.json" > "$1/config.json"; }
conf "$work/b1" c1 '["/bin/sleep", "1000"]'
conf "$work/b2" c2 '["/bin/true"]'
mkdir "$work/b3"
jq '.hooks = ({ path: "/bin/true" } as $h | { prestart: [$h], createRuntime: [$h], createContainer: [$h],
  startContainer: [$h], poststart: [$h], poststop: [$h] })' "$work/b2/config.json" > "$work/b3/config.json"
r() { "$rt" --root "$st" "$@" </dev/null >/dev/null; }

# resident PHASE: appends the file's cached pages (page numbers) not yet seen, tagged with PHASE, to $work/pages
resident() {
  python3 - "$rt" "$1" "$work/pages" <<'EOF'
import ctypes, os, sys
path, phase, out = sys.argv[1:]
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
addr = libc.mmap(None, size, 1, 2, fd, 0)  # PROT_READ, MAP_PRIVATE: mapping faults nothing in
vec = (ctypes.c_ubyte * ((size + 4095) // 4096))()
if addr in (None, ctypes.c_void_p(-1).value) or libc.mincore(addr, size, vec) != 0:
    sys.exit(f"mincore {path}: {os.strerror(ctypes.get_errno())}")
seen = set()
if os.path.exists(out):
    seen = {int(l.split()[1]) for l in open(out)}
with open(out, "a") as f:
    for i, v in enumerate(vec):
        if v & 1 and i not in seen:
            f.write(f"{phase} {i}\n")
EOF
}

resident exec-only # what reading the ELF headers cached before any code ran (not code: filtered below)
r create -b "$work/b1" c1
resident create
r start c1
resident start
r state c1
r exec c1 /bin/true
r kill c1 KILL
for _ in {1..100}; do
  [[ $("$rt" --root "$st" state c1 2>/dev/null | jq -r .status) == stopped ]] && break
  sleep 0.05
done
r delete c1
resident state-exec-kill-delete
r run -b "$work/b2" c2
resident run
r run -d -b "$work/b1" c3
r delete -f c3
resident run-detached-delete-force
r run -b "$work/b3" c4
resident hooks

# Touched pages -> symbols of the executable segment, phase by phase, in address order within a phase.
nm -S --defined-only "$bin" > "$work/nm"
readelf -lW "$bin" > "$work/phdrs"
python3 - "$work/pages" "$work/nm" "$work/phdrs" > "$order" <<'EOF'
import re, sys
pages, nm, phdrs = sys.argv[1:]
# Executable PT_LOAD segments: (file offset, vaddr, file size).
segs = []
for line in open(phdrs):
    f = line.split()
    if f and f[0] == "LOAD" and "E" in f[6:-1]:
        segs.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))
phase_of = {}
order = []
for line in open(pages):
    phase, page = line.split()
    page = int(page)
    for off, va, size in segs:
        lo, hi = max(page * 4096, off), min(page * 4096 + 4096, off + size)
        if lo < hi:
            if phase not in order:
                order.append(phase)
            phase_of[(lo - off + va, hi - off + va)] = order.index(phase)
syms = []
for line in open(nm):
    f = line.split()
    if len(f) == 4 and f[2] in "tTwWiI":
        syms.append((int(f[0], 16), int(f[1], 16), f[3]))
syms.sort()
ranges = sorted(phase_of.items())
picked = {}
j = 0
for addr, size, name in syms:
    end = addr + max(size, 1)
    while j < len(ranges) and ranges[j][0][1] <= addr:
        j += 1
    k = j
    while k < len(ranges) and ranges[k][0][0] < end:
        p = ranges[k][1]
        if name not in picked or picked[name][0] > p:
            picked[name] = (p, addr)
        k += 1
for name, _ in sorted(picked.items(), key=lambda kv: kv[1]):
    print(name)
print(f"bench/layout.sh: {len(picked)} symbols on {len(ranges)} touched text pages "
      f"({', '.join(order)})", file=sys.stderr)
EOF
