//! The engine's view of CNI: where configurations and plugins live, `--net` parsing, and resolving network names
//! to conflists (writing the default `gantry0` on first use).

use std::io::Write;
use std::path::PathBuf;

use crate::conflist::{validate_name, ConfDir, Conflist, DefaultNetwork};
use crate::error::{io_err, Error, Result};

/// Where the engine's networking lives on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetOptions {
    /// Conflist directory (`/etc/gantry/net.d`).
    pub config_dir: PathBuf,
    /// Plugin directories searched in order (`/usr/lib/cni`, `/opt/cni/bin`); also passed as `CNI_PATH`.
    pub plugin_dirs: Vec<PathBuf>,
    /// The built-in default network, written to `config_dir` on first use.
    pub default_network: DefaultNetwork,
    /// Host-wide run-time state (`/run/gantry/net`): which pods use a network-wide masquerade rule.
    pub run_dir: PathBuf,
    /// How long one plugin call may take before it is killed and the call fails (a plugin waiting on the
    /// xtables lock can be slow, a hung one must not hang the pod).
    pub plugin_timeout: std::time::Duration,
}

impl NetOptions {
    /// The standard locations: conflists in `/etc/gantry/net.d`, Debian's plugins in `/usr/lib/cni` then the
    /// upstream `/opt/cni/bin`, and `gantry0`'s leases in host-local's usual `/var/lib/cni/networks`.
    ///
    /// The leases are host-wide, not under the engine's `--root`: the bridge, its subnet and the conflist that
    /// names the lease directory are host-wide too, so two engine roots on one host must draw addresses from one
    /// lease set (per-root lease sets would hand out the same address twice on one bridge).
    pub fn system() -> Self {
        Self {
            config_dir: PathBuf::from("/etc/gantry/net.d"),
            plugin_dirs: vec![PathBuf::from("/usr/lib/cni"), PathBuf::from("/opt/cni/bin")],
            default_network: DefaultNetwork::standard(PathBuf::from("/var/lib/cni/networks")),
            run_dir: PathBuf::from("/run/gantry/net"),
            plugin_timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// A `--net` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetMode {
    /// `--net host`: share the host's namespace; no CNI.
    Host,
    /// `--net none`: a new namespace with only `lo`.
    None,
    /// `--net default` or `--net NAME[,NAME...]`: a new namespace attached to these CNI networks in order
    /// (`default` is kept as the literal name and resolved by [`Cni::networks`]).
    Cni(Vec<String>),
}

impl NetMode {
    /// Parses `--net default|host|none|NAME[,NAME...]`; errors name `--net` and the value.
    pub fn parse(value: &str) -> Result<Self> {
        let bad = |reason: String| Error::BadFlag {
            flag: "--net",
            value: value.to_string(),
            reason,
        };
        match value {
            "host" => return Ok(Self::Host),
            "none" => return Ok(Self::None),
            _ => {}
        }
        let mut names: Vec<String> = Vec::new();
        for name in value.split(',') {
            if name == "host" || name == "none" {
                return Err(bad(format!(
                    "{name:?} cannot be combined with other networks"
                )));
            }
            validate_name(name).map_err(|r| bad(format!("network name {name:?} {r}")))?;
            if names.iter().any(|n| n == name) {
                return Err(bad(format!("network {name:?} is listed twice")));
            }
            names.push(name.to_string());
        }
        Ok(Self::Cni(names))
    }
}

/// The name `--net` uses for the built-in network.
pub const DEFAULT_ALIAS: &str = "default";

/// Entry point of the crate: resolves networks and attaches pods to them.
#[derive(Debug, Clone)]
pub struct Cni {
    pub(crate) opts: NetOptions,
}

impl Cni {
    /// A CNI driver with these locations.
    pub fn new(opts: NetOptions) -> Self {
        Self { opts }
    }

    /// The locations in use.
    pub fn options(&self) -> &NetOptions {
        &self.opts
    }

    /// Resolves network names (as from [`NetMode::Cni`]) to conflists, in order. `default` (and the default
    /// network's own name) selects the default network: read from `config_dir` if a file defines it, else
    /// written there first (atomically, leaving users' files untouched). Unknown names fail with
    /// [`Error::UnknownNetwork`].
    pub fn networks(&self, names: &[String]) -> Result<Vec<Conflist>> {
        let mut dir = ConfDir::scan(&self.opts.config_dir)?;
        let default_name = self.opts.default_network.name.clone();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let wanted = if name == DEFAULT_ALIAS {
                default_name.as_str()
            } else {
                name.as_str()
            };
            if let Some(c) = dir.get(wanted) {
                out.push(c.clone());
                continue;
            }
            if wanted == default_name {
                let c = self.write_default()?;
                dir.networks.push(c.clone());
                out.push(c);
                continue;
            }
            let broken = if dir.broken.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = dir.broken.iter().map(ToString::to_string).collect();
                format!("; unreadable files there: {}", list.join("; "))
            };
            return Err(Error::UnknownNetwork {
                name: name.clone(),
                dir: self.opts.config_dir.clone(),
                broken,
            });
        }
        Ok(out)
    }

