//! Attaching a pod's namespace to its networks (ADD), checking (CHECK) and tearing down (DEL), with every step
//! recorded in the pod's state file first, so `gc` can always undo an attach that a crash interrupted.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::conflist::Conflist;
use crate::error::{Error, Result};
use crate::netns::{is_mounted_netns, remove_netns, PodNetns};
use crate::netrules;
use crate::plugin::{self, Call, Op};
use crate::ports::{self, PortMapping, PortReservation};
use crate::result::CniResult;
use crate::state::{self, NetState, PodNetState};
use crate::Cni;

/// A pod as CNI sees it.
#[derive(Debug, Clone, Copy)]
pub struct PodRef<'a> {
    /// The pod's unique ID, passed as `CNI_CONTAINERID` (host-local leases and iptables comments carry it).
    pub id: &'a str,
    /// The pod's state directory; `network.json` is kept there.
    pub dir: &'a Path,
}

/// A pod's networks after a successful [`Cni::attach`].
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    /// The CNI container ID.
    pub container_id: String,
    /// The pod's network namespace path.
    pub netns: PathBuf,
    /// One entry per network, in order (`eth0`, `eth1`, ...).
    pub networks: Vec<NetworkAttachment>,
    /// The published ports.
    pub ports: Vec<PortMapping>,
    /// The host ports held open for the pod (see [`PortMapping::reserve`]): keep the attachment (or these) alive
    /// as long as the pod runs, so nothing else can bind them. Empty in an attachment read back by
    /// [`Cni::attachment`].
    pub held_ports: Vec<PortReservation>,
}

/// One network of an [`Attachment`].
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkAttachment {
    /// The network name.
    pub name: String,
    /// The pod-side interface name.
    pub ifname: String,
    /// The chain's final result.
    pub result: CniResult,
    /// The same result as the plugin printed it (what CHECK and DEL receive as `prevResult`).
    pub raw_result: Value,
}

impl Attachment {
    /// The pod's address on its first network (what `/etc/hosts` maps the hostname to).
    pub fn pod_ip(&self) -> Option<IpAddr> {
        self.networks.iter().find_map(|n| n.result.pod_ip())
    }

    /// The gateway of the first network that has one (the bridge address on `gantry0`).
    pub fn gateway(&self) -> Option<IpAddr> {
        self.networks.iter().find_map(|n| n.result.gateway())
    }
}

impl Cni {
    /// Attaches the namespace `netns` of `pod` to `networks` in order (interfaces `eth0`, `eth1`, ...), with
    /// `ports` published through every network whose chain has a `portMappings` plugin.
    ///
    /// Before any plugin runs, the intent (container ID, namespace, conflists, ports) is written to
    /// `<pod.dir>/network.json`, and each plugin's result is added as it arrives; so after a crash [`Cni::gc`]
    /// knows what to delete. On failure everything done so far is deleted again and the error returned.
    /// The host ports are bound (held) for as long as the returned attachment lives.
    /// Fails before touching anything when a host port is already bound, two `-p` collide, ports are asked for
    /// but no network can publish them, or the pod already has a network record.
    pub fn attach(
        &self,
        pod: &PodRef<'_>,
        netns: &PodNetns,
        networks: &[Conflist],
        ports: &[PortMapping],
    ) -> Result<Attachment> {
        let id_ok = !pod.id.is_empty()
            && pod.id.len() <= 128
            && pod.id.starts_with(|c: char| c.is_ascii_alphanumeric())
            && pod
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !id_ok {
            return Err(Error::BadFlag {
                flag: "pod ID",
                value: pod.id.to_string(),
                reason: "CNI container IDs are 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit".into(),
            });
        }
        if networks.is_empty() {
            return Err(Error::BadFlag {
                flag: "--net",
                value: String::new(),
                reason: "no network to attach to".into(),
            });
        }
        if state::read(pod.dir)?.is_some() {
            return Err(Error::State {
                path: state::path(pod.dir),
                reason: format!(
                    "pod {} is already attached; detach it (or run gc) first",
                    pod.id
                ),
            });
        }
        ports::ensure_distinct(ports)?;
        if !ports.is_empty() && !networks.iter().any(has_port_mapping) {
            return Err(Error::BadFlag {
                flag: "-p",
                value: ports[0].spec.clone(),
                reason: "none of the pod's networks has a plugin with the portMappings capability (portmap)".into(),
            });
        }
        let held_ports = ports
            .iter()
            .map(PortMapping::reserve)
            .collect::<Result<Vec<_>>>()?;
        let mut st = PodNetState {
            container_id: pod.id.to_string(),
            netns: netns.path().to_path_buf(),
            owns_netns: netns.is_owned(),
            ports: ports.to_vec(),
            networks: networks
                .iter()
                .enumerate()
                .map(|(i, c)| NetState {
                    ifname: format!("eth{i}"),
                    conflist: c.to_json(),
                    result: None,
                    complete: false,
                })
                .collect(),
        };
        let mut rules = Vec::new();
        for l in networks {
            rules.extend(netrules::rules_of(l)?);
        }
        state::write(pod.dir, &st)?;
        // gantry's network-wide rules are checked (their markers written first) beside the plugin chain; both
        // must succeed before the attach does.
        let added = match netrules::begin_acquire(&self.opts.run_dir, &rules, pod.id) {
            Ok(acquiring) => {
                let chain = self.add_all(pod.dir, &mut st, networks);
                let finished = acquiring.finish(chain.is_ok());
                chain.and_then(|att| finished.map(|()| att))
            }
            Err(e) => Err(e),
        };
        match added {
            Ok(att) => Ok(Attachment { held_ports, ..att }),
            Err(e) => {
                if let Err(undo) = self.detach(pod.dir) {
                    tracing::warn!(pod = pod.id, error = %undo, "undoing a failed attach left something; gc will retry");
                }
                Err(e)
            }
        }
    }

