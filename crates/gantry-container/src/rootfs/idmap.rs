//! Id-mapped mounts (config.md "Mounts": `uidMappings`/`gidMappings`, options `idmap` and `ridmap`).
//!
//! Making a mount id-mapped needs CAP_SYS_ADMIN in the user namespace that owns the source filesystem, which the
//! container's init no longer has once it is in its own user namespace. So the runtime builds each id-mapped tree
//! before cloning: a user namespace with the mount's maps (or the container's, when the mount names none), then
//! `open_tree(OPEN_TREE_CLONE)` + `mount_setattr(MOUNT_ATTR_IDMAP)`. The init inherits the detached trees and
//! attaches each with `move_mount` onto a target resolved inside the root.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxIdMapping, Mount, Spec};
use rustix::mount::OpenTreeFlags;

use super::mounts::{attach, propagate, MountCtx};
use super::options::MountOptions;
use super::resolve::{ensure_file, mkdir_all};
use crate::error::{Error, Result};
use crate::process::fail::{invalid, Context, StepResult};

/// Detached id-mapped trees built by the runtime, by index in `mounts`.
pub type Prepared = Vec<(usize, OwnedFd)>;

/// Whether `m` asks for an id-mapped mount.
pub fn wanted(m: &Mount) -> bool {
    m.uid_mappings().is_some()
        || m.gid_mappings().is_some()
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "idmap" || o == "ridmap")
}

/// Map file content (`inside outside count` lines) for `maps`.
pub fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// The `(uid_map, gid_map)` for mount `index`: its own maps, else the container's user namespace maps.
pub fn maps_for(spec: &Spec, m: &Mount, index: usize) -> Result<(String, String)> {
    let field = format!("mounts[{index}]");
    let linux = spec.linux().as_ref();
    let (uid, gid) = match (m.uid_mappings(), m.gid_mappings()) {
        (Some(u), Some(g)) => (u.clone(), g.clone()),
        (None, None) => (
            linux
                .and_then(|l| l.uid_mappings().clone())
                .unwrap_or_default(),
            linux
                .and_then(|l| l.gid_mappings().clone())
                .unwrap_or_default(),
        ),
        _ => return Err(Error::Unsupported {
            field: format!("{field}.uidMappings/gidMappings"),
            reason:
                "both must be given, or neither (then the container's user namespace maps are used)"
                    .into(),
        }),
    };
    if uid.is_empty() || gid.is_empty() {
        return Err(Error::Unsupported {
            field,
            reason: "an id-mapped mount needs uidMappings and gidMappings on the mount, or a user namespace \
                     with linux.uidMappings/gidMappings"
                .into(),
        });
    }
    Ok((map_text(&uid), map_text(&gid)))
}

/// Builds every id-mapped tree of `spec` (in the runtime, before clone).
pub fn prepare(spec: &Spec, bundle: &Path) -> Result<Prepared> {
    let mut out = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !wanted(m) {
            continue;
        }
        let field = || format!("mounts[{i}] ({})", m.destination().display());
        let opts_list = m.options().clone().unwrap_or_default();
        let opts = MountOptions::parse(&opts_list);
        if !(opts.bind || m.typ().as_deref() == Some("bind")) {
            return Err(Error::Unsupported {
                field: field(),
                reason:
                    "id mapping (idmap/ridmap, uidMappings/gidMappings) applies to bind mounts only"
                        .into(),
            });
        }
        let Some(source) = m.source() else {
            return Err(Error::Unsupported {
                field: field(),
                reason: "a bind mount needs a source".into(),
            });
        };
        let source = if source.is_absolute() {
            source.clone()
        } else {
            bundle.join(source)
        };
        let (uid, gid) = maps_for(spec, m, i)?;
        let userns = gantry_sys::userns::with_maps(&uid, &gid).map_err(|e| Error::Unsupported {
            field: format!("{}.uidMappings/gidMappings", field()),
            reason: format!("cannot create a user namespace with these maps: {e}"),
        })?;
        let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
        if opts.recursive {
            flags |= OpenTreeFlags::AT_RECURSIVE;
        }
        let tree = rustix::mount::open_tree(rustix::fs::CWD, &source, flags)
            .map_err(|e| Error::path("open the bind source", &source, e.into()))?;
        let recursive = opts_list.iter().any(|o| o == "ridmap");
        gantry_sys::mount::mount_setattr_idmap(tree.as_fd(), recursive, userns.as_fd()).map_err(|e| {
            Error::Unsupported {
                field: field(),
                reason: format!(
                    "cannot make {} id-mapped: {e} (the filesystem must support id-mapped mounts{})",
                    source.display(),
                    if recursive { ", and so must every mount under it for ridmap" } else { "" }
                ),
            }
        })?;
        out.push((i, tree));
    }
    Ok(out)
}

/// In the init: attaches the prepared tree for `mounts[index]` onto its destination inside the root.
pub fn mount(ctx: &MountCtx<'_>, m: &Mount, index: usize, opts: &MountOptions) -> StepResult {
    let dest = m.destination();
    let what = || format!("mounts[{index}] (id-mapped bind on {})", dest.display());
    let tree: BorrowedFd<'_> = ctx
        .idmapped
        .iter()
        .find(|(i, _)| *i == index)
        .map(|(_, fd)| fd.as_fd())
        .ok_or_else(|| {
            invalid(format!(
                "{}: the runtime prepared no id-mapped tree",
                what()
            ))
        })?;
    let st = rustix::fs::fstat(tree).ctx(what)?;
    let target =
        if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory {
            mkdir_all(ctx.root, dest, 0o755)
        } else {
            ensure_file(ctx.root, dest)
        }
        .ctx(what)?;
    attach(tree, target.as_fd(), opts).ctx(what)?;
    propagate(ctx.root, dest, opts).ctx(what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> Spec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn mount_maps_win_over_the_containers() {
        let s = spec(serde_json::json!({
            "ociVersion": "1.2.0",
            "mounts": [{"destination": "/a", "type": "bind", "source": "/x", "options": ["bind", "idmap"],
                        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]},
                       {"destination": "/b", "type": "bind", "source": "/x", "options": ["rbind", "ridmap"]}],
            "linux": {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                      "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}
        }));
        let m = s.mounts().as_ref().unwrap();
        assert!(wanted(&m[0]) && wanted(&m[1]));
        assert_eq!(
            maps_for(&s, &m[0], 0).unwrap(),
            ("0 1000 1\n".into(), "0 1000 1\n".into())
        );
        assert_eq!(
            maps_for(&s, &m[1], 1).unwrap(),
            ("0 100000 65536\n".into(), "0 100000 65536\n".into())
        );
    }

    #[test]
    fn idmap_without_any_maps_is_refused() {
        let s = spec(serde_json::json!({
            "ociVersion": "1.2.0",
            "mounts": [{"destination": "/a", "type": "bind", "source": "/x", "options": ["bind", "idmap"]}]
        }));
        let m = &s.mounts().as_ref().unwrap()[0];
        assert!(maps_for(&s, m, 0)
            .unwrap_err()
            .to_string()
            .starts_with("mounts[0]: "));
    }
}
