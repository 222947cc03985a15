//! Network-wide masquerade, for conflists that ask gantry for it with the top-level key `"gantryMasquerade": true`
//! (the built-in `gantry0` does, with the bridge plugin's own `ipMasq` off).
//!
//! The bridge plugin's `ipMasq` makes a chain and three rules per pod, checking each first: nine `iptables` runs
//! per ADD and four per DEL, most of a pod's network setup time. The same outbound NAT for the whole network is
//! one rule per subnet, as Docker installs for its bridges:
//! `POSTROUTING -s SUBNET ! -o BRIDGE ! -d MULTICAST -m comment --comment "gantry masquerade BRIDGE SUBNET"
//! -j MASQUERADE` (traffic that stays on the bridge, and multicast, is not rewritten: the bridge plugin exempts
//! the subnet and multicast the same way).
//!
//! The rule exists while at least one pod is attached: each attaching pod leaves a marker file named by its
//! container ID in `<run_dir>/<bridge>_<subnet>/` and makes sure the rule is there (`-C`, then `-A` if missing);
//! each detaching pod removes its marker, and the last one out deletes the rule. Both happen under an `flock` of
//! that directory, so a pod attaching while the last one leaves either sees the rule removed and re-adds it, or
//! keeps it. The directory is host-wide (the rule is), so engines with different state roots share it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::conflist::Conflist;
use crate::error::{io_err, Error, Result};

/// The conflist key that asks for the network-wide masquerade.
pub const MASQUERADE_KEY: &str = "gantryMasquerade";

/// One subnet's masquerade rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MasqRule {
    tool: &'static str,
    subnet: String,
    bridge: String,
}

/// The rules a conflist asks for: one per subnet of its bridge plugin's host-local ranges (or `ipam.subnet`).
/// Errors (a [`Error::Config`] naming the field) when the conflist has no bridge plugin, no subnet, or one that
/// is not an `ADDRESS/PREFIX`.
pub(crate) fn rules_of(list: &Conflist) -> Result<Vec<MasqRule>> {
    let bad = |reason: String| Error::Config {
        path: list.source.clone(),
        reason: format!("\"{MASQUERADE_KEY}\": {reason}"),
    };
    let bridge_plugin = list
        .plugins
        .iter()
        .find(|p| p.get("type").and_then(Value::as_str) == Some("bridge"))
        .ok_or_else(|| bad("the network has no bridge plugin to masquerade for".into()))?;
    // The bridge plugin's own default device name.
    let bridge = bridge_plugin
        .get("bridge")
        .and_then(Value::as_str)
        .unwrap_or("cni0");
    if bridge.is_empty()
        || bridge.len() > 15
        || !bridge
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(bad(format!(
            "bridge name {bridge:?} is not an interface name"
        )));
    }
    let ipam = bridge_plugin.get("ipam");
    let mut subnets: Vec<&str> = ipam
        .and_then(|i| i.get("ranges"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|r| r.get("subnet").and_then(Value::as_str))
        .collect();
    subnets.extend(ipam.and_then(|i| i.get("subnet")).and_then(Value::as_str));
    if subnets.is_empty() {
        return Err(bad(
            "the bridge plugin's ipam has no \"ranges\" subnet (or \"subnet\") to masquerade"
                .into(),
        ));
    }
    let mut out: Vec<MasqRule> = Vec::new();
    for s in subnets {
        let tool = subnet_tool(s).ok_or_else(|| {
            bad(format!(
                "subnet {s:?} is not ADDRESS/PREFIX (e.g. 10.89.0.0/16)"
            ))
        })?;
        let rule = MasqRule {
            tool,
            subnet: s.to_string(),
            bridge: bridge.to_string(),
        };
        if !out.contains(&rule) {
            out.push(rule);
        }
    }
    Ok(out)
}

/// `iptables` or `ip6tables` for a CIDR subnet; `None` if it does not parse.
fn subnet_tool(subnet: &str) -> Option<&'static str> {
    let (addr, prefix) = subnet.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    match addr {
        IpAddr::V4(_) if prefix <= 32 => Some("iptables"),
        IpAddr::V6(_) if prefix <= 128 => Some("ip6tables"),
        _ => None,
    }
}

impl MasqRule {
    /// The rule's match and target, after `-A/-C/-D POSTROUTING`.
    fn spec(&self) -> Vec<String> {
        let multicast = if self.tool == "iptables" {
            "224.0.0.0/4"
        } else {
            "ff00::/8"
        };
        [
            "-s",
            &self.subnet,
            "!",
            "-o",
            &self.bridge,
            "!",
            "-d",
            multicast,
            "-m",
            "comment",
            "--comment",
            &format!("gantry masquerade {} {}", self.bridge, self.subnet),
            "-j",
            "MASQUERADE",
        ]
        .iter()
        .map(ToString::to_string)
        .collect()
    }

    /// The marker directory of this rule under `run_dir`.
    fn dir(&self, run_dir: &Path) -> PathBuf {
        let subnet: String = self
            .subnet
            .chars()
            .map(|c| if c == '/' { '_' } else { c })
            .collect();
        run_dir.join(format!("{}_{subnet}", self.bridge))
    }

