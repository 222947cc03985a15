//! Gantry's registry configuration: which registries may be reached over plain HTTP.
//!
//! File format (TOML), default path `/etc/gantry/registries.toml` (override with
//! `$GANTRY_REGISTRIES_CONF`); a missing file means "no extra insecure registries":
//!
//! ```toml
//! # Registries reached over plain HTTP instead of HTTPS. An entry is `host` (any port) or
//! # `host:port`; IPv6 hosts in brackets, e.g. "[fd00::1]:5000".
//! insecure = ["registry.lan:5000", "10.0.0.7"]
//! ```
//!
//! Loopback registries (`localhost`, `127.0.0.0/8`, `[::1]`) are always allowed plain HTTP, as they
//! never leave the machine.

use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::RegistryError;

/// Default location of the configuration file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/gantry/registries.toml";
/// Environment variable overriding [`DEFAULT_CONFIG_PATH`].
pub const CONFIG_ENV: &str = "GANTRY_REGISTRIES_CONF";

/// Registry settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Registries (`host` or `host:port`) reached over plain HTTP.
    #[serde(default)]
    pub insecure: Vec<String>,
    /// Network deadlines.
    #[serde(default)]
    pub timeouts: Timeouts,
}

/// Network deadlines, in seconds (`[timeouts]` in the file; `0` means none):
///
/// ```toml
/// [timeouts]
/// connect = 15    # DNS + TCP connect (+ TLS) of one connection
/// idle = 30       # longest wait for the next bytes of a response
/// total = 3600    # a whole pull or push, retries included
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// Seconds allowed to open one connection.
    pub connect: u64,
    /// Seconds a response may stay silent before the transfer is abandoned as stalled.
    pub idle: u64,
    /// Seconds a whole pull or push may take.
    pub total: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: 15,
            idle: 30,
            total: 3600,
        }
    }
}

impl Timeouts {
    /// `secs` as a duration, `None` for 0 (no deadline).
    pub fn duration(secs: u64) -> Option<std::time::Duration> {
        (secs > 0).then(|| std::time::Duration::from_secs(secs))
    }

    /// Runs `fut` (a whole pull or push, retries included) within the `total` deadline, if set; past it the
    /// error names `what` (made only then) and `registry`.
    pub(crate) async fn bound_total<T>(
        &self,
        registry: &str,
        what: impl FnOnce() -> String,
        fut: impl std::future::Future<Output = Result<T, RegistryError>>,
    ) -> Result<T, RegistryError> {
        match Timeouts::duration(self.total) {
            None => fut.await,
            Some(t) => tokio::time::timeout(t, fut).await.unwrap_or_else(|_| {
                Err(RegistryError::Deadline {
                    registry: registry.to_string(),
                    what: what(),
                    secs: self.total,
                })
            }),
        }
    }
}

impl RegistryConfig {
    /// Parses the TOML text of a configuration file; `path` is only used in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<RegistryConfig, RegistryError> {
        let cfg: RegistryConfig = toml::from_str(text).map_err(|e| RegistryError::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        for entry in &cfg.insecure {
            if entry.is_empty() || entry.contains(['/', ' ']) {
                return Err(RegistryError::Config {
                    path: path.to_path_buf(),
                    reason: format!(
                        "insecure entry {entry:?} must be host or host:port (no scheme, no path)"
                    ),
                });
            }
        }
        Ok(cfg)
    }

    /// Loads `path`; a missing file gives the default configuration.
    pub fn load(path: &Path) -> Result<RegistryConfig, RegistryError> {
        match std::fs::read_to_string(path) {
            Ok(text) => RegistryConfig::from_toml(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RegistryConfig::default()),
            Err(e) => Err(RegistryError::Config {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        }
    }

    /// Loads `$GANTRY_REGISTRIES_CONF` or [`DEFAULT_CONFIG_PATH`].
    pub fn load_default() -> Result<RegistryConfig, RegistryError> {
        let path = std::env::var_os(CONFIG_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
        RegistryConfig::load(&path)
    }

    /// True if `registry` (`host[:port]`) may be reached over plain HTTP.
    pub fn is_insecure(&self, registry: &str) -> bool {
        let host = host_of(registry);
        is_loopback(host)
            || self
                .insecure
                .iter()
                .any(|e| e == registry || (!has_port(e) && host_of(e) == host))
    }
}

/// The host part of `host[:port]` (brackets kept for IPv6).
fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return match registry.find(']') {
            Some(i) => &registry[..=i],
            None => registry,
        };
    }
    registry.split_once(':').map_or(registry, |(h, _)| h)
}

fn has_port(registry: &str) -> bool {
    registry.len() > host_of(registry).len()
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback());
    }
    host.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_insecure_by_default() {
        let c = RegistryConfig::default();
        for r in [
            "127.0.0.1:5000",
            "127.1.2.3",
            "localhost",
            "localhost:5000",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(c.is_insecure(r), "{r}");
        }
        for r in [
            "docker.io",
            "128.0.0.1:5000",
            "[::2]:5000",
            "localhost.example.com",
            "10.0.0.1",
        ] {
            assert!(!c.is_insecure(r), "{r}");
        }
    }

    #[test]
    fn listed_registries() {
        let p = Path::new("/x.toml");
        let c =
            RegistryConfig::from_toml("insecure = [\"reg.lan:5000\", \"10.0.0.7\"]\n", p).unwrap();
        assert!(c.is_insecure("reg.lan:5000"));
        assert!(!c.is_insecure("reg.lan:5001"));
        assert!(!c.is_insecure("reg.lan"));
        assert!(c.is_insecure("10.0.0.7"));
        assert!(c.is_insecure("10.0.0.7:443"));
    }

    #[test]
    fn bad_files() {
        let p = Path::new("/x.toml");
        assert!(RegistryConfig::from_toml("insecure = 3", p).is_err());
        assert!(RegistryConfig::from_toml("insecur = []", p).is_err());
        assert!(RegistryConfig::from_toml("insecure = [\"http://x\"]", p).is_err());
        assert_eq!(
            RegistryConfig::from_toml("", p).unwrap(),
            RegistryConfig::default()
        );
        assert!(RegistryConfig::from_toml("[timeouts]\nstall = 3\n", p).is_err());
        let t = RegistryConfig::from_toml("[timeouts]\nidle = 3\n", p)
            .unwrap()
            .timeouts;
        assert_eq!((t.connect, t.idle, t.total), (15, 3, 3600));
        assert_eq!(Timeouts::duration(0), None);
    }

    #[test]
    fn missing_file_is_default() {
        let dir = tempfile::tempdir().unwrap();
        let c = RegistryConfig::load(&dir.path().join("nope.toml")).unwrap();
        assert_eq!(c, RegistryConfig::default());
        let f = dir.path().join("r.toml");
        std::fs::write(&f, "insecure = [\"a:1\"]").unwrap();
        assert_eq!(
            RegistryConfig::load(&f).unwrap().insecure,
            vec!["a:1".to_string()]
        );
    }
}
