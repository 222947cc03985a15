//! CNI networking for Gantry's pods.
//!
//! A library with no async and no threads: every CNI plugin is an ordinary child process run per the CNI
//! specification 1.0 (parameters in `CNI_*` variables, the network configuration on stdin, a result or error on
//! stdout), and the pod's network namespace is made by a short-lived forked child, so the caller never changes
//! namespace.
//!
//! # How the engine uses it (pod supervisor)
//! ```no_run
//! use std::path::Path;
//! use gantry_net::*;
//!
//! # fn main() -> gantry_net::Result<()> {
//! let root = Path::new("/var/lib/gantry");
//! let pod_dir = root.join("pods/p1");
//! let cni = Cni::new(NetOptions::system());
//! // Flags, checked before anything is created (errors name the flag and value).
//! let NetMode::Cni(names) = NetMode::parse("default")? else { unreachable!() };
//! let ports = vec![PortMapping::parse("8080:80")?];
//! let extra_hosts = vec![HostEntry::parse("db:10.0.0.5")?];
//! let hostname = parse_hostname("p1")?;
//! let networks = cni.networks(&names)?; // writes /etc/gantry/net.d/gantry0.conflist on first use
//!
//! let netns = PodNetns::create(&root.join("netns/p1"))?; // lo is up
//! let pod = PodRef { id: "p1", dir: &pod_dir };
//! let att = cni.attach(&pod, &netns, &networks, &ports)?; // network.json written before each ADD
//!
//! let host = HostResolv::read(); // /etc/resolv.conf (+ systemd-resolved's upstream list, if any)
//! let dns = vec![]; // --dns values, through parse_dns
//! let resolv = resolv_conf(&host.input(&dns, att.gateway(), LoopbackResolver::Refuse, false))?;
//! let hosts = hosts_file(&hostname, att.pod_ip(), &extra_hosts);
//! let files = write_etc_files(&pod_dir, &hostname, &hosts, &resolv)?;
//! // ... bind files.hosts/hostname/resolv_conf into each app; join netns.path() in every app's spec ...
//!
//! // Pod end (or `gantry gc` after a crash of the supervisor): DEL everything, then remove the namespace.
//! cni.gc(&pod_dir)?;
//! # Ok(()) }
//! ```
//!
//! - [`Cni::attach`] records its intent in `<pod dir>/network.json` before running any plugin and each result as
//!   it arrives; [`Cni::detach`] (DEL with `prevResult`, reverse order, every plugin even after a failure,
//!   tolerant of a vanished namespace) and [`Cni::gc`] (detach, then remove the owned namespace) work from that
//!   record alone, so they are what `gantry gc` runs after a `kill -9`.
//! - Conflists come from `/etc/gantry/net.d` (`*.conflist`, `*.conf`, `*.json`, standard format, never
//!   modified); `default` means the built-in `gantry0` (bridge + host-local on 10.89.0.0/16, portmap, tuning,
//!   with gantry's network-wide masquerade and FORWARD accept rules in place of the bridge plugin's `ipMasq` and
//!   the firewall plugin).
//! - The portmap and firewall plugins remove their iptables rules on DEL; host-local releases the lease; the
//!   bridge plugin's masquerade rules, which it can miss, are swept by their comment after DEL. A conflist with
//!   `"gantryMasquerade": true` or `"gantryForward": true` (the built-in `gantry0` has both) gets gantry's rules
//!   for the whole subnet instead, present while any pod is attached (markers under [`NetOptions::run_dir`]).
//! - Keep the [`Attachment`] (or its `held_ports`) alive in the supervisor for the pod's lifetime: it holds the
//!   published host ports bound (close-on-exec, so apps never inherit them), which is how a second pod asking
//!   for the same port gets a clear "already in use". A supervisor that re-executes itself hands them over with
//!   [`PortReservation::fd`] and [`PortReservation::adopt`].
//! - `--net none`: [`PodNetns::create`] alone (no attach). `--net host`: neither, and
//!   [`host_network_hosts_file`] keeps the host's `/etc/hosts`. [`Cni::check`] runs CNI CHECK.
//! - Crash windows: a namespace created but not yet recorded (no `network.json`) is not known to [`Cni::gc`];
//!   the engine removes such a `<root>/netns/<pod>` with [`remove_netns`] (idempotent).
//! - Errors are one line and name the flag (`-p`, `--net`, `--dns`, `--add-host`, `--hostname`), file or plugin.

#![forbid(unsafe_code)]

mod attach;
mod child_io;
pub mod conflist;
mod error;
mod etcfiles;
pub mod fuzzing;
mod masq;
mod netns;
mod netrules;
mod networks;
mod plugin;
mod ports;
pub mod result;
mod state;

pub use attach::{Attachment, NetworkAttachment, PodRef};
pub use conflist::{Conflist, DefaultNetwork};
pub use error::{Error, Result};
pub use etcfiles::{
    host_network_hosts_file, hosts_file, parse_dns, parse_hostname, resolv_conf, write_etc_files,
    EtcFiles, HostEntry, HostResolv, LoopbackResolver, ResolvInput,
};
pub use netns::{is_mounted_netns, remove_netns, PodNetns};
pub use networks::{Cni, NetMode, NetOptions, DEFAULT_ALIAS};
pub use ports::{PortMapping, PortReservation, Protocol};
pub use result::CniResult;
pub use state::STATE_FILE;

/// The built-in default network's name (also its bridge's name).
pub const DEFAULT_NETWORK: &str = "gantry0";
