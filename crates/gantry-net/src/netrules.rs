//! Network-wide iptables rules that gantry keeps itself, for conflists that ask for them with gantry's own
//! top-level keys (the built-in `gantry0` asks for both):
//!
//! - `"gantryMasquerade": true` — outbound NAT, instead of the bridge plugin's per-pod `ipMasq` chain:
//!   `nat POSTROUTING -s SUBNET ! -o BRIDGE ! -d MULTICAST -j MASQUERADE` (traffic that stays on the bridge, and
//!   multicast, is left alone, as the bridge plugin does; Docker masquerades its bridges the same way).
//! - `"gantryForward": true` — forwarding accepted even where the host's FORWARD policy is DROP, instead of the
//!   firewall plugin's per-pod rules: at the top of `filter FORWARD`, `-s SUBNET -j ACCEPT` and
//!   `-d SUBNET -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT` (the firewall plugin's two rules, for the
//!   subnet rather than for each pod address).
//!
//! Every rule carries the comment `gantry BRIDGE SUBNET`. The per-pod alternatives cost nine `iptables` runs
//! (masquerade) and ten (firewall) per pod ADD, and four each per DEL; these cost one `iptables -C` per ADD (run
//! beside the plugin chain, see [`begin_acquire`]), one `iptables-restore` when the first pod of a subnet arrives
//! and one when the last leaves.
//!
//! The rules exist while at least one pod is attached: each attaching pod leaves a marker file named by its
//! container ID in `<run_dir>/<bridge>_<subnet>/` and makes sure the rules are there; each detaching pod removes
//! its marker, and the last one out deletes the rules. Both happen under an `flock` of that directory, so a pod
//! attaching while the last one leaves either sees the rules removed and adds them again, or keeps them. The
//! directory is host-wide (the rules are), so engines with different state roots share it.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::conflist::Conflist;
use crate::error::{io_err, Error, Result};

/// The conflist key that asks for the network-wide masquerade.
pub const MASQUERADE_KEY: &str = "gantryMasquerade";
/// The conflist key that asks for the network-wide FORWARD accept rules.
pub const FORWARD_KEY: &str = "gantryForward";

/// The rules of one subnet of a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubnetRules {
    ipv6: bool,
    subnet: String,
    bridge: String,
    masquerade: bool,
    forward: bool,
}

/// The rules a conflist asks for: for each subnet of its bridge plugin's host-local ranges (or `ipam.subnet`).
/// Empty if it asks for none. Errors (a [`Error::Config`] naming the key) when the conflist has no bridge
/// plugin, no subnet, or one that is not an `ADDRESS/PREFIX`.
pub(crate) fn rules_of(list: &Conflist) -> Result<Vec<SubnetRules>> {
    if !list.gantry_masquerade && !list.gantry_forward {
        return Ok(Vec::new());
    }
    let key = if list.gantry_masquerade {
        MASQUERADE_KEY
    } else {
        FORWARD_KEY
    };
    let bad = |reason: String| Error::Config {
        path: list.source.clone(),
        reason: format!("\"{key}\": {reason}"),
    };
    let bridge_plugin = list
        .plugins
        .iter()
        .find(|p| p.get("type").and_then(Value::as_str) == Some("bridge"))
        .ok_or_else(|| bad("the network has no bridge plugin".into()))?;
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
            "the bridge plugin's ipam has no \"ranges\" subnet (or \"subnet\")".into(),
        ));
    }
    let mut out: Vec<SubnetRules> = Vec::new();
    for s in subnets {
        let ipv6 = subnet_is_v6(s).ok_or_else(|| {
            bad(format!(
                "subnet {s:?} is not ADDRESS/PREFIX (e.g. 10.89.0.0/16)"
            ))
        })?;
        let rules = SubnetRules {
            ipv6,
            subnet: s.to_string(),
            bridge: bridge.to_string(),
            masquerade: list.gantry_masquerade,
            forward: list.gantry_forward,
        };
        if !out.contains(&rules) {
            out.push(rules);
        }
    }
    Ok(out)
}