    /// Runs `TOOL -w -t nat OP POSTROUTING RULE`; `Ok(true)` on success, `Ok(false)` when iptables says the
    /// rule does not exist (exit status 1), an error otherwise.
    fn run(&self, op: &str) -> Result<bool> {
        let out = Command::new(self.tool)
            .env(
                "PATH",
                crate::plugin::plugin_path_env(std::env::var("PATH").ok().as_deref()),
            )
            .args(["-w", "-t", "nat", op, "POSTROUTING"])
            .args(self.spec())
            .stdin(Stdio::null())
            .output()
            .map_err(io_err(self.tool, "running (is iptables installed?)"))?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(1) if op != "-A" => Ok(false),
            _ => Err(Error::Firewall {
                command: format!(
                    "{} -t nat {op} POSTROUTING {}",
                    self.tool,
                    self.spec().join(" ")
                ),
                msg: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            }),
        }
    }
}

/// Creates and locks (`flock`) a marker directory; the lock is held until the returned file is dropped.
fn lock_dir(dir: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(dir)
        .map_err(io_err(dir, "creating the masquerade marker directory"))?;
    let f = std::fs::File::open(dir).map_err(io_err(dir, "opening"))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| io_err(dir, "locking")(e.into()))?;
    Ok(f)
}

/// Records that container `id` uses the rules and adds whichever of them is missing.
pub(crate) fn acquire(run_dir: &Path, rules: &[MasqRule], id: &str) -> Result<()> {
    for r in rules {
        let dir = r.dir(run_dir);
        let _lock = lock_dir(&dir)?;
        let marker = dir.join(id);
        std::fs::write(&marker, b"").map_err(io_err(&marker, "creating the pod's marker"))?;
        if !r.run("-C")? {
            r.run("-A")?;
            tracing::debug!(subnet = %r.subnet, bridge = %r.bridge, "added the network's masquerade rule");
        }
    }
    Ok(())
}

/// Removes container `id`'s markers and deletes each rule no other container uses any more. Idempotent.
pub(crate) fn release(run_dir: &Path, rules: &[MasqRule], id: &str) -> Result<()> {
    for r in rules {
        let dir = r.dir(run_dir);
        if !dir.exists() {
            continue;
        }
        let lock = lock_dir(&dir)?;
        let marker = dir.join(id);
        match std::fs::remove_file(&marker) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&marker, "removing the pod's marker")(e)),
        }
        let in_use = std::fs::read_dir(&dir)
            .map_err(io_err(&dir, "listing the masquerade markers"))?
            .next()
            .is_some();
        if !in_use {
            // -D fails with status 1 when the rule is already gone (flushed by hand, or never added).
            r.run("-D")?;
            tracing::debug!(subnet = %r.subnet, bridge = %r.bridge, "removed the network's masquerade rule");
        }
        drop(lock);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(plugins: Value) -> Conflist {
        let mut v = serde_json::json!({"cniVersion": "1.0.0", "name": "n", "plugins": plugins});
        v[MASQUERADE_KEY] = true.into();
        Conflist::from_value(v, Path::new("t")).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn one_rule_per_subnet_of_the_bridge() {
        let l = list(
            serde_json::json!([{"type": "bridge", "bridge": "b0", "ipam": {"type": "host-local",
            "ranges": [[{"subnet": "10.1.0.0/16"}, {"subnet": "10.2.0.0/16"}], [{"subnet": "fd00::/64"}]]}},
            {"type": "tuning"}]),
        );
        let r = rules_of(&l).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].tool, r[2].tool), ("iptables", "ip6tables"));
        assert_eq!(
            r[0].spec().join(" "),
            "-s 10.1.0.0/16 ! -o b0 ! -d 224.0.0.0/4 -m comment --comment gantry masquerade b0 10.1.0.0/16 -j MASQUERADE"
        );
        assert!(r[2].spec().contains(&"ff00::/8".to_string()));
        assert_eq!(
            r[0].dir(Path::new("/run/x")),
            PathBuf::from("/run/x/b0_10.1.0.0_16")
        );
    }

    #[test]
    fn a_network_without_a_usable_subnet_is_refused_at_parse_time() {
        for (plugins, why) in [
            (serde_json::json!([{"type": "ptp"}]), "no bridge plugin"),
            (
                serde_json::json!([{"type": "bridge", "ipam": {"type": "dhcp"}}]),
                "no \"ranges\"",
            ),
            (
                serde_json::json!([{"type": "bridge", "ipam": {"subnet": "10.0.0.0"}}]),
                "not ADDRESS/PREFIX",
            ),
            (
                serde_json::json!([{"type": "bridge", "bridge": "a b", "ipam": {"subnet": "10.0.0.0/8"}}]),
                "not an interface name",
            ),
        ] {
            let mut v = serde_json::json!({"cniVersion": "1.0.0", "name": "n", "plugins": plugins});
            v[MASQUERADE_KEY] = true.into();
            let e = Conflist::from_value(v, Path::new("t"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("\"gantryMasquerade\": ") && e.contains(why),
                "{e}"
            );
        }
    }
}