    /// Writes the default network's conflist as `<config_dir>/<name>.conflist` (temp file + rename, so readers
    /// never see half a file; an existing file of that name is kept as is).
    fn write_default(&self) -> Result<Conflist> {
        let conf = self.opts.default_network.conflist();
        let dir = &self.opts.config_dir;
        std::fs::create_dir_all(dir)
            .map_err(io_err(dir, "creating the network configuration directory"))?;
        let file = dir.join(format!("{}.conflist", conf.name));
        let tmp = dir.join(format!(
            ".{}.conflist.{}.tmp",
            conf.name,
            std::process::id()
        ));
        let text = serde_json::to_vec_pretty(&conf.to_json()).unwrap_or_default();
        let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp, "creating"))?;
        f.write_all(&text)
            .and_then(|()| f.sync_all())
            .map_err(io_err(&tmp, "writing the default network"))?;
        drop(f);
        // hard_link fails if another process wrote the file first; then theirs (identical or user-edited) wins.
        let linked = std::fs::hard_link(&tmp, &file);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(Conflist {
                source: file,
                ..conf
            }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read(&file).map_err(io_err(&file, "reading"))?;
                Conflist::parse(&text, &file)
            }
            Err(e) => Err(io_err(&file, "writing the default network")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cni(dir: &Path) -> Cni {
        Cni::new(NetOptions {
            config_dir: dir.join("net.d"),
            plugin_dirs: vec![],
            default_network: DefaultNetwork::standard(dir.join("ipam")),
            run_dir: dir.join("run"),
            plugin_timeout: std::time::Duration::from_secs(5),
        })
    }

    #[test]
    fn net_mode_parses() {
        assert_eq!(NetMode::parse("host").unwrap(), NetMode::Host);
        assert_eq!(NetMode::parse("none").unwrap(), NetMode::None);
        assert_eq!(
            NetMode::parse("default,blue").unwrap(),
            NetMode::Cni(vec!["default".into(), "blue".into()])
        );
        for (v, why) in [
            ("a,,b", "1 to 64"),
            ("a,host", "cannot be combined"),
            ("a,a", "twice"),
            ("a/b", "letters"),
        ] {
            let e = NetMode::parse(v).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("--net {v:?}: ")) && e.contains(why),
                "{e}"
            );
        }
    }

    #[test]
    fn default_network_is_written_once_and_user_files_win() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cni(tmp.path());
        let nets = c.networks(&["default".into()]).unwrap();
        assert_eq!(nets[0].name, "gantry0");
        let file = tmp.path().join("net.d/gantry0.conflist");
        let first = std::fs::read(&file).unwrap();
        assert_eq!(
            c.networks(&["gantry0".into()]).unwrap()[0].plugins,
            nets[0].plugins
        );
        assert_eq!(std::fs::read(&file).unwrap(), first);
        // A user's edit is read, not overwritten.
        let edited = String::from_utf8(first)
            .unwrap()
            .replace("10.89.0.0/16", "10.77.0.0/16");
        std::fs::write(&file, &edited).unwrap();
        let again = c.networks(&["default".into()]).unwrap();
        assert_eq!(
            again[0].plugins[0]["ipam"]["ranges"][0][0]["subnet"],
            "10.77.0.0/16"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);
    }

    #[test]
    fn unknown_network_names_the_flag_and_directory() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("net.d")).unwrap();
        std::fs::write(tmp.path().join("net.d/bad.conflist"), "{").unwrap();
        let e = cni(tmp.path())
            .networks(&["blue".into()])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--net: unknown network \"blue\""), "{e}");
        assert!(e.contains("net.d") && e.contains("bad.conflist"), "{e}");
    }
}