/// Whether a CIDR subnet is IPv6; `None` if it does not parse.
fn subnet_is_v6(subnet: &str) -> Option<bool> {
    let (addr, prefix) = subnet.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    match addr {
        IpAddr::V4(_) if prefix <= 32 => Some(false),
        IpAddr::V6(_) if prefix <= 128 => Some(true),
        _ => None,
    }
}

/// One rule: its table, chain and match/target arguments.
struct Rule {
    table: &'static str,
    chain: &'static str,
    spec: Vec<String>,
}

impl SubnetRules {
    fn tool(&self) -> &'static str {
        if self.ipv6 {
            "ip6tables"
        } else {
            "iptables"
        }
    }

    /// The rules, in the order they are added (each FORWARD rule is inserted at the top).
    fn rules(&self) -> Vec<Rule> {
        let comment = format!("gantry {} {}", self.bridge, self.subnet);
        let tail = |target: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = ["-m", "comment", "--comment", &comment]
                .iter()
                .map(ToString::to_string)
                .collect();
            v.extend(target.iter().map(ToString::to_string));
            v
        };
        let with = |head: &[&str], target: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = head.iter().map(ToString::to_string).collect();
            v.extend(tail(target));
            v
        };
        let mut out = Vec::new();
        if self.masquerade {
            let multicast = if self.ipv6 { "ff00::/8" } else { "224.0.0.0/4" };
            out.push(Rule {
                table: "nat",
                chain: "POSTROUTING",
                spec: with(
                    &[
                        "-s",
                        &self.subnet,
                        "!",
                        "-o",
                        &self.bridge,
                        "!",
                        "-d",
                        multicast,
                    ],
                    &["-j", "MASQUERADE"],
                ),
            });
        }
        if self.forward {
            out.push(Rule {
                table: "filter",
                chain: "FORWARD",
                spec: with(
                    &[
                        "-d",
                        &self.subnet,
                        "-m",
                        "conntrack",
                        "--ctstate",
                        "RELATED,ESTABLISHED",
                    ],
                    &["-j", "ACCEPT"],
                ),
            });
            out.push(Rule {
                table: "filter",
                chain: "FORWARD",
                spec: with(&["-s", &self.subnet], &["-j", "ACCEPT"]),
            });
        }
        out
    }

    /// The marker directory of this subnet under `run_dir`.
    fn dir(&self, run_dir: &Path) -> PathBuf {
        let subnet: String = self
            .subnet
            .chars()
            .map(|c| if c == '/' { '_' } else { c })
            .collect();
        run_dir.join(format!("{}_{subnet}", self.bridge))
    }

    /// Starts `-C` of the last rule added (if that one is there, its `iptables-restore` committed them all).
    fn spawn_check(&self) -> Result<Option<Check>> {
        let Some(last) = self.rules().pop() else {
            return Ok(None);
        };
        let child = self
            .command(self.tool())
            .args(["-w", "-t", last.table, "-C", last.chain])
            .args(&last.spec)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io_err(self.tool(), "running (is iptables installed?)"))?;
        Ok(Some(Check {
            child,
            command: format!(
                "{} -t {} -C {} {}",
                self.tool(),
                last.table,
                last.chain,
                last.spec.join(" ")
            ),
        }))
    }

    /// Whether the rules are in place (see [`SubnetRules::spawn_check`]).
    fn present(&self) -> Result<bool> {
        self.spawn_check()?.map_or(Ok(true), Check::wait)
    }

    /// Adds (`add`) or deletes every rule in one `iptables-restore --noflush` run (each table is one
    /// transaction: a rule that cannot be deleted because it is gone fails its table).
    fn restore(&self, add: bool) -> Result<()> {
        let mut text = String::new();
        let rules = self.rules();
        for table in ["nat", "filter"] {
            let mine: Vec<&Rule> = rules.iter().filter(|r| r.table == table).collect();
            if mine.is_empty() {
                continue;
            }
            text.push_str(&format!("*{table}\n"));
            for r in mine {
                let op = match (add, r.chain) {
                    (true, "FORWARD") => "-I FORWARD 1".to_string(),
                    (true, c) => format!("-A {c}"),
                    (false, c) => format!("-D {c}"),
                };
                let args: Vec<String> = r.spec.iter().map(|a| quote(a)).collect();
                text.push_str(&format!("{op} {}\n", args.join(" ")));
            }
            text.push_str("COMMIT\n");
        }
        let tool = if self.ipv6 {
            "ip6tables-restore"
        } else {
            "iptables-restore"
        };
        let mut child = self
            .command(tool)
            .args(["-w", "--noflush"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io_err(tool, "running (is iptables installed?)"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .map_err(io_err(tool, "writing the rules"))?;
        }
        let out = child.wait_with_output().map_err(io_err(tool, "waiting"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(Error::Firewall {
            command: format!("{tool} --noflush <<< {:?}", text),
            msg: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }

    /// Deletes whichever rules are still there, one by one (after a failed `restore(false)`).
    fn delete_each(&self) {
        for r in self.rules() {
            let _ = self
                .command(self.tool())
                .args(["-w", "-t", r.table, "-D", r.chain])
                .args(&r.spec)
                .stderr(Stdio::null())
                .status();
        }
    }

    /// An iptables command that finds the tool even with a minimal `PATH`.
    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(tool);
        cmd.env(
            "PATH",
            crate::plugin::plugin_path_env(std::env::var("PATH").ok().as_deref()),
        )
        .stdin(Stdio::null());
        cmd
    }
}

/// An argument as `iptables-restore` reads it: double-quoted when it holds a space.
fn quote(arg: &str) -> String {
    if arg.contains(' ') {
        format!("\"{arg}\"")
    } else {
        arg.to_string()
    }
}

/// Creates and locks (`flock`) a marker directory; the lock is held until the returned file is dropped.
fn lock_dir(dir: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(dir)
        .map_err(io_err(dir, "creating the network rules' marker directory"))?;
    let f = std::fs::File::open(dir).map_err(io_err(dir, "opening"))?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| io_err(dir, "locking")(e.into()))?;
    Ok(f)
}

/// A running `iptables -C`.
struct Check {
    child: std::process::Child,
    command: String,
}

impl Check {
    /// Its verdict: present (exit status 0), missing (1), or an error.
    fn wait(self) -> Result<bool> {
        let out = self
            .child
            .wait_with_output()
            .map_err(io_err("iptables", "waiting"))?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(Error::Firewall {
                command: self.command,
                msg: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            }),
        }
    }
}

/// An acquisition under way ([`begin_acquire`]): the subnets' markers are written and locked, their checks
/// running; [`Acquiring::finish`] adds what is missing.
pub(crate) struct Acquiring {
    subnets: Vec<(SubnetRules, std::fs::File, Option<Check>)>,
}

/// Records that container `id` uses the rules and starts checking whether they are there, so that the check runs
/// beside the plugin chain; the markers' locks are held until [`Acquiring::finish`].
pub(crate) fn begin_acquire(run_dir: &Path, rules: &[SubnetRules], id: &str) -> Result<Acquiring> {
    let mut acquiring = Acquiring {
        subnets: Vec::with_capacity(rules.len()),
    };
    for r in rules {
        let begun = lock_dir(&r.dir(run_dir)).and_then(|lock| {
            let marker = r.dir(run_dir).join(id);
            std::fs::write(&marker, b"").map_err(io_err(&marker, "creating the pod's marker"))?;
            Ok((lock, r.spawn_check()?))
        });
        match begun {
            Ok((lock, check)) => acquiring.subnets.push((r.clone(), lock, check)),
            Err(e) => {
                // Reap the checks already running; the markers written are released by the caller's detach.
                let _ = acquiring.finish(false);
                return Err(e);
            }
        }
    }
    Ok(acquiring)
}

impl Acquiring {
    /// Waits for the checks and, with `add` (the plugin chain succeeded), adds the rules where they are
    /// missing; every check is waited for even after an error (the first one is returned).
    pub(crate) fn finish(self, add: bool) -> Result<()> {
        let mut first_error = None;
        for (r, lock, check) in self.subnets {
            let added = check.map_or(Ok(true), Check::wait).and_then(|present| {
                if present || !add {
                    Ok(())
                } else {
                    r.restore(true)
                }
            });
            if let Err(e) = added {
                first_error.get_or_insert(e);
            }
            drop(lock);
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Removes container `id`'s markers and deletes the rules of each subnet no other container uses any more.
/// Idempotent.
pub(crate) fn release(run_dir: &Path, rules: &[SubnetRules], id: &str) -> Result<()> {
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
            .map_err(io_err(&dir, "listing the markers"))?
            .next()
            .is_some();
        if !in_use && r.restore(false).is_err() {
            // Some rule was already gone (flushed by hand, or never added): delete the others one by one.
            r.delete_each();
            if r.present()? {
                return Err(Error::Firewall {
                    command: format!(
                        "{} -D ... (comment \"gantry {} {}\")",
                        r.tool(),
                        r.bridge,
                        r.subnet
                    ),
                    msg: "the network's rules could not be deleted".into(),
                });
            }
        }
        drop(lock);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(plugins: Value, keys: &[&str]) -> Result<Conflist> {
        let mut v = serde_json::json!({"cniVersion": "1.0.0", "name": "n", "plugins": plugins});
        for k in keys {
            v[*k] = true.into();
        }
        Conflist::from_value(v, Path::new("t"))
    }

    #[test]
    fn rules_for_each_subnet_of_the_bridge() {
        let l = list(
            serde_json::json!([{"type": "bridge", "bridge": "b0", "ipam": {"type": "host-local",
            "ranges": [[{"subnet": "10.1.0.0/16"}, {"subnet": "10.2.0.0/16"}], [{"subnet": "fd00::/64"}]]}},
            {"type": "tuning"}]),
            &[MASQUERADE_KEY, FORWARD_KEY],
        )
        .unwrap();
        let r = rules_of(&l).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].tool(), r[2].tool()), ("iptables", "ip6tables"));
        let lines: Vec<String> = r[0]
            .rules()
            .iter()
            .map(|x| format!("{} {} {}", x.table, x.chain, x.spec.join(" ")))
            .collect();
        assert_eq!(lines, [
            "nat POSTROUTING -s 10.1.0.0/16 ! -o b0 ! -d 224.0.0.0/4 -m comment --comment gantry b0 10.1.0.0/16 -j MASQUERADE",
            "filter FORWARD -d 10.1.0.0/16 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment gantry b0 10.1.0.0/16 -j ACCEPT",
            "filter FORWARD -s 10.1.0.0/16 -m comment --comment gantry b0 10.1.0.0/16 -j ACCEPT",
        ]);
        assert!(r[2].rules()[0].spec.contains(&"ff00::/8".to_string()));
        assert_eq!(
            r[0].dir(Path::new("/run/x")),
            PathBuf::from("/run/x/b0_10.1.0.0_16")
        );
        assert_eq!(quote("gantry b0 10.1.0.0/16"), "\"gantry b0 10.1.0.0/16\"");
        // Only what is asked for.
        let masq_only = list(
            serde_json::json!([{"type": "bridge", "ipam": {"subnet": "10.3.0.0/24"}}]),
            &[MASQUERADE_KEY],
        )
        .unwrap();
        let r = rules_of(&masq_only).unwrap();
        assert_eq!((r[0].rules().len(), r[0].bridge.as_str()), (1, "cni0"));
        let none = list(serde_json::json!([{"type": "ptp"}]), &[]).unwrap();
        assert!(rules_of(&none).unwrap().is_empty());
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
            let e = list(plugins, &[FORWARD_KEY]).unwrap_err().to_string();
            assert!(e.contains("\"gantryForward\": ") && e.contains(why), "{e}");
        }
    }
}
