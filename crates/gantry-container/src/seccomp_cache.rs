//! A cache of generated seccomp programs under the state root. libseccomp needs ~20 ms to turn a default-sized
//! profile into BPF (three x86 ABIs, ~350 rules), and that would be paid by every `create`. The program depends
//! only on the profile and the libseccomp version, so it is kept in `<root>/.cache:seccomp/<sha256>.bpf` (the `:`
//! makes the name an invalid container id, so it never collides with or lists as a container). The state root is
//! root-owned (0700) and normally a tmpfs, so the cache is trusted and lasts until reboot. Writes are atomic
//! (temporary file, then rename); a damaged or unreadable entry is simply regenerated.

use std::path::{Path, PathBuf};

use gantry_security::seccomp::{self, Program};
use oci_spec::runtime::LinuxSeccomp;

use crate::error::Result;

/// Directory of the cache inside the state root.
pub const CACHE_DIR: &str = ".cache:seccomp";

/// The program for `profile`: from the cache when present, else compiled (and then cached, best effort).
pub fn program(state_root: &Path, profile: &LinuxSeccomp) -> Result<Program> {
    let path = entry_path(state_root, profile);
    if let Some(p) = path
        .as_ref()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| Program::from_bytes(&b))
    {
        return Ok(p);
    }
    let filter = seccomp::compile(profile)?;
    if !filter.unknown_syscalls().is_empty() {
        tracing::debug!(
            "linux.seccomp: syscalls unknown to libseccomp skipped: {:?}",
            filter.unknown_syscalls()
        );
    }
    let program = filter.program()?;
    if let Some(path) = path {
        store(&path, &program.to_bytes());
    }
    Ok(program)
}

/// Where the program of `profile` is cached; `None` if the profile cannot be serialised (then it is not cached).
fn entry_path(state_root: &Path, profile: &LinuxSeccomp) -> Option<PathBuf> {
    let mut key = serde_json::to_vec(profile).ok()?;
    key.extend_from_slice(seccomp::generator_version().as_bytes());
    key.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    let digest = gantry_oci::Digest::sha256_of(&key);
    Some(
        state_root
            .join(CACHE_DIR)
            .join(format!("{}.bpf", digest.hex())),
    )
}

fn store(path: &Path, bytes: &[u8]) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir(dir).is_ok() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(errno: u32) -> LinuxSeccomp {
        serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]
        }))
        .unwrap()
    }

    #[test]
    fn a_program_is_cached_and_reused_and_keyed_by_profile() {
        let tmp = tempfile::tempdir().unwrap();
        let fresh = program(tmp.path(), &profile(18)).unwrap();
        let entries: Vec<_> = std::fs::read_dir(tmp.path().join(CACHE_DIR))
            .unwrap()
            .collect();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            program(tmp.path(), &profile(18)).unwrap(),
            fresh,
            "the cached program is the same"
        );
        let other = program(tmp.path(), &profile(1)).unwrap();
        assert_ne!(other, fresh, "another profile has another entry");
        assert_eq!(
            std::fs::read_dir(tmp.path().join(CACHE_DIR))
                .unwrap()
                .count(),
            2
        );
        // A damaged entry is regenerated, not used.
        let path = entry_path(tmp.path(), &profile(18)).unwrap();
        std::fs::write(&path, b"bad").unwrap();
        assert_eq!(program(tmp.path(), &profile(18)).unwrap(), fresh);
        assert!(
            crate::id::validate(CACHE_DIR).is_err(),
            "the cache never looks like a container"
        );
    }
}
