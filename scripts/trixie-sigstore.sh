#!/usr/bin/env bash
# scripts/trixie-sigstore.sh - a Debian trixie chroot with sigstore-enabled skopeo, cosign and podman.
#
# Debian 12's skopeo 1.9 and podman 4.3 are built with sigstore disabled, so signatures cannot be exchanged with
# them. Trixie ships skopeo 1.18, podman 5.4 and cosign 2.5 with sigstore on. This script builds a minimal trixie
# chroot holding them, once per machine, and runs commands inside it. The chroot shares the host's network
# namespace, so its tools reach the loopback test registry.
#
#   trixie-sigstore.sh build          build the chroot when missing (idempotent; concurrent callers wait on a lock);
#                                     prints its directory. ~2-4 min once (debootstrap + apt from deb.debian.org).
#   trixie-sigstore.sh dir            print the chroot directory (does not build).
#   trixie-sigstore.sh run CMD...     run CMD in the chroot (building it first when missing), in a private mount
#                                     namespace with /proc, /sys, /dev and a fresh /tmp and /run; every directory
#                                     named in $TRIXIE_SHARE (colon-separated absolute host paths) is bind-mounted at
#                                     the same path inside, and CMD runs with that first directory as its cwd.
#                                     Mounts vanish with the namespace: nothing to clean up. Exit code is CMD's.
#
# Environment: TRIXIE_SIGSTORE_DIR (default /var/cache/gantry-testbed/trixie-sigstore), TRIXIE_MIRROR (default
# http://deb.debian.org/debian). Needs root, debootstrap and util-linux (unshare) on the host.
set -euo pipefail
DIR=${TRIXIE_SIGSTORE_DIR:-/var/cache/gantry-testbed/trixie-sigstore}
MIRROR=${TRIXIE_MIRROR:-http://deb.debian.org/debian}
# Change this list or CONFIG_VERSION and the chroot is rebuilt (the stamp records both).
PKGS="skopeo cosign podman ca-certificates"
CONFIG_VERSION=1
STAMP="$PKGS config=$CONFIG_VERSION"

die() { echo "trixie-sigstore.sh: $*" >&2; exit 1; }

built() { [ -f "$DIR/.stamp" ] && [ "$(cat "$DIR/.stamp")" = "$STAMP" ]; }

build() {
  ((EUID == 0)) || die "run as root (debootstrap and chroot need it)"
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$DIR.lock"
  flock 9
  if built; then echo "$DIR"; return; fi
  local tmp=$DIR.tmp start=$SECONDS
  rm -rf "$tmp" "$DIR"
  echo "trixie-sigstore.sh: building $DIR (debootstrap trixie from $MIRROR)" >&2
  debootstrap --variant=minbase trixie "$tmp" "$MIRROR" >"$DIR.log" 2>&1 ||
    die "debootstrap trixie failed (is $MIRROR reachable?); see $DIR.log"
  cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
  # Recommends pull in fuse-overlayfs, slirp, etc.; the tests use vfs storage and the host network.
  if ! chroot "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends $PKGS >>"$DIR.log" 2>&1; then
    die "apt-get install $PKGS in the trixie chroot failed; see $DIR.log"
  fi
  chroot "$tmp" apt-get clean
  # Every registry keeps sigstore signatures as attachments (the `sha256-<hex>.sig` tag): podman has no
  # --registries.d flag, and this is what the chroot is for.
  mkdir -p "$tmp/etc/containers/registries.d"
  printf 'default-docker:\n  use-sigstore-attachments: true\n' >"$tmp/etc/containers/registries.d/zz-sigstore.yaml"
  echo "$STAMP" >"$tmp/.stamp"
  mv "$tmp" "$DIR"
  echo "trixie-sigstore.sh: built in $((SECONDS - start)) s: $(run skopeo --version), $(run podman --version)," \
    "cosign $(run dpkg-query -W -f '${Version}' cosign) ($(du -sh "$DIR" | cut -f1))" >&2
  echo "$DIR"
}

run() {
  ((EUID == 0)) || die "run as root"
  (($#)) || die "run: no command given"
  built || build >/dev/null
  local share=${TRIXIE_SHARE:-}
  # Everything below runs in a new mount namespace: the bind mounts die with it.
  exec unshare --mount --propagation private -- /bin/bash -euc '
    dir=$1 share=$2; shift 2
    # The root must be a mount point: containers/storage remounts / when it applies layers in a chroot.
    mount --bind "$dir" "$dir"
    mount -t proc proc "$dir/proc"
    mount --rbind /sys "$dir/sys"
    mount --rbind /dev "$dir/dev"
    mount -t tmpfs tmpfs "$dir/tmp"
    mount -t tmpfs tmpfs "$dir/run"
    cwd=/
    IFS=: read -ra paths <<<"$share"
    for p in "${paths[@]}"; do
      [ -n "$p" ] || continue
      [ "${p:0:1}" = / ] || { echo "trixie-sigstore.sh: TRIXIE_SHARE path $p is not absolute" >&2; exit 2; }
      [ -d "$p" ] || { echo "trixie-sigstore.sh: TRIXIE_SHARE path $p is not a directory" >&2; exit 2; }
      mkdir -p "$dir$p"
      mount --bind "$p" "$dir$p"
      [ "$cwd" != / ] || cwd=$p
    done
    cd "$dir$cwd"
    exec chroot "$dir" /usr/bin/env -C "$cwd" HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
  ' trixie-run "$DIR" "$share" "$@"
}

case "${1:-}" in
build) build ;;
dir) echo "$DIR" ;;
run) shift; run "$@" ;;
*) die "usage: trixie-sigstore.sh build | dir | run CMD..." ;;
esac
