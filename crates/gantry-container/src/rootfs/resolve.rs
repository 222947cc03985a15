//! Path resolution inside the container's root: every lookup is `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`
//! relative to a descriptor of the root, so neither a symlink nor `..` in the (hostile) rootfs can lead outside.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};

fn relative(path: &Path) -> &Path {
    let p = path.strip_prefix("/").unwrap_or(path);
    if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    }
}

/// Opens `path` (absolute inside the root or relative to it) under `root` with `flags` (plus `O_CLOEXEC`).
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: OFlags) -> io::Result<OwnedFd> {
    let how = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    let rel = relative(path);
    for _ in 0..16 {
        match rfs::openat2(root, rel, flags | OFlags::CLOEXEC, Mode::empty(), how) {
            Err(rustix::io::Errno::AGAIN) => continue,
            r => return r.map_err(Into::into),
        }
    }
    Err(io::Error::from_raw_os_error(libc::EAGAIN))
}

/// Opens `path` as an `O_PATH` directory under `root`, creating missing components with `mode` (each `mkdirat` is
/// relative to an already resolved parent, so a racing symlink swap cannot redirect it outside the root). A
/// dangling symlink on the way is followed inside the root and its target created, as runc does.
pub fn mkdir_all(root: BorrowedFd<'_>, path: &Path, mode: u32) -> io::Result<OwnedFd> {
    mkdir_all_links(root, path, mode, 0)
}

/// Most symlinks followed while creating one path (the kernel's own limit).
const MAX_LINKS: u32 = 40;

fn mkdir_all_links(
    root: BorrowedFd<'_>,
    path: &Path,
    mode: u32,
    links: u32,
) -> io::Result<OwnedFd> {
    let dir = OFlags::PATH | OFlags::DIRECTORY;
    match open_in_root(root, path, dir) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        r => return r,
    }
    // Only the missing tail is walked: the parent is resolved (and made) first, then one mkdirat relative to it.
    let Some(name) = path.file_name() else {
        return open_in_root(root, path, dir); // "/" or a path ending in "..": resolves to an existing directory
    };
    let parent_path = path.parent().unwrap_or(Path::new("/"));
    let parent = mkdir_all_links(root, parent_path, mode, links)?;
    match rfs::mkdirat(&parent, name, Mode::from_raw_mode(mode)) {
        Ok(()) => {}
        Err(rustix::io::Errno::EXIST) => {
            // Something is there that did not resolve: a dangling symlink. Create its target, inside the root.
            if let Ok(target) = rfs::readlinkat(&parent, name, Vec::new()) {
                if links >= MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = Path::new(std::ffi::OsStr::from_bytes(target.as_bytes()));
                let next = if target.is_absolute() {
                    target.to_path_buf()
                } else {
                    parent_path.join(target)
                };
                return mkdir_all_links(root, &next, mode, links + 1);
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok(rfs::openat(
        &parent,
        name,
        dir | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens `path` under `root` as an `O_PATH` handle, creating it as an empty regular file (and its parents) if
/// missing — a bind-mount target for a file source.
pub fn ensure_file(root: BorrowedFd<'_>, path: &Path) -> io::Result<OwnedFd> {
    match open_in_root(root, path, OFlags::PATH) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        r => return r,
    }
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    let pfd = mkdir_all(root, parent, 0o755)?;
    match rfs::openat(
        &pfd,
        name,
        OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    ) {
        Ok(_) | Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(e.into()),
    }
    open_in_root(root, path, OFlags::PATH)
}

/// The `/proc/self/fd/N` path of `fd`, to hand a descriptor to a path-based syscall such as `mount(2)`.
pub fn fd_path(fd: impl AsFd) -> String {
    format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd())
}

/// Whether `fd` is a directory.
pub fn is_dir(fd: impl AsFd) -> io::Result<bool> {
    Ok(rfs::FileType::from_raw_mode(rfs::fstat(fd)?.st_mode) == rfs::FileType::Directory)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root_fd(p: &Path) -> OwnedFd {
        rfs::open(
            p,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap()
    }

    #[test]
    fn symlinks_and_dotdot_stay_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        symlink(&outside, root.join("escape")).unwrap();
        symlink("/", root.join("slash")).unwrap();
        let fd = root_fd(&root);
        mkdir_all(fd.as_fd(), Path::new("/escape/a/b"), 0o755).unwrap();
        mkdir_all(fd.as_fd(), Path::new("/../../x"), 0o755).unwrap();
        ensure_file(fd.as_fd(), Path::new("/slash/etc/f")).unwrap();
        assert!(
            std::fs::read_dir(&outside).unwrap().next().is_none(),
            "nothing outside"
        );
        // The absolute symlink target was taken relative to the root.
        assert!(root
            .join(outside.strip_prefix("/").unwrap())
            .join("a/b")
            .is_dir());
        assert!(root.join("x").is_dir());
        assert!(root.join("etc/f").is_file());
    }

    #[test]
    fn magic_links_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        symlink("/proc/self/root", tmp.path().join("m")).unwrap();
        let fd = root_fd(tmp.path());
        // /proc is not inside this root, so the link resolves (inside) to nothing.
        assert!(open_in_root(fd.as_fd(), Path::new("/m/etc"), OFlags::PATH).is_err());
    }
}
