//! CNI network configuration lists (`.conflist`, and single-plugin `.conf`/`.json` files), as the CNI spec 1.0
//! defines them: `cniVersion`, `name`, `disableCheck`, `plugins` — each plugin an object with a `type` and
//! plugin-specific keys that are passed through untouched.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{io_err, Error, Result};

/// CNI versions whose configuration and result formats this crate understands.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/// One parsed network configuration list.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflist {
    /// The network name (`name`), what `--net NAME` selects.
    pub name: String,
    /// The CNI version of the configuration (`cniVersion`).
    pub cni_version: String,
    /// `disableCheck`: when true, [`crate::Cni::check`] skips this network.
    pub disable_check: bool,
    /// The plugins, in chain order; each has a string `type`.
    pub plugins: Vec<Map<String, Value>>,
    /// `gantryMasquerade` (gantry's own key, which other CNI runtimes ignore): gantry keeps one masquerade
    /// rule per subnet of the bridge plugin for the whole network (see the `netrules` module), in place of the
    /// bridge plugin's per-pod `ipMasq` rules.
    pub gantry_masquerade: bool,
    /// `gantryForward` (gantry's own key): gantry keeps FORWARD accept rules per subnet of the bridge plugin for
    /// the whole network, in place of the firewall plugin's per-pod rules.
    pub gantry_forward: bool,
    /// Where it came from (a file, or `<built-in>`), for error messages.
    pub source: PathBuf,
}

impl Conflist {
    /// Parses a conflist (or, when it has a top-level `type` and no `plugins`, a single-plugin `.conf`) from JSON
    /// text. `source` is only used in error messages.
    pub fn parse(text: &[u8], source: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Config {
            path: source.to_path_buf(),
            reason,
        };
        let value: Value =
            serde_json::from_slice(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        Self::from_value(value, source)
    }

    /// Builds a conflist from already parsed JSON (see [`Conflist::parse`]).
    pub fn from_value(value: Value, source: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Config {
            path: source.to_path_buf(),
            reason,
        };
        let Value::Object(mut top) = value else {
            return Err(bad("the top level must be a JSON object".into()));
        };
        let name = match top.remove("name") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(bad("\"name\" must be a string".into())),
            None => return Err(bad("\"name\" is missing".into())),
        };
        validate_name(&name).map_err(|r| bad(format!("\"name\" {name:?}: {r}")))?;
        let cni_version = match top.remove("cniVersion") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(bad("\"cniVersion\" must be a string".into())),
            None => return Err(bad("\"cniVersion\" is missing".into())),
        };
        if !SUPPORTED_VERSIONS.contains(&cni_version.as_str()) {
            return Err(bad(format!(
                "\"cniVersion\" {cni_version:?} is not supported (use one of {})",
                SUPPORTED_VERSIONS.join(", ")
            )));
        }
        let disable_check = match top.remove("disableCheck") {
            None => false,
            Some(Value::Bool(b)) => b,
            Some(_) => return Err(bad("\"disableCheck\" must be true or false".into())),
        };
        let mut flag = |key: &str| match top.remove(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(_) => Err(bad(format!("\"{key}\" must be true or false"))),
        };
        let gantry_masquerade = flag(crate::netrules::MASQUERADE_KEY)?;
        let gantry_forward = flag(crate::netrules::FORWARD_KEY)?;
        let plugins = match top.remove("plugins") {
            Some(Value::Array(list)) => list,
            Some(_) => return Err(bad("\"plugins\" must be an array".into())),
            // A single-plugin .conf: the rest of the object is the plugin.
            None if top.contains_key("type") => vec![Value::Object(top)],
            None => return Err(bad("\"plugins\" is missing".into())),
        };
        if plugins.is_empty() {
            return Err(bad("\"plugins\" is empty".into()));
        }
        let mut out = Vec::with_capacity(plugins.len());
        for (i, plugin) in plugins.into_iter().enumerate() {
            let Value::Object(plugin) = plugin else {
                return Err(bad(format!("plugins[{i}] must be an object")));
            };
            match plugin.get("type") {
                Some(Value::String(t)) => validate_plugin_type(t)
                    .map_err(|r| bad(format!("plugins[{i}].type {t:?}: {r}")))?,
                Some(_) => return Err(bad(format!("plugins[{i}].type must be a string"))),
                None => return Err(bad(format!("plugins[{i}].type is missing"))),
            }
            out.push(plugin);
        }
        let list = Self {
            name,
            cni_version,
            disable_check,
            plugins: out,
            gantry_masquerade,
            gantry_forward,
            source: source.to_path_buf(),
        };
        crate::netrules::rules_of(&list)?;
        Ok(list)
    }

    /// The plugin types in chain order (e.g. `["bridge", "portmap"]`).
    pub fn plugin_types(&self) -> impl Iterator<Item = &str> {
        self.plugins
            .iter()
            .map(|p| p.get("type").and_then(Value::as_str).unwrap_or_default())
    }

    /// The conflist as standard JSON (what [`Conflist::parse`] reads back).
    pub fn to_json(&self) -> Value {
        let mut top = Map::new();
        top.insert("cniVersion".into(), self.cni_version.clone().into());
        top.insert("name".into(), self.name.clone().into());
        if self.disable_check {
            top.insert("disableCheck".into(), true.into());
        }
        if self.gantry_masquerade {
            top.insert(crate::netrules::MASQUERADE_KEY.into(), true.into());
        }
        if self.gantry_forward {
            top.insert(crate::netrules::FORWARD_KEY.into(), true.into());
        }
        top.insert(
            "plugins".into(),
            Value::Array(self.plugins.iter().cloned().map(Value::Object).collect()),
        );
        Value::Object(top)
    }

    /// Whether CHECK exists for this configuration's version (0.4.0 and later) and is not disabled.
    pub fn supports_check(&self) -> bool {
        !self.disable_check && !self.cni_version.starts_with("0.3.")
    }
}