    fn add_all(
        &self,
        pod_dir: &Path,
        st: &mut PodNetState,
        networks: &[Conflist],
    ) -> Result<Attachment> {
        let pm = ports::runtime_config(&st.ports);
        let mut out = Vec::with_capacity(networks.len());
        for (i, list) in networks.iter().enumerate() {
            let ifname = st.networks[i].ifname.clone();
            let call = Call {
                container_id: &st.container_id,
                netns: &st.netns,
                ifname: &ifname,
                plugin_dirs: &self.opts.plugin_dirs,
                timeout: self.opts.plugin_timeout,
            };
            let mut prev: Option<Value> = None;
            for j in 0..list.plugins.len() {
                let conf = plugin::plugin_config(list, j, prev.as_ref(), &pm);
                if let Some(result) = plugin::exec(&call, list, j, Op::Add, &conf)? {
                    prev = Some(result);
                    st.networks[i].result = prev.clone();
                    state::write(pod_dir, st)?;
                }
            }
            let raw = prev.ok_or_else(|| Error::Plugin {
                network: list.name.clone(),
                plugin: list.plugin_types().last().unwrap_or_default().to_string(),
                command: "ADD",
                code: 0,
                msg: "the chain returned no result".into(),
                details: String::new(),
            })?;
            st.networks[i].complete = true;
            state::write(pod_dir, st)?;
            let result =
                CniResult::parse(&serde_json::to_vec(&raw).unwrap_or_default()).unwrap_or_default();
            out.push(NetworkAttachment {
                name: list.name.clone(),
                ifname,
                result,
                raw_result: raw,
            });
        }
        Ok(Attachment {
            container_id: st.container_id.clone(),
            netns: st.netns.clone(),
            networks: out,
            ports: st.ports.clone(),
            held_ports: Vec::new(),
        })
    }

    /// The recorded attachment of the pod in `pod_dir`, if it completed (`None` if there is no record).
    pub fn attachment(&self, pod_dir: &Path) -> Result<Option<Attachment>> {
        let Some(st) = state::read(pod_dir)? else {
            return Ok(None);
        };
        let mut networks = Vec::new();
        for n in &st.networks {
            let list = recorded_conflist(pod_dir, n)?;
            let (Some(raw), true) = (n.result.clone(), n.complete) else {
                return Err(Error::State {
                    path: state::path(pod_dir),
                    reason: format!("network {} was never fully attached; run gc", list.name),
                });
            };
            let result =
                CniResult::parse(&serde_json::to_vec(&raw).unwrap_or_default()).unwrap_or_default();
            networks.push(NetworkAttachment {
                name: list.name,
                ifname: n.ifname.clone(),
                result,
                raw_result: raw,
            });
        }
        Ok(Some(Attachment {
            container_id: st.container_id,
            netns: st.netns,
            networks,
            ports: st.ports,
            held_ports: Vec::new(),
        }))
    }

