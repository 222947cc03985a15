//! The `--systemd-cgroup` driver: refused with a clear error (no D-Bus client in this build).

use crate::error::CgroupError;
use std::path::Path;

/// Checks whether the systemd cgroup driver can be used, as `--systemd-cgroup` requires.
///
/// Without systemd (no `/run/systemd/system`) this is [`CgroupError::SystemdNotRunning`]; with systemd it is
/// [`CgroupError::SystemdUnsupported`], since driving systemd over D-Bus is not implemented yet. Either way the
/// caller should fail before creating anything.
pub fn systemd_driver() -> Result<(), CgroupError> {
    systemd_driver_at(Path::new("/run/systemd/system"))
}

fn systemd_driver_at(marker: &Path) -> Result<(), CgroupError> {
    if marker.is_dir() {
        Err(CgroupError::SystemdUnsupported)
    } else {
        Err(CgroupError::SystemdNotRunning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_clearly() {
        let tmp = tempfile::tempdir().unwrap();
        let err = systemd_driver_at(&tmp.path().join("absent")).unwrap_err();
        assert!(err.to_string().starts_with(
            "systemd cgroup driver requested but systemd is not running (no /run/systemd/system)"
        ));
        assert!(matches!(
            systemd_driver_at(tmp.path()),
            Err(CgroupError::SystemdUnsupported)
        ));
    }
}
