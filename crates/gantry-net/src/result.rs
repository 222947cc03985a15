//! CNI results (the JSON a plugin prints on success of ADD) and CNI errors (what it prints on failure), in the
//! spec 1.0 shape, which 0.3.x/0.4.0 results also fit (their extra `version` field on IPs is ignored).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// A successful ADD result. The raw JSON is kept next to it by callers, because `prevResult` must be passed on as
/// the plugin wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CniResult {
    /// The result's `cniVersion`.
    #[serde(default)]
    pub cni_version: String,
    /// Interfaces the chain created or used.
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    /// Addresses assigned.
    #[serde(default)]
    pub ips: Vec<IpConfig>,
    /// Routes installed in the namespace.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// DNS information the plugin offers.
    #[serde(default)]
    pub dns: Dns,
}

/// One interface of a result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Interface name.
    pub name: String,
    /// MAC address, if any.
    #[serde(default)]
    pub mac: String,
    /// The namespace path it lives in; empty for host-side interfaces (bridge, host veth end).
    #[serde(default)]
    pub sandbox: String,
}

/// One assigned address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    /// Address with prefix, e.g. `10.89.0.2/16`.
    pub address: String,
    /// The gateway, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// Index into `interfaces`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<usize>,
}

impl IpConfig {
    /// The address without its prefix length, if it parses.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.split('/').next()?.parse().ok()
    }
}

/// A route of a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Destination in CIDR form.
    pub dst: String,
    /// Next hop, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<IpAddr>,
}

/// DNS settings a plugin suggests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    /// Name servers.
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// Local domain.
    #[serde(default)]
    pub domain: String,
    /// Search domains.
    #[serde(default)]
    pub search: Vec<String>,
    /// resolv.conf options.
    #[serde(default)]
    pub options: Vec<String>,
}

impl CniResult {
    /// Parses a result from a plugin's standard output.
    pub fn parse(stdout: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(stdout).map_err(|e| format!("unparsable result ({e})"))
    }

    /// The first address on an interface inside a namespace (or, if none says where it is, the first address).
    pub fn pod_ip(&self) -> Option<IpAddr> {
        let in_sandbox = |ip: &&IpConfig| {
            ip.interface
                .and_then(|i| self.interfaces.get(i))
                .is_some_and(|iface| !iface.sandbox.is_empty())
        };
        self.ips
            .iter()
            .find(in_sandbox)
            .or_else(|| self.ips.first())
            .and_then(IpConfig::ip)
    }

    /// The gateway of the first address that has one.
    pub fn gateway(&self) -> Option<IpAddr> {
        self.ips.iter().find_map(|ip| ip.gateway)
    }
}

/// A plugin's error output (`code`, `msg`, `details`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CniError {
    /// The error code (1-99 are the spec's, 100+ the plugin's).
    #[serde(default)]
    pub code: u32,
    /// A short message.
    #[serde(default)]
    pub msg: String,
    /// Longer details.
    #[serde(default)]
    pub details: String,
}

impl CniError {
    /// Parses an error from a failed plugin's standard output; falls back to the raw text when it is not JSON.
    pub fn parse(stdout: &[u8], stderr: &[u8]) -> Self {
        match serde_json::from_slice::<CniError>(stdout) {
            Ok(e) if !e.msg.is_empty() || e.code != 0 => Self {
                code: e.code,
                msg: one_line(&e.msg),
                details: one_line(&e.details),
            },
            _ => {
                let text = String::from_utf8_lossy(if stdout.is_empty() { stderr } else { stdout });
                Self {
                    code: 0,
                    msg: one_line(&text.trim().chars().take(500).collect::<String>()),
                    details: String::new(),
                }
            }
        }
    }
}

/// Joins a plugin's multi-line text into one line, so errors stay one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_bridge_result() {
        let out = br#"{"cniVersion":"1.0.0","interfaces":[{"name":"gantry0","mac":"aa"},{"name":"veth1","mac":"bb"},{"name":"eth0","mac":"cc","sandbox":"/run/netns/x"}],"ips":[{"interface":2,"address":"10.89.0.5/16","gateway":"10.89.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{}}"#;
        let r = CniResult::parse(out).unwrap();
        assert_eq!(r.pod_ip(), Some("10.89.0.5".parse().unwrap()));
        assert_eq!(r.gateway(), Some("10.89.0.1".parse().unwrap()));
        assert_eq!(r.interfaces[2].sandbox, "/run/netns/x");
    }

    #[test]
    fn accepts_0_4_results_and_rejects_garbage() {
        let out = br#"{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.2/24"}]}"#;
        assert_eq!(
            CniResult::parse(out).unwrap().pod_ip(),
            Some("10.0.0.2".parse().unwrap())
        );
        assert!(CniResult::parse(b"nope").is_err());
        assert!(CniResult::parse(br#"{"ips":"x"}"#).is_err());
    }

    #[test]
    fn error_output_falls_back_to_text() {
        let e = CniError::parse(br#"{"code":7,"msg":"bad","details":"more"}"#, b"");
        assert_eq!(
            (e.code, e.msg.as_str(), e.details.as_str()),
            (7, "bad", "more")
        );
        let e = CniError::parse(b"", b"panic: boom\n");
        assert_eq!(e.msg, "panic: boom");
    }
}