/// A network name must be usable as a file name and in iptables comments: letters, digits, `_`, `.`, `-`,
/// starting with a letter or digit, at most 64 bytes.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if name.is_empty() || name.len() > 64 {
        return Err("must be 1 to 64 characters".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) || !name.chars().all(ok_char) {
        return Err(
            "must start with a letter or digit and hold only letters, digits, '_', '.' and '-'"
                .into(),
        );
    }
    Ok(())
}

/// A plugin type names an executable in the plugin directories: no path separators, no `.`/`..`.
fn validate_plugin_type(t: &str) -> Result<(), String> {
    if t.is_empty() || t == "." || t == ".." || t.contains('/') || t.contains('\0') {
        return Err("must be a plain executable name".into());
    }
    Ok(())
}

/// The outcome of scanning a configuration directory.
#[derive(Debug, Default)]
pub struct ConfDir {
    /// Valid network configurations, sorted by file name; the first file wins when two share a name.
    pub networks: Vec<Conflist>,
    /// Files that could not be read or parsed, with their error.
    pub broken: Vec<Error>,
}

impl ConfDir {
    /// Reads every `*.conflist`, `*.conf` and `*.json` file in `dir` (sorted by name). A missing directory is
    /// empty. Files are only read, never changed.
    pub fn scan(dir: &Path) -> Result<Self> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(io_err(dir, "reading the network configuration directory")(
                    e,
                ))
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("conflist" | "conf" | "json")
                )
            })
            .collect();
        files.sort();
        let mut out = Self::default();
        for file in files {
            let parsed = std::fs::read(&file)
                .map_err(io_err(&file, "reading a network configuration"))
                .and_then(|text| Conflist::parse(&text, &file));
            match parsed {
                Ok(c) if out.networks.iter().any(|n| n.name == c.name) => {
                    tracing::warn!(file = %file.display(), name = %c.name, "network name defined by an earlier file; ignored");
                }
                Ok(c) => out.networks.push(c),
                Err(e) => out.broken.push(e),
            }
        }
        Ok(out)
    }

    /// The network called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Conflist> {
        self.networks.iter().find(|n| n.name == name)
    }
}

/// Parameters of the built-in default bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultNetwork {
    /// Network name (`gantry0`).
    pub name: String,
    /// Linux bridge device name (`gantry0`).
    pub bridge: String,
    /// IPv4 subnet in CIDR form (`10.89.0.0/16`).
    pub subnet: String,
    /// host-local's lease directory (`dataDir`).
    pub ipam_dir: PathBuf,
}

impl DefaultNetwork {
    /// The standard default: network and bridge `gantry0` on 10.89.0.0/16 (podman uses 10.88.0.0/16), leases under
    /// `ipam_dir`.
    pub fn standard(ipam_dir: PathBuf) -> Self {
        Self {
            name: crate::DEFAULT_NETWORK.into(),
            bridge: crate::DEFAULT_NETWORK.into(),
            subnet: "10.89.0.0/16".into(),
            ipam_dir,
        }
    }

