//! A container's root filesystem: overlayfs over the image's snapshots, mounted in a mount namespace private to
//! this `gantry` process. The container's own mount namespace is cloned from it, so the overlay lives exactly as
//! long as the container (and this process) need it: nothing is mounted on the host, and a `kill -9` of gantry
//! cannot leak a mount.

use std::path::Path;

use anyhow::Context;
use gantry_image::{ContainerRootfs, Store, UnpackOptions};
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

/// How the rootfs was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// overlayfs over shared snapshots.
    Overlay,
    /// A private flattened copy (overlayfs unavailable).
    Flat,
}

/// Moves this process into a new mount namespace whose mounts receive the host's changes but never propagate
/// back (`rslave`). Must run before any thread is started (it does not need to: namespaces are per process here).
pub fn private_mount_namespace() -> anyhow::Result<()> {
    gantry_sys::namespace::unshare_namespaces(libc::CLONE_NEWNS as u32)
        .context("unsharing a private mount namespace for the container's rootfs")?;
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .context("making / a slave mount in gantry's private mount namespace")?;
    Ok(())
}

/// Creates container `id`'s rootfs from `image` and mounts it; falls back to a flat copy when the kernel refuses
/// overlayfs (no module, or a filesystem that cannot hold an upper dir).
pub fn create(store: &Store, id: &str, image: &str) -> anyhow::Result<(ContainerRootfs, Kind)> {
    let opts = UnpackOptions::default();
    let rootfs = store
        .create_container(id, image, &opts)
        .with_context(|| format!("preparing the rootfs of {image}"))?;
    let data = rootfs.overlay_options()?;
    match mount_overlay(&rootfs.rootfs, &data) {
        Ok(()) => Ok((rootfs, Kind::Overlay)),
        Err(e) if matches!(e, rustix::io::Errno::NODEV | rustix::io::Errno::INVAL) => {
            eprintln!(
                "gantry: overlayfs unavailable ({e}); copying the image into a private rootfs"
            );
            store.remove_container(id)?;
            let flat = store
                .create_container_flat(id, image, &opts)
                .with_context(|| format!("copying {image} into a flat rootfs"))?;
            Ok((flat, Kind::Flat))
        }
        Err(e) => {
            let _ = store.remove_container(id);
            Err(anyhow::Error::new(e).context(format!(
                "mounting overlayfs on {} ({data})",
                rootfs.rootfs.display()
            )))
        }
    }
}

fn mount_overlay(target: &Path, data: &str) -> rustix::io::Result<()> {
    let data = std::ffi::CString::new(data).map_err(|_| rustix::io::Errno::INVAL)?;
    rustix::mount::mount(
        "overlay",
        target,
        "overlay",
        MountFlags::NODEV,
        Some(data.as_c_str()),
    )
}

/// Unmounts (if mounted) and forgets the rootfs; the store deletes the upper layer.
pub fn remove(store: &Store, id: &str, rootfs: &Path) -> anyhow::Result<()> {
    match rustix::mount::unmount(rootfs, UnmountFlags::DETACH) {
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("unmounting {}", rootfs.display())))
        }
    }
    store
        .remove_container(id)
        .with_context(|| format!("removing the rootfs of container {id}"))
}
