//! A fallback for one gap of the bridge/ptp plugins (as of containernetworking-plugins 1.1): on DEL they find the
//! addresses whose masquerade rules to remove by looking inside the pod's namespace, so when the namespace is
//! already gone (gc after a crash that lost it), or the addresses in it changed, those rules stay. This removes them by their comment, which
//! names the network and the container ID: `POSTROUTING -s IP -m comment --comment 'name: "NET" id: "ID"'
//! -j CNI-...`, then the per-pod chain it jumps to.

use std::process::Command;

/// Which address families a pod had on a network (both when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Families {
    v4: bool,
    v6: bool,
}

impl Families {
    /// The families of the addresses in a recorded result; both if there is no result.
    pub(crate) fn of_result(result: Option<&serde_json::Value>) -> Self {
        let Some(ips) = result.and_then(|r| r.get("ips")).and_then(|i| i.as_array()) else {
            return Self { v4: true, v6: true };
        };
        let (mut v4, mut v6) = (false, false);
        for a in ips
            .iter()
            .filter_map(|ip| ip.get("address").and_then(|a| a.as_str()))
        {
            if a.contains(':') {
                v6 = true;
            } else {
                v4 = true;
            }
        }
        Self { v4, v6 }
    }
}

/// Removes leftover masquerade rules and chains of container `id` on network `network`, for the address
/// families given. Returns how many rules were removed. Errors of individual iptables calls are logged, not
/// returned: this is a best-effort sweep after DEL.
pub(crate) fn sweep(network: &str, id: &str, families: Families) -> usize {
    let comment = format!("name: \"{network}\" id: \"{id}\"");
    let mut removed = 0;
    let tools = [("iptables", families.v4), ("ip6tables", families.v6)];
    for tool in tools.iter().filter(|(_, on)| *on).map(|(t, _)| *t) {
        let Ok(out) = iptables(tool)
            .args(["-w", "-t", "nat", "-S", "POSTROUTING"])
            .output()
        else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(rule) = parse_masq_rule(line, &comment) else {
                continue;
            };
            let del = iptables(tool)
                .args([
                    "-w",
                    "-t",
                    "nat",
                    "-D",
                    "POSTROUTING",
                    "-s",
                    &rule.source,
                    "-m",
                    "comment",
                    "--comment",
                ])
                .arg(&comment)
                .args(["-j", &rule.chain])
                .status();
            if del.is_ok_and(|s| s.success()) {
                removed += 1;
                for op in ["-F", "-X"] {
                    let _ = iptables(tool)
                        .args(["-w", "-t", "nat", op, &rule.chain])
                        .status();
                }
                tracing::info!(tool, chain = %rule.chain, source = %rule.source, "removed a masquerade rule DEL left");
            } else {
                tracing::warn!(tool, line, "could not remove a leftover masquerade rule");
            }
        }
    }
    removed
}

/// An `iptables`/`ip6tables` command that finds the tool even with a minimal `PATH`.
fn iptables(tool: &str) -> Command {
    let mut cmd = Command::new(tool);
    cmd.env(
        "PATH",
        crate::plugin::plugin_path_env(std::env::var("PATH").ok().as_deref()),
    );
    cmd
}

/// The parts of a `-A POSTROUTING` line we need to delete it.
#[derive(Debug, PartialEq, Eq)]
struct MasqRule {
    source: String,
    chain: String,
}

/// Recognises `-A POSTROUTING -s SRC -m comment --comment "<comment>" -j CNI-...` for exactly `comment`.
fn parse_masq_rule(line: &str, comment: &str) -> Option<MasqRule> {
    let quoted = format!("--comment \"{}\"", comment.replace('"', "\\\""));
    let rest = line.strip_prefix("-A POSTROUTING -s ")?;
    let (source, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix("-m comment ")?;
    let chain = rest
        .strip_prefix(quoted.as_str())?
        .trim()
        .strip_prefix("-j ")?;
    if !chain.starts_with("CNI-") || chain.contains(' ') {
        return None;
    }
    Some(MasqRule {
        source: source.to_string(),
        chain: chain.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_the_result() {
        let v4 = serde_json::json!({"ips": [{"address": "10.0.0.2/24"}]});
        assert_eq!(
            Families::of_result(Some(&v4)),
            Families {
                v4: true,
                v6: false
            }
        );
        let both =
            serde_json::json!({"ips": [{"address": "10.0.0.2/24"}, {"address": "fd00::2/64"}]});
        assert_eq!(
            Families::of_result(Some(&both)),
            Families { v4: true, v6: true }
        );
        assert_eq!(Families::of_result(None), Families { v4: true, v6: true });
    }

    #[test]
    fn finds_exactly_the_pods_rule() {
        let comment = r#"name: "net1" id: "pod-a""#;
        let line = r#"-A POSTROUTING -s 10.89.0.2/32 -m comment --comment "name: \"net1\" id: \"pod-a\"" -j CNI-0123abcd"#;
        assert_eq!(
            parse_masq_rule(line, comment),
            Some(MasqRule {
                source: "10.89.0.2/32".into(),
                chain: "CNI-0123abcd".into()
            })
        );
        let other = line.replace("pod-a", "pod-ab");
        assert_eq!(parse_masq_rule(&other, comment), None);
        assert_eq!(
            parse_masq_rule("-A POSTROUTING -j MASQUERADE", comment),
            None
        );
        let not_cni = line.replace("CNI-0123abcd", "ACCEPT");
        assert_eq!(parse_masq_rule(&not_cni, comment), None);
    }
}
