//! The `mounts` of config.md, each mounted onto a descriptor resolved inside the root (never a path string that a
//! symlink in the rootfs could redirect: CVE-2021-30465, CVE-2023-27561).

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;
use rustix::fs::OFlags;
use rustix::mount::{MoveMountFlags, OpenTreeFlags};

use super::options::MountOptions;
use super::resolve::{ensure_file, fd_path, mkdir_all, open_in_root};
use crate::process::fail::{invalid, Context, StepResult};

/// What mounting needs to know besides the mount entry.
pub struct MountCtx<'a> {
    /// `O_PATH` descriptor of the container's root (the rootfs bind mount).
    pub root: BorrowedFd<'a>,
    /// The bundle directory (relative bind sources are relative to it).
    pub bundle: &'a Path,
    /// The container has a user namespace.
    pub in_user_ns: bool,
    /// The container has a new cgroup namespace.
    pub new_cgroup_ns: bool,
    /// The host's cgroup layout and the container's cgroup, for `cgroup` mounts.
    pub cgroup: Option<(&'a gantry_cgroups::Layout, &'a gantry_cgroups::Cgroup)>,
    /// Id-mapped trees the runtime prepared, by mount index ([`super::idmap`]).
    pub idmapped: &'a [(usize, std::os::fd::OwnedFd)],
    /// `linux.mountLabel` (SELinux `context=` for filesystem mounts).
    pub mount_label: Option<&'a str>,
}

/// Mounts `mounts[index]`.
pub fn mount_entry(ctx: &MountCtx<'_>, m: &Mount, index: usize) -> StepResult {
    let typ = m.typ().as_deref().unwrap_or("");
    let dest = m.destination();
    let what = || format!("mounts[{index}] ({typ} on {})", dest.display());
    let opts = MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
    if super::idmap::wanted(m) {
        return super::idmap::mount(ctx, m, index, &opts);
    }
    if opts.bind || typ == "bind" {
        let source = m
            .source()
            .as_ref()
            .ok_or_else(|| invalid(format!("{}: a bind mount needs a source", what())))?;
        let source = if source.is_absolute() {
            source.clone()
        } else {
            ctx.bundle.join(source)
        };
        return bind(ctx.root, &source, dest, &opts).ctx(what);
    }
    if typ == "cgroup" || typ == "cgroup2" {
        return mount_cgroup(ctx, dest, &opts).ctx(what);
    }
    if matches!(typ, "proc" | "sysfs") {
        refuse_symlink(ctx.root, dest).ctx(what)?;
    }
    if opts.tmpcopyup {
        return Err(invalid(format!(
            "{}: \"tmpcopyup\" is not supported yet",
            what()
        )));
    }
    let target = mkdir_all(ctx.root, dest, 0o755).ctx(what)?;
    let source = m.source().as_ref().and_then(|s| s.to_str()).unwrap_or(typ);
    let flags = opts.flags & !libc::MS_BIND;
    let opts = crate::process::lsm::with_mount_label(opts, typ, ctx.mount_label);
    let r = gantry_sys::mount::mount(
        Some(source),
        &fd_path(&target),
        Some(typ),
        flags,
        Some(&opts.data),
    );
    match r {
        // sysfs cannot be mounted in a user namespace that does not own the network namespace: bind the host's
        // /sys instead, as runc does for rootless containers.
        // devpts' gid= names a group that may not be mapped in the user namespace: retry without it, as runc does.
        Err(e)
            if typ == "devpts" && ctx.in_user_ns && e.raw_os_error() == Some(libc::EOVERFLOW) =>
        {
            let data: Vec<&str> = opts
                .data
                .split(',')
                .filter(|o| !o.starts_with("gid="))
                .collect();
            gantry_sys::mount::mount(
                Some(source),
                &fd_path(&target),
                Some(typ),
                flags,
                Some(&data.join(",")),
            )
            .ctx(what)?;
        }
        Err(e) if typ == "sysfs" && ctx.in_user_ns && e.raw_os_error() == Some(libc::EPERM) => {
            let mut o = opts.clone();
            o.recursive = true;
            bind(ctx.root, Path::new("/sys"), dest, &o).ctx(what)?;
        }
        r => r.ctx(what)?,
    }
    if opts.has_recursive_attrs() {
        // Recursive attributes (`rro`, `rnoatime`, `rnosymfollow`, ...) are mount attributes, not filesystem data.
        let top = open_in_root(ctx.root, dest, OFlags::PATH).ctx(what)?;
        gantry_sys::mount::mount_setattr(top.as_fd(), true, opts.rec_set, opts.rec_clear, 0)
            .ctx(what)?;
    }
    propagate(ctx.root, dest, &opts).ctx(what)
}

