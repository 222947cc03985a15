//! Device nodes and `/dev` links (config-linux.md "Devices", "Default Devices"; runtime-linux.md "Dev symbolic
//! links"). Nodes are made with `mknodat` relative to a `/dev` descriptor resolved inside the root (crun
//! CVE-2026-47766, CVE-2026-41579); inside a user namespace, where mknod is not allowed, the host's node is
//! bind-mounted instead.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use rustix::fs::{self as rfs, FileType, Mode};

use super::options::MountOptions;
use super::resolve::{ensure_file, mkdir_all};
use crate::process::fail::{invalid, Context, StepResult};

/// One device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Absolute path inside the container.
    pub path: String,
    /// Character, block or FIFO.
    pub kind: FileType,
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Permission bits.
    pub mode: u32,
    /// Owner inside the container.
    pub uid: u32,
    /// Group inside the container.
    pub gid: u32,
}

/// The devices every container gets (config-linux.md "Default Devices").
pub fn default_nodes() -> Vec<Node> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .into_iter()
    .map(|(path, major, minor)| Node {
        path: path.to_owned(),
        kind: FileType::CharacterDevice,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    })
    .collect()
}

/// Converts `linux.devices[index]` into a node, checking its fields.
pub fn node_from_spec(d: &LinuxDevice, index: usize) -> StepResult<Node> {
    let field = || format!("linux.devices[{index}]");
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => FileType::CharacterDevice,
        LinuxDeviceType::B => FileType::BlockDevice,
        LinuxDeviceType::P => FileType::Fifo,
        LinuxDeviceType::A => {
            return Err(invalid(format!(
                "{}.type: \"a\" is not a device type",
                field()
            )))
        }
    };
    let path = d
        .path()
        .to_str()
        .ok_or_else(|| invalid(format!("{}.path: not UTF-8", field())))?;
    Ok(Node {
        path: path.to_owned(),
        kind,
        major: d.major().max(0) as u32,
        minor: d.minor().max(0) as u32,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    })
}

/// Creates `node` under `root` (replacing what is there), or bind-mounts the host's node in a user namespace.
pub fn create(root: BorrowedFd<'_>, node: &Node, bind_host: bool) -> StepResult {
    let what = || format!("create device {}", node.path);
    let path = Path::new(&node.path);
    let name = path.file_name().ok_or_else(|| invalid(what()))?;
    if bind_host {
        let target = ensure_file(root, path).ctx(what)?;
        let tree = rustix::mount::open_tree(
            rustix::fs::CWD,
            path,
            rustix::mount::OpenTreeFlags::OPEN_TREE_CLONE
                | rustix::mount::OpenTreeFlags::OPEN_TREE_CLOEXEC,
        )
        .ctx(what)?;
        return super::mounts::attach(tree.as_fd(), target.as_fd(), &MountOptions::default())
            .ctx(what);
    }
    let parent: OwnedFd =
        mkdir_all(root, path.parent().unwrap_or(Path::new("/dev")), 0o755).ctx(what)?;
    match rfs::unlinkat(&parent, name, rfs::AtFlags::empty()) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(e).ctx(what),
    }
    let dev = rfs::makedev(node.major, node.minor);
    rfs::mknodat(
        &parent,
        name,
        node.kind,
        Mode::from_raw_mode(node.mode),
        dev,
    )
    .ctx(what)?;
    rfs::chownat(
        &parent,
        name,
        Some(rustix::fs::Uid::from_raw(node.uid)),
        Some(rustix::fs::Gid::from_raw(node.gid)),
        rfs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .ctx(what)
}

/// The symlinks of runtime-linux.md "Dev symbolic links", plus `/dev/ptmx` → `pts/ptmx` (with a devpts mount).
pub fn links(root: BorrowedFd<'_>, ptmx: bool) -> StepResult {
    let dev = mkdir_all(root, Path::new("/dev"), 0o755).ctx(|| "open /dev".into())?;
    let mut all = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if ptmx {
        match rfs::unlinkat(&dev, "ptmx", rfs::AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e).ctx(|| "replace /dev/ptmx".into()),
        }
        all.push(("pts/ptmx", "ptmx"));
    }
    for (target, name) in all {
        match rfs::symlinkat(target, &dev, name) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e).ctx(|| format!("symlink /dev/{name} -> {target}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_specs_six() {
        let d = default_nodes();
        assert_eq!(d.len(), 6);
        assert!(d
            .iter()
            .any(|n| n.path == "/dev/tty" && n.major == 5 && n.minor == 0));
        assert!(d
            .iter()
            .all(|n| n.mode == 0o666 && n.kind == FileType::CharacterDevice));
    }

    #[test]
    fn spec_device_is_checked() {
        let d: LinuxDevice = serde_json::from_str(
            r#"{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":438,"uid":0,"gid":0}"#,
        )
        .unwrap();
        let n = node_from_spec(&d, 0).unwrap();
        assert_eq!((n.major, n.minor, n.mode), (10, 229, 0o666));
        let a: LinuxDevice = serde_json::from_str(r#"{"path":"/dev/x","type":"a"}"#).unwrap();
        assert!(node_from_spec(&a, 3)
            .unwrap_err()
            .context
            .contains("linux.devices[3].type"));
    }
}