    /// Runs CHECK for every network of the pod whose configuration supports it (version 0.4.0 or later, no
    /// `disableCheck`), each plugin with the recorded result as `prevResult`.
    pub fn check(&self, pod_dir: &Path) -> Result<()> {
        let st = state::read(pod_dir)?.ok_or_else(|| Error::State {
            path: state::path(pod_dir),
            reason: "missing: the pod has no network attachment to check".into(),
        })?;
        let pm = ports::runtime_config(&st.ports);
        for n in &st.networks {
            let list = recorded_conflist(pod_dir, n)?;
            if !list.supports_check() {
                continue;
            }
            let call = Call {
                container_id: &st.container_id,
                netns: &st.netns,
                ifname: &n.ifname,
                plugin_dirs: &self.opts.plugin_dirs,
                timeout: self.opts.plugin_timeout,
            };
            for j in 0..list.plugins.len() {
                let conf = plugin::plugin_config(&list, j, n.result.as_ref(), &pm);
                match plugin::exec(&call, &list, j, Op::Check, &conf) {
                    Err(e) if is_portmap_ipv6_check_bug(&e, n.result.as_ref()) => {
                        tracing::debug!(error = %e, "ignoring portmap's IPv6 CHECK of an IPv4-only pod (containernetworking/plugins#819)");
                    }
                    other => {
                        other?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes the pod from every recorded network: each chain's plugins in reverse order with DEL and the
    /// recorded result as `prevResult` (none if ADD never returned one). Every plugin runs even if another
    /// fails (one that is not installed is skipped: it cannot have made anything). A namespace that is gone is
    /// tolerated: plugins then get an empty `CNI_NETNS` and only release host-side state (leases, rules).
    /// On success the record is removed; on failure it is kept (so a later call retries) and the first error is
    /// returned. No record means nothing to do. The namespace itself is left alone (see [`Cni::gc`]).
    pub fn detach(&self, pod_dir: &Path) -> Result<()> {
        let Some(st) = state::read(pod_dir)? else {
            return Ok(());
        };
        let netns_alive = is_mounted_netns(&st.netns).unwrap_or(false);
        let netns: PathBuf = if netns_alive {
            st.netns.clone()
        } else {
            PathBuf::new()
        };
        let pm = ports::runtime_config(&st.ports);
        let mut first_error = None;
        for n in st.networks.iter().rev() {
            let list = match recorded_conflist(pod_dir, n) {
                Ok(l) => l,
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let call = Call {
                container_id: &st.container_id,
                netns: &netns,
                ifname: &n.ifname,
                plugin_dirs: &self.opts.plugin_dirs,
                timeout: self.opts.plugin_timeout,
            };
            for j in (0..list.plugins.len()).rev() {
                let conf = plugin::plugin_config(&list, j, n.result.as_ref(), &pm);
                match plugin::exec(&call, &list, j, Op::Del, &conf) {
                    Ok(_) => {}
                    // A plugin that is not installed has nothing to undo (it cannot have run); keep going.
                    Err(e @ Error::PluginNotFound { .. }) => {
                        tracing::warn!(pod = %st.container_id, error = %e, "CNI DEL skipped");
                    }
                    Err(e) => {
                        tracing::warn!(pod = %st.container_id, error = %e, "CNI DEL failed");
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        // The bridge/ptp plugins find the masquerade rules to delete through the addresses they see in the
        // namespace: a gone namespace or changed addresses leave rules behind, so sweep them by their comment.
        for n in &st.networks {
            let Ok(list) = recorded_conflist(pod_dir, n) else {
                continue;
            };
            let released = netrules::rules_of(&list)
                .and_then(|r| netrules::release(&self.opts.run_dir, &r, &st.container_id));
            if let Err(e) = released {
                tracing::warn!(pod = %st.container_id, error = %e, "releasing the network's iptables rules failed");
                first_error.get_or_insert(e);
            }
            if list
                .plugins
                .iter()
                .any(|p| p.get("ipMasq") == Some(&Value::Bool(true)))
            {
                let families = crate::masq::Families::of_result(n.result.as_ref());
                crate::masq::sweep(&list.name, &st.container_id, families);
            }
        }
        match first_error {
            None => state::remove(pod_dir),
            Some(e) => Err(e),
        }
    }

    /// What `gantry gc` runs for a pod whose supervisor died: [`Cni::detach`] from the record, then removal of
    /// the namespace if this crate created it (bound by [`PodNetns::create`]). Safe to repeat. When no record
    /// exists but the engine created a namespace, remove it with [`crate::remove_netns`].
    pub fn gc(&self, pod_dir: &Path) -> Result<()> {
        let Some(st) = state::read(pod_dir)? else {
            return Ok(());
        };
        self.detach(pod_dir)?;
        if st.owns_netns {
            remove_netns(&st.netns)?;
        }
        Ok(())
    }
}

/// portmap 1.1 (Debian 12's) CHECKs its IPv6 DNAT chain even for a pod with only IPv4 addresses, where ADD
/// never made one, and so always fails CHECK with published ports (containernetworking/plugins#819, fixed in
/// 1.2). That one failure is recognised and ignored when the recorded result really has no IPv6 address.
fn is_portmap_ipv6_check_bug(e: &Error, result: Option<&Value>) -> bool {
    let Error::Plugin { plugin, msg, .. } = e else {
        return false;
    };
    let ipv4_only = result
        .and_then(|r| r.get("ips"))
        .and_then(Value::as_array)
        .is_some_and(|ips| {
            ips.iter().all(|ip| {
                ip.get("address")
                    .and_then(Value::as_str)
                    .is_some_and(|a| !a.contains(':'))
            })
        });
    plugin == "portmap" && msg.starts_with("could not check ipv6 dnat") && ipv4_only
}

/// Whether a chain publishes ports (some plugin declares the `portMappings` capability).
fn has_port_mapping(list: &Conflist) -> bool {
    list.plugins.iter().any(|p| {
        p.get("capabilities")
            .and_then(|c| c.get("portMappings"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    })
}

fn recorded_conflist(pod_dir: &Path, n: &NetState) -> Result<Conflist> {
    Conflist::from_value(n.conflist.clone(), &state::path(pod_dir))
}