fn refuse_symlink(root: BorrowedFd<'_>, dest: &Path) -> std::io::Result<()> {
    match open_in_root(root, dest, OFlags::PATH | OFlags::NOFOLLOW) {
        Ok(fd) => {
            let st = rustix::fs::fstat(&fd)?;
            if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the destination is a symlink in the rootfs; refusing to mount procfs/sysfs through it",
                ));
            }
            Ok(())
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Bind-mounts host `source` onto `dest` inside the root, with the options' flags applied to the detached tree
/// before it is attached (no window where it is writable).
pub fn bind(
    root: BorrowedFd<'_>,
    source: &Path,
    dest: &Path,
    opts: &MountOptions,
) -> std::io::Result<()> {
    let is_dir = std::fs::metadata(source)?.is_dir();
    let target = if is_dir {
        mkdir_all(root, dest, 0o755)?
    } else {
        ensure_file(root, dest)?
    };
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if opts.recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    let tree = rustix::mount::open_tree(rustix::fs::CWD, source, flags)?;
    attach(tree.as_fd(), target.as_fd(), opts)?;
    propagate(root, dest, opts)
}

/// Applies the options' attributes to a detached mount tree and attaches it on `target`.
pub fn attach(
    tree: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    opts: &MountOptions,
) -> std::io::Result<()> {
    let (set, clear) = opts.attr_flags();
    if set | clear != 0 {
        gantry_sys::mount::mount_setattr(tree, false, set, clear, 0)?;
    }
    if opts.has_recursive_attrs() {
        gantry_sys::mount::mount_setattr(tree, true, opts.rec_set, opts.rec_clear, 0)?;
    }
    rustix::mount::move_mount(
        tree,
        "",
        target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )?;
    Ok(())
}

pub(crate) fn propagate(
    root: BorrowedFd<'_>,
    dest: &Path,
    opts: &MountOptions,
) -> std::io::Result<()> {
    if opts.propagation.is_empty() {
        return Ok(());
    }
    // Reopen: the old descriptor names the directory under the new mount, not the mount itself.
    let top = open_in_root(root, dest, OFlags::PATH)?;
    for p in &opts.propagation {
        gantry_sys::mount::mount(None, &fd_path(&top), None, *p, None)?;
    }
    Ok(())
}

fn mount_cgroup(ctx: &MountCtx<'_>, dest: &Path, opts: &MountOptions) -> std::io::Result<()> {
    let Some((layout, cg)) = ctx.cgroup else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no cgroup hierarchy found on this host",
        ));
    };
    let flags = opts.flags & !(libc::MS_RDONLY | libc::MS_BIND);
    let ro = opts.flags & libc::MS_RDONLY != 0;
    let sub_opts = MountOptions {
        flags: opts.flags,
        ..MountOptions::default()
    };
    if layout.mode() == gantry_cgroups::Mode::V2 {
        let target = mkdir_all(ctx.root, dest, 0o755)?;
        if ctx.new_cgroup_ns {
            return gantry_sys::mount::mount(
                Some("cgroup2"),
                &fd_path(&target),
                Some("cgroup2"),
                opts.flags,
                None,
            );
        }
        let dir = cg.unified_dir().map(Path::to_path_buf).unwrap_or_default();
        let tree = open_tree_clone(&dir)?;
        return attach(tree.as_fd(), target.as_fd(), &sub_opts);
    }
    // v1 or hybrid: a tmpfs with one directory per hierarchy, as on the host.
    let target = mkdir_all(ctx.root, dest, 0o755)?;
    gantry_sys::mount::mount(
        Some("tmpfs"),
        &fd_path(&target),
        Some("tmpfs"),
        flags,
        Some("mode=755"),
    )?;
    let mut hierarchies: Vec<(PathBuf, String, Option<PathBuf>)> = layout
        .v1_hierarchies()
        .iter()
        .map(|h| {
            let data = h
                .controllers
                .iter()
                .map(|c| {
                    if c.starts_with("name=") {
                        format!("none,{c}")
                    } else {
                        c.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(",");
            let dir = cg
                .dirs()
                .find(|d| d.starts_with(&h.mount_point))
                .map(Path::to_path_buf);
            (h.mount_point.clone(), data, dir)
        })
        .collect();
    if let Some(u) = layout.unified() {
        hierarchies.push((
            u.to_path_buf(),
            String::new(),
            cg.unified_dir().map(Path::to_path_buf),
        ));
    }
    for (mount_point, data, dir) in hierarchies {
        let Some(name) = mount_point.file_name() else {
            continue;
        };
        let sub = mkdir_all(ctx.root, &dest.join(name), 0o755)?;
        let fstype = if data.is_empty() { "cgroup2" } else { "cgroup" };
        if ctx.new_cgroup_ns {
            gantry_sys::mount::mount(
                Some(fstype),
                &fd_path(&sub),
                Some(fstype),
                opts.flags,
                Some(&data),
            )?;
        } else if let Some(dir) = dir {
            let tree = open_tree_clone(&dir)?;
            attach(tree.as_fd(), sub.as_fd(), &sub_opts)?;
        }
    }
    if ro {
        let top = open_in_root(ctx.root, dest, OFlags::PATH)?;
        gantry_sys::mount::mount(
            None,
            &fd_path(&top),
            None,
            flags | (libc::MS_REMOUNT | libc::MS_RDONLY),
            Some("mode=755"),
        )?;
    }
    Ok(())
}

fn open_tree_clone(dir: &Path) -> std::io::Result<std::os::fd::OwnedFd> {
    Ok(rustix::mount::open_tree(
        rustix::fs::CWD,
        dir,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )?)
}
