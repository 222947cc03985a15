//! The container's root filesystem: prepared in the container's mount namespace before `pivot_root`, finished
//! after it. Every path inside the rootfs is resolved by [`resolve`] inside the root.

pub mod devices;
pub mod idmap;
pub mod mounts;
pub mod options;
pub mod paths;
pub mod pivot;
pub mod propagation;
pub mod resolve;
pub mod sysctl;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::Spec;
use rustix::fs::{self as rfs, Mode, OFlags};

use crate::process::fail::{invalid, Context, StepResult};

/// Inputs of rootfs setup that are not in the spec.
pub struct RootfsCtx<'a> {
    /// The validated spec.
    pub spec: &'a Spec,
    /// Absolute bundle path.
    pub bundle: &'a Path,
    /// Absolute rootfs path (host side).
    pub rootfs: &'a Path,
    /// The container has a user namespace (device nodes are bind-mounted from the host).
    pub in_user_ns: bool,
    /// A new cgroup namespace was created.
    pub new_cgroup_ns: bool,
    /// The host's cgroup layout and the container's cgroup.
    pub cgroup: Option<(&'a gantry_cgroups::Layout, &'a gantry_cgroups::Cgroup)>,
    /// Id-mapped trees the runtime prepared, by mount index.
    pub idmapped: &'a [(usize, OwnedFd)],
}

/// Before pivot_root: mounts, device nodes and `/dev` links. Returns an `O_PATH` descriptor of the new root.
pub fn prepare(ctx: &RootfsCtx<'_>) -> StepResult<OwnedFd> {
    // Device and file modes are exactly what the spec says; the process's umask is set later.
    rustix::process::umask(Mode::empty());
    // By default host mount events flow in but never out; linux.rootfsPropagation replaces that (runc's order).
    propagation::prepare_root(propagation::of_root(ctx.spec)?, ctx.rootfs)?;
    let rootfs = ctx
        .rootfs
        .to_str()
        .ok_or_else(|| invalid(format!("root.path {}: not UTF-8", ctx.rootfs.display())))?;
    gantry_sys::mount::mount(
        Some(rootfs),
        rootfs,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .ctx(|| format!("bind-mount the rootfs {rootfs} onto itself"))?;
    let root = rfs::open(
        ctx.rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open rootfs {rootfs}"))?;
    clear_inherited_restrictions(root.as_fd(), ctx.in_user_ns, rootfs)?;
    let mctx = mounts::MountCtx {
        root: root.as_fd(),
        bundle: ctx.bundle,
        in_user_ns: ctx.in_user_ns,
        new_cgroup_ns: ctx.new_cgroup_ns,
        cgroup: ctx.cgroup,
        idmapped: ctx.idmapped,
        mount_label: ctx
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.mount_label().as_deref()),
    };
    let all = ctx.spec.mounts().as_deref().unwrap_or(&[]);
    for (i, m) in all.iter().enumerate() {
        mounts::mount_entry(&mctx, m, i)?;
    }
    let dev_from_host = all.iter().any(|m| {
        m.destination() == Path::new("/dev")
            && (m.typ().as_deref() == Some("bind")
                || m.options()
                    .as_ref()
                    .is_some_and(|o| o.iter().any(|o| o == "bind" || o == "rbind")))
    });
    if !dev_from_host {
        let mut nodes = devices::default_nodes();
        let linux_devices = ctx.spec.linux().as_ref().and_then(|l| l.devices().as_ref());
        for (i, d) in linux_devices.into_iter().flatten().enumerate() {
            let n = devices::node_from_spec(d, i)?;
            nodes.retain(|o| o.path != n.path);
            nodes.push(n);
        }
        for n in &nodes {
            devices::create(root.as_fd(), n, ctx.in_user_ns)?;
        }
        let devpts = all.iter().any(|m| {
            m.destination() == Path::new("/dev/pts") && m.typ().as_deref() == Some("devpts")
        });
        devices::links(root.as_fd(), devpts)?;
    }
    Ok(root)
}

/// Still before pivot_root (bind sources such as the host's `/dev/null` must be in our mount namespace), relative
/// to the root descriptor: sysctls (through the container's procfs, before `/proc/sys` turns read-only), masked
/// and read-only paths.
pub fn protect(root: &OwnedFd, spec: &Spec, dev_null: &OwnedFd) -> StepResult {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    if let Some(sysctl) = linux.sysctl() {
        sysctl::apply(root.as_fd(), sysctl)?;
    }
    let mut masker = paths::Masker::new(dev_null.as_fd());
    for (i, p) in linux.masked_paths().iter().flatten().enumerate() {
        masker.mask(root.as_fd(), Path::new(p), i)?;
    }
    for (i, p) in linux.readonly_paths().iter().flatten().enumerate() {
        paths::make_readonly(root.as_fd(), Path::new(p), i)?;
    }
    Ok(())
}

/// The rootfs bind mount inherits the per-mount flags of the filesystem the bundle lives on: a bundle under a
/// `noexec` tmpfs `/run` (systemd hosts) would make every `execve` in the container fail with EACCES. The
/// container's root is its own filesystem, so clear `noexec`, `nosuid` and `nodev` on its top mount (submounts
/// keep theirs). runc gets the same result as a side effect of its read-only remount of `/` (and fails the same
/// bundle when `root.readonly` is false). In a user namespace the flags are locked by the kernel and stay.
fn clear_inherited_restrictions(
    root: BorrowedFd<'_>,
    in_user_ns: bool,
    rootfs: &str,
) -> StepResult {
    use gantry_sys::mount::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID};
    let inherited = rustix::fs::fstatvfs(root)
        .ctx(|| format!("statvfs rootfs {rootfs}"))?
        .f_flag;
    let mut clear = 0;
    for (st, attr) in [
        (rustix::fs::StatVfsMountFlags::NOEXEC, MOUNT_ATTR_NOEXEC),
        (rustix::fs::StatVfsMountFlags::NOSUID, MOUNT_ATTR_NOSUID),
        (rustix::fs::StatVfsMountFlags::NODEV, MOUNT_ATTR_NODEV),
    ] {
        if inherited.contains(st) {
            clear |= attr;
        }
    }
    if clear == 0 {
        return Ok(());
    }
    match gantry_sys::mount::mount_setattr(root, false, 0, clear, 0) {
        Err(e) if in_user_ns && e.raw_os_error() == Some(libc::EPERM) => Ok(()),
        r => r.ctx(|| {
            format!(
                "clear noexec/nosuid/nodev inherited by the rootfs {rootfs} from its filesystem"
            )
        }),
    }
}

/// After pivot_root: read-only root, root propagation.
pub fn finish(spec: &Spec) -> StepResult {
    let root = rfs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open / after pivot_root".into())?;
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        gantry_sys::mount::mount_setattr(
            root.as_fd(),
            false,
            gantry_sys::mount::MOUNT_ATTR_RDONLY,
            0,
            0,
        )
        .ctx(|| "root.readonly: remount / read-only".into())?;
    }
    if let Some(p) = root_propagation(spec) {
        gantry_sys::mount::mount(None, "/", None, propagation::flag(p)?, None)
            .ctx(|| format!("linux.rootfsPropagation: make / {p}"))?;
    }
    Ok(())
}

fn root_propagation(spec: &Spec) -> Option<&str> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
}
