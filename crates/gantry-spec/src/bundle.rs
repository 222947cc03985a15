//! An OCI bundle on disk: its directory, its parsed and validated config.json, its rootfs.

use std::io::{ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::{parse, validate, SpecError};

/// Largest config.json accepted. Real ones are a few KiB; seccomp profiles push them to ~100 KiB.
pub const MAX_CONFIG_SIZE: u64 = 16 << 20;

/// A loaded bundle: the spec passed [`validate`](crate::validate()).
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory, absolute (made so lexically: symlinks are not resolved).
    pub dir: PathBuf,
    /// The parsed config.json.
    pub spec: Spec,
    /// The root filesystem: `root.path`, joined to `dir` when relative. It exists and is a directory.
    pub rootfs: PathBuf,
    /// The bytes of config.json exactly as read and validated (kept so a runtime can record the config it ran
    /// without reading the bundle again).
    pub raw_config: Vec<u8>,
}

impl Bundle {
    /// Reads `<dir>/config.json` once, parses it and validates it.
    pub fn load(dir: &Path) -> Result<Bundle, SpecError> {
        let dir = std::path::absolute(dir).map_err(|e| SpecError::BundleDir {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let config = dir.join("config.json");
        let bytes = read_config(&dir, &config)?;
        let spec = parse(&bytes)?;
        let rootfs = validate::validate_with_rootfs(&spec, &dir)?;
        Ok(Bundle {
            dir,
            spec,
            rootfs,
            raw_config: bytes,
        })
    }
}

/// Reads config.json with one open, one fstat and (normally) one read of the whole file.
fn read_config(dir: &Path, config: &Path) -> Result<Vec<u8>, SpecError> {
    // O_NONBLOCK: a FIFO planted as config.json must not hang the runtime in open(2); it is
    // then refused as not a regular file. Reads of regular files ignore the flag.
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(config);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(if dir.is_dir() {
                SpecError::ConfigMissing {
                    path: config.to_path_buf(),
                }
            } else {
                SpecError::BundleDir {
                    path: dir.to_path_buf(),
                    reason: String::from("no such directory"),
                }
            })
        }
        Err(e) if e.kind() == ErrorKind::NotADirectory => {
            return Err(SpecError::BundleDir {
                path: dir.to_path_buf(),
                reason: String::from("not a directory"),
            })
        }
        Err(source) => {
            return Err(SpecError::Read {
                path: config.to_path_buf(),
                source,
            })
        }
    };
    let read_err = |source| SpecError::Read {
        path: config.to_path_buf(),
        source,
    };
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(read_err(std::io::Error::new(
            ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let too_large = |size| SpecError::TooLarge {
        path: config.to_path_buf(),
        size,
        limit: MAX_CONFIG_SIZE,
    };
    if meta.len() > MAX_CONFIG_SIZE {
        return Err(too_large(meta.len()));
    }
    // +1 so a file of exactly its stat size is read without growing the buffer; the `take`
    // bounds files that grow (or lie about their size, like some FUSE and proc files).
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    file.take(MAX_CONFIG_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_CONFIG_SIZE {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}
