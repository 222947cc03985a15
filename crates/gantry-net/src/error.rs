//! The crate's error type: every variant names the flag, file or plugin involved and says what to do.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while configuring or attaching a pod's network.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--net NAME` named a network that no conflist defines.
    #[error("--net: unknown network {name:?}: no conflist in {dir} has that name{broken} (add {dir}/{name}.conflist, or use default, host or none)")]
    UnknownNetwork {
        /// The requested name.
        name: String,
        /// The directory searched.
        dir: PathBuf,
        /// A note on files that could not be parsed, empty if none.
        broken: String,
    },
    /// A conflist file (or the built-in default) is not valid.
    #[error("{path}: invalid CNI network configuration: {reason}")]
    Config {
        /// The file (or `<built-in gantry0>`).
        path: PathBuf,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// A `-p`, `--dns`, `--add-host` or `--hostname` value does not parse.
    #[error("{flag} {value:?}: {reason}")]
    BadFlag {
        /// The flag, e.g. `-p`.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A published host port is already bound by another socket on this host.
    #[error("-p {spec}: host port {port}/{protocol} on {ip} is already in use ({source}); choose another host port or stop what holds it")]
    PortInUse {
        /// The `-p` value as given.
        spec: String,
        /// The host address checked.
        ip: String,
        /// The host port.
        port: u16,
        /// `tcp` or `udp`.
        protocol: String,
        /// The bind error.
        source: io::Error,
    },
    /// A CNI plugin returned an error result (or unparsable output).
    #[error("network {network}: CNI plugin {plugin} {command} failed: {msg}{details} (CNI error code {code})")]
    Plugin {
        /// The network (conflist) name.
        network: String,
        /// The plugin type.
        plugin: String,
        /// `ADD`, `CHECK` or `DEL`.
        command: &'static str,
        /// The CNI error code (0 if the plugin gave none).
        code: u32,
        /// The plugin's message.
        msg: String,
        /// The plugin's details, prefixed with `: `, or empty.
        details: String,
    },
    /// A plugin binary named by a conflist is not installed.
    #[error("network {network}: CNI plugin {plugin:?} not found in {search} (install containernetworking-plugins, or fix \"type\" in the conflist)")]
    PluginNotFound {
        /// The network name.
        network: String,
        /// The plugin type.
        plugin: String,
        /// The directories searched, `:`-separated.
        search: String,
    },
    /// The host's resolvers cannot serve the pod.
    #[error("/etc/resolv.conf for the pod: {reason}")]
    Resolver {
        /// Why, and what to do (usually: pass --dns).
        reason: String,
    },
    /// A pod's recorded network state is unreadable or inconsistent.
    #[error("{path}: pod network state: {reason}")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An `iptables`/`ip6tables` command gantry runs itself (the network-wide masquerade) failed.
    #[error(
        "{command} failed: {msg} (check that iptables works on this host: iptables -t nat -S)"
    )]
    Firewall {
        /// The command line.
        command: String,
        /// Its standard error.
        msg: String,
    },
    /// A file system or process operation failed.
    #[error("{path}: {op}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The underlying error.
        source: io::Error,
    },
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds an [`Error::Io`] from a path and an operation name.
pub(crate) fn io_err(
    path: impl Into<PathBuf>,
    op: &'static str,
) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, op, source }
}