    /// The conflist: bridge (gateway, hairpin) with host-local IPAM, then portmap and tuning. Outbound
    /// masquerade and FORWARD acceptance come from gantry's network-wide rules (`gantryMasquerade`,
    /// `gantryForward`, see the `netrules` module) rather than from the bridge plugin's `ipMasq` and the firewall
    /// plugin, whose per-pod rules cost nineteen `iptables` runs per pod start and eight per pod end.
    pub fn conflist(&self) -> Conflist {
        let json = serde_json::json!({
            "cniVersion": "1.0.0",
            "name": self.name,
            (crate::netrules::MASQUERADE_KEY): true,
            (crate::netrules::FORWARD_KEY): true,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.bridge,
                    "isGateway": true,
                    "ipMasq": false,
                    "hairpinMode": true,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": self.subnet}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": self.ipam_dir,
                    }
                },
                {"type": "portmap", "capabilities": {"portMappings": true}},
                {"type": "tuning"}
            ]
        });
        // The JSON above is fixed and valid, but go through the one parser anyway.
        Conflist::from_value(json, Path::new("<built-in default network>"))
            .unwrap_or_else(|e| unreachable!("built-in default network is invalid: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Conflist> {
        Conflist::parse(s.as_bytes(), Path::new("t.conflist"))
    }

    #[test]
    fn parses_a_standard_conflist() {
        let c = parse(
            r#"{"cniVersion":"1.0.0","name":"n1","plugins":[{"type":"bridge","bridge":"b0","ipam":{"type":"host-local"}},{"type":"portmap","capabilities":{"portMappings":true}}]}"#,
        )
        .unwrap();
        assert_eq!(c.name, "n1");
        assert_eq!(c.plugin_types().collect::<Vec<_>>(), ["bridge", "portmap"]);
        assert_eq!(c.plugins[0]["bridge"], "b0");
        assert!(c.supports_check());
        let back = Conflist::from_value(c.to_json(), Path::new("x")).unwrap();
        assert_eq!(back.plugins, c.plugins);
    }

    #[test]
    fn single_plugin_conf_becomes_a_list() {
        let c =
            parse(r#"{"cniVersion":"0.3.1","name":"n2","type":"bridge","bridge":"b1"}"#).unwrap();
        assert_eq!(c.plugins.len(), 1);
        assert_eq!(c.plugins[0]["bridge"], "b1");
        assert!(!c.supports_check());
    }

    #[test]
    fn errors_name_the_field() {
        for (text, field) in [
            ("[]", "top level"),
            (
                r#"{"cniVersion":"1.0.0","plugins":[]}"#,
                "\"name\" is missing",
            ),
            (
                r#"{"cniVersion":"9.9.9","name":"a","plugins":[{"type":"x"}]}"#,
                "\"cniVersion\"",
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"a","plugins":[]}"#,
                "\"plugins\" is empty",
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"../x"}]}"#,
                "plugins[0].type",
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"a","plugins":[{"bridge":"x"}]}"#,
                "plugins[0].type is missing",
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"a b","plugins":[{"type":"x"}]}"#,
                "\"name\"",
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"a","disableCheck":"yes","plugins":[{"type":"x"}]}"#,
                "disableCheck",
            ),
            ("{", "not valid JSON"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(field), "{text}: {err}");
            assert!(err.starts_with("t.conflist: "), "{err}");
        }
    }

    #[test]
    fn default_network_is_the_documented_chain() {
        let c = DefaultNetwork::standard("/var/lib/x".into()).conflist();
        assert_eq!(c.name, "gantry0");
        assert_eq!(
            c.plugin_types().collect::<Vec<_>>(),
            ["bridge", "portmap", "tuning"]
        );
        assert!(c.gantry_masquerade && c.gantry_forward);
        assert_eq!(c.plugins[0]["ipMasq"], false);
        assert_eq!(
            c.plugins[0]["ipam"]["ranges"][0][0]["subnet"],
            "10.89.0.0/16"
        );
        assert_eq!(c.plugins[0]["ipam"]["dataDir"], "/var/lib/x");
    }

    #[test]
    fn scan_reads_sorted_files_and_reports_broken_ones() {
        let dir = tempfile::tempdir().unwrap();
        let one = r#"{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"bridge"}]}"#;
        std::fs::write(dir.path().join("10-a.conflist"), one).unwrap();
        std::fs::write(
            dir.path().join("20-a.conflist"),
            one.replace("bridge", "ptp"),
        )
        .unwrap();
        std::fs::write(dir.path().join("30-bad.conf"), "{").unwrap();
        std::fs::write(dir.path().join("README"), "not a config").unwrap();
        let scanned = ConfDir::scan(dir.path()).unwrap();
        assert_eq!(scanned.networks.len(), 1);
        assert_eq!(
            scanned.get("a").unwrap().plugin_types().next(),
            Some("bridge")
        );
        assert_eq!(scanned.broken.len(), 1);
        assert!(ConfDir::scan(&dir.path().join("missing"))
            .unwrap()
            .networks
            .is_empty());
    }
}
