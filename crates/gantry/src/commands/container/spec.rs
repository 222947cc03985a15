//! The OCI runtime config of an engine container: runc's default spec, the image's process (Entrypoint, Cmd, Env,
//! WorkingDir, User, resolved by `gantry_image::bundle`), and the command line's flags.

use std::path::{Path, PathBuf};

use anyhow::Context;
use oci_spec::runtime::{LinuxNamespaceType, Mount, Process, Spec};

/// Network modes of `--net` (set up by gantry itself, see `network`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Net {
    /// A new network namespace with only a loopback device.
    None,
    /// The host's network namespace.
    Host,
}

/// One `-v HOST:CTR[:ro|rw]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Absolute, canonical host path.
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub destination: String,
    /// Mounted read-only.
    pub readonly: bool,
}

impl Volume {
    /// Parses `HOST:CTR[:OPTS]` (OPTS: `ro` or `rw`); the host path must exist.
    pub fn parse(s: &str) -> anyhow::Result<Volume> {
        let parts: Vec<&str> = s.split(':').collect();
        let (host, ctr, opts) = match parts.as_slice() {
            [h, c] => (*h, *c, ""),
            [h, c, o] => (*h, *c, *o),
            _ => anyhow::bail!(
                "-v {s:?}: expected HOST:CONTAINER[:ro|rw] (anonymous and named volumes are not supported yet)"
            ),
        };
        anyhow::ensure!(
            host.starts_with('/'),
            "-v {s:?}: the host path must be absolute (named volumes are not supported yet)"
        );
        anyhow::ensure!(
            ctr.starts_with('/') && ctr != "/",
            "-v {s:?}: the container path must be absolute and not /"
        );
        let readonly = match opts {
            "" | "rw" => false,
            "ro" => true,
            o => anyhow::bail!("-v {s:?}: unknown option {o:?} (use ro or rw)"),
        };
        let source =
            std::fs::canonicalize(host).with_context(|| format!("-v {s:?}: host path {host}"))?;
        Ok(Volume {
            source,
            destination: ctr.to_owned(),
            readonly,
        })
    }
}

/// What the engine puts into the spec besides the image's process.
#[derive(Debug, Clone)]
pub struct Settings<'a> {
    /// Container ID (names the cgroup).
    pub id: &'a str,
    /// Hostname inside the container.
    pub hostname: &'a str,
    /// Absolute rootfs path.
    pub rootfs: &'a Path,
    /// Bind mounts.
    pub volumes: &'a [Volume],
    /// Allocate a terminal.
    pub terminal: bool,
    /// Initial terminal size (rows, columns).
    pub console_size: Option<(u16, u16)>,
    /// Capabilities, limits and the other security flags.
    pub confinement: &'a super::confine::Confinement,
}

/// Builds the runtime spec from runc's defaults, the image's `process` and the settings.
pub fn build(image_process: &Process, s: &Settings<'_>) -> anyhow::Result<Spec> {
    let mut spec = gantry_spec::default_spec(false);
    let mut p = spec.process().clone().unwrap_or_default();
    p.set_args(image_process.args().clone());
    let mut env = image_process.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
        env.push(format!("HOSTNAME={}", s.hostname));
    }
    if s.terminal && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    p.set_env(Some(env));
    p.set_cwd(image_process.cwd().clone());
    p.set_user(image_process.user().clone());
    p.set_terminal(Some(s.terminal));
    if let (true, Some((rows, cols))) = (s.terminal, s.console_size) {
        let b = oci_spec::runtime::BoxBuilder::default()
            .height(u64::from(rows))
            .width(u64::from(cols))
            .build()?;
        p.set_console_size(Some(b));
    }
    spec.set_process(Some(p));
    let mut root = spec.root().clone().unwrap_or_default();
    root.set_path(s.rootfs.to_path_buf());
    root.set_readonly(Some(false));
    spec.set_root(Some(root));
    spec.set_hostname(Some(s.hostname.to_owned()));
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    for v in s.volumes {
        let mut m = Mount::default();
        m.set_destination(PathBuf::from(&v.destination));
        m.set_typ(Some("bind".into()));
        m.set_source(Some(v.source.clone()));
        let mut o = vec!["rbind".to_owned(), "rprivate".to_owned()];
        if v.readonly {
            o.push("ro".into());
        }
        m.set_options(Some(o));
        mounts.push(m);
    }
    spec.set_mounts(Some(mounts));
    let mut linux = spec.linux().clone().unwrap_or_default();
    // Absolute: a relative path would put the container under the caller's own cgroup.
    linux.set_cgroups_path(Some(PathBuf::from(format!("/gantry/{}", s.id))));
    // The container shares gantry's network namespace: the host's (`--net host`), or the private one gantry
    // made with `lo` up (`--net none`, see `network`).
    let mut ns = linux.namespaces().clone().unwrap_or_default();
    ns.retain(|n| n.typ() != LinuxNamespaceType::Network);
    linux.set_namespaces(Some(ns));
    spec.set_linux(Some(linux));
    s.confinement.apply(&mut spec)?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_parse() {
        let v = Volume::parse("/tmp:/data:ro").unwrap();
        assert!(v.readonly && v.destination == "/data" && v.source.is_absolute());
        assert!(!Volume::parse("/tmp:/data").unwrap().readonly);
        assert!(Volume::parse("rel:/data").is_err());
        assert!(Volume::parse("/tmp:data").is_err());
        assert!(Volume::parse("/tmp:/d:zz").is_err());
        assert!(Volume::parse("/nonexistent-gantry-path:/d").is_err());
    }

    #[test]
    fn spec_from_settings() {
        let mut p = Process::default();
        p.set_args(Some(vec!["/hello".into()]));
        let vols = [Volume::parse("/tmp:/data:ro").unwrap()];
        let s = Settings {
            id: "abc",
            hostname: "h",
            rootfs: Path::new("/r"),
            volumes: &vols,
            terminal: false,
            console_size: None,
            confinement: &Default::default(),
        };
        let spec = build(&p, &s).unwrap();
        let l = spec.linux().clone().unwrap();
        assert_eq!(l.cgroups_path().clone().unwrap(), Path::new("/gantry/abc"));
        assert!(!l
            .namespaces()
            .clone()
            .unwrap()
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Network));
        assert_eq!(spec.process().clone().unwrap().terminal(), Some(false));
        let m = spec.mounts().clone().unwrap();
        assert!(m.iter().any(|m| m.destination() == Path::new("/data")
            && m.options().clone().unwrap().contains(&"ro".to_string())));
    }
}
