//! Namespace planning: which namespaces the clone creates, which are joined (and by whom), and whether a second
//! fork is forced. Pure, so the rules are unit-tested without root.
//!
//! Rules (runtime-spec config-linux.md "Namespaces": a `path` means join, no path means create):
//! - PID and time namespaces only take effect for *children* of the process that enters them, so the runtime
//!   (parent) joins a PID/time namespace by path itself, just before cloning, and switches back afterwards.
//! - A new time namespace is likewise unshared by the parent, which writes its offsets before any process lives in it.
//! - The new cgroup namespace is always unshared by the child *after* the parent has placed it in its cgroup, so
//!   the namespace's root is the container's cgroup.
//! - **Direct mode** (the common case): one `clone3` with every other new namespace. Taken unless a user namespace
//!   is joined by path, or a new user namespace must coexist with other namespaces joined by path (those joins need
//!   the host's privileges, so they must happen before the user namespace exists).
//! - **Staged mode**: clone without namespace flags; the child joins by path (user first), unshares the user
//!   namespace (parent writes the id maps), unshares the rest, and forks once more if a new PID namespace was
//!   unshared (only children enter it). This is the only case with a second fork.

use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

/// One namespace kind, with its `CLONE_NEW*` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// user
    User,
    /// mount
    Mount,
    /// network
    Network,
    /// ipc
    Ipc,
    /// uts
    Uts,
    /// cgroup
    Cgroup,
    /// pid
    Pid,
    /// time
    Time,
}

use rustix::thread::LinkNameSpaceType as L;

/// The one table of namespace facts, in [`Kind`]'s order: the spec's type, the `CLONE_NEW*` flag, the file name
/// under `/proc/<pid>/ns/`, and rustix's link type (so `setns` checks the file is a namespace of this kind). The
/// spec's JSON name is gantry-spec's ([`gantry_spec::namespace_json_name`]).
const TABLE: [(Kind, LinuxNamespaceType, libc::c_int, &str, L); 8] = [
    (
        Kind::User,
        LinuxNamespaceType::User,
        libc::CLONE_NEWUSER,
        "user",
        L::User,
    ),
    (
        Kind::Mount,
        LinuxNamespaceType::Mount,
        libc::CLONE_NEWNS,
        "mnt",
        L::Mount,
    ),
    (
        Kind::Network,
        LinuxNamespaceType::Network,
        libc::CLONE_NEWNET,
        "net",
        L::Network,
    ),
    (
        Kind::Ipc,
        LinuxNamespaceType::Ipc,
        libc::CLONE_NEWIPC,
        "ipc",
        L::InterProcessCommunication,
    ),
    (
        Kind::Uts,
        LinuxNamespaceType::Uts,
        libc::CLONE_NEWUTS,
        "uts",
        L::HostNameAndNISDomainName,
    ),
    (
        Kind::Cgroup,
        LinuxNamespaceType::Cgroup,
        libc::CLONE_NEWCGROUP,
        "cgroup",
        L::ControlGroup,
    ),
    (
        Kind::Pid,
        LinuxNamespaceType::Pid,
        libc::CLONE_NEWPID,
        "pid",
        L::ProcessID,
    ),
    (
        Kind::Time,
        LinuxNamespaceType::Time,
        libc::CLONE_NEWTIME,
        "time",
        L::Time,
    ),
];

impl Kind {
    /// Every kind, in join order (user first; PID and time, which apply to children, last).
    pub const ALL: [Kind; 8] = [
        Kind::User,
        Kind::Mount,
        Kind::Network,
        Kind::Ipc,
        Kind::Uts,
        Kind::Cgroup,
        Kind::Pid,
        Kind::Time,
    ];

    fn row(self) -> &'static (Kind, LinuxNamespaceType, libc::c_int, &'static str, L) {
        &TABLE[self as usize]
    }

    /// The `CLONE_NEW*` flag.
    pub fn flag(self) -> u32 {
        self.row().2 as u32
    }

    /// The spec's name for it.
    pub fn name(self) -> &'static str {
        gantry_spec::namespace_json_name(self.row().1)
    }

    /// The file name under `/proc/<pid>/ns/`.
    pub fn proc_name(self) -> &'static str {
        self.row().3
    }

    /// rustix's name for the kind, so `setns` checks the file really is a namespace of this kind.
    pub fn link_type(self) -> L {
        self.row().4
    }

    /// Whether entering it takes effect only for the children of the process that enters it (PID, time).
    pub fn for_children(self) -> bool {
        matches!(self, Kind::Pid | Kind::Time)
    }

    fn from_spec(t: LinuxNamespaceType) -> Kind {
        TABLE
            .iter()
            .find(|r| r.1 == t)
            .map(|r| r.0)
            .expect("the table has every namespace type")
    }
}

/// A namespace to join: its kind and the path of a namespace file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    /// Which kind.
    pub kind: Kind,
    /// e.g. `/proc/1234/ns/net` or `/run/netns/x`.
    pub path: PathBuf,
}

/// The plan for entering the container's namespaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Joins done by the parent just before cloning (PID and time: they apply to children).
    pub parent_joins: Vec<Join>,
    /// The parent unshares a new time namespace (and writes offsets) before cloning.
    pub parent_new_time: bool,
    /// `CLONE_NEW*` flags given to clone3.
    pub clone_flags: u32,
    /// Joins done by the child, in order (user first).
    pub child_joins: Vec<Join>,
    /// Staged mode: clone without namespace flags; the child joins, unshares and maybe forks (see
    /// `process::staged`).
    pub staged: bool,
    /// Staged mode: the child unshares a new user namespace after its joins and waits for its id maps.
    pub child_new_user: bool,
    /// Namespaces the child unshares once it is in its cgroup (always cgroup; in staged mode also the others).
    pub child_unshare: u32,
    /// Staged mode with a new PID namespace: the child forks, and the grandchild becomes the init.
    pub fork_again: bool,
    /// Whether the container gets a user namespace (new or joined): device nodes are bind-mounted, not made.
    pub in_user_ns: bool,
    /// Whether the container has its own PID namespace (new or joined).
    pub private_pid: bool,
    /// Whether a new UTS namespace is created (hostname may be set).
    pub new_uts: bool,
    /// Whether a new user namespace is created (the parent writes id maps).
    pub new_user: bool,
    /// Whether the container has its own mount namespace.
    pub new_mount: bool,
    /// Whether a new cgroup namespace is created.
    pub new_cgroup: bool,
}

/// Builds the plan for `namespaces` (already validated: no duplicate kinds).
pub fn plan(namespaces: &[LinuxNamespace]) -> Plan {
    let mut new = Vec::new();
    let mut joins = Vec::new();
    for ns in namespaces {
        let kind = Kind::from_spec(ns.typ());
        match ns.path() {
            Some(p) if !p.as_os_str().is_empty() => joins.push(Join {
                kind,
                path: p.clone(),
            }),
            _ => new.push(kind),
        }
    }
    let is_new = |k| new.contains(&k);
    let mut p = Plan {
        in_user_ns: is_new(Kind::User) || joins.iter().any(|j| j.kind == Kind::User),
        private_pid: is_new(Kind::Pid) || joins.iter().any(|j| j.kind == Kind::Pid),
        new_uts: is_new(Kind::Uts),
        new_user: is_new(Kind::User),
        new_mount: is_new(Kind::Mount),
        new_cgroup: is_new(Kind::Cgroup),
        parent_new_time: is_new(Kind::Time),
        ..Plan::default()
    };
    let mut child_joins: Vec<Join> = Vec::new();
    for j in joins {
        match j.kind {
            k if k.for_children() => p.parent_joins.push(j),
            _ => child_joins.push(j),
        }
    }
    child_joins.sort_by_key(|j| j.kind); // user first
    let joins_user = child_joins.iter().any(|j| j.kind == Kind::User);
    let staged = joins_user || (is_new(Kind::User) && !child_joins.is_empty());
    let others = new
        .iter()
        .filter(|k| !matches!(k, Kind::Cgroup | Kind::Time | Kind::User))
        .fold(0, |acc, k| acc | k.flag());
    if staged {
        p.staged = true;
        p.child_new_user = is_new(Kind::User);
        p.child_unshare = others;
        p.fork_again = is_new(Kind::Pid);
    } else {
        p.clone_flags = others
            | if is_new(Kind::User) {
                Kind::User.flag()
            } else {
                0
            };
    }
    if p.new_cgroup {
        p.child_unshare |= Kind::Cgroup.flag();
    }
    p.child_joins = child_joins;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_kind_order_and_complete() {
        for (i, k) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(TABLE[i].0, k);
            assert_eq!(k as usize, i);
            assert_eq!(Kind::from_spec(TABLE[i].1), k);
        }
        assert_eq!(Kind::Network.name(), "network");
        assert_eq!(Kind::Network.proc_name(), "net");
        assert_eq!(Kind::Mount.name(), "mount");
        assert_eq!(Kind::Mount.proc_name(), "mnt");
    }

    fn ns(t: LinuxNamespaceType, path: Option<&str>) -> LinuxNamespace {
        let mut n = LinuxNamespace::default();
        n.set_typ(t);
        n.set_path(path.map(PathBuf::from));
        n
    }

    #[test]
    fn all_new_is_one_clone_with_cgroup_unshared_later() {
        use LinuxNamespaceType::*;
        let p = plan(&[
            ns(Pid, None),
            ns(Network, None),
            ns(Ipc, None),
            ns(Uts, None),
            ns(Mount, None),
            ns(Cgroup, None),
        ]);
        assert_eq!(
            p.clone_flags,
            (libc::CLONE_NEWPID
                | libc::CLONE_NEWNET
                | libc::CLONE_NEWIPC
                | libc::CLONE_NEWUTS
                | libc::CLONE_NEWNS) as u32
        );
        assert_eq!(p.child_unshare, libc::CLONE_NEWCGROUP as u32);
        assert!(!p.fork_again && p.private_pid && p.new_uts && !p.in_user_ns);
    }

    #[test]
    fn joined_pid_is_entered_by_the_parent() {
        use LinuxNamespaceType::*;
        let p = plan(&[ns(Pid, Some("/proc/1/ns/pid")), ns(Mount, None)]);
        assert_eq!(p.parent_joins.len(), 1);
        assert_eq!(p.clone_flags, libc::CLONE_NEWNS as u32);
        assert!(!p.fork_again && p.private_pid);
    }

    #[test]
    fn new_user_with_joined_net_is_staged() {
        use LinuxNamespaceType::*;
        let p = plan(&[
            ns(User, None),
            ns(Network, Some("/run/netns/x")),
            ns(Pid, None),
            ns(Mount, None),
        ]);
        assert_eq!(p.clone_flags, 0);
        assert!(p.child_new_user && p.fork_again && p.in_user_ns);
        assert_eq!(
            p.child_unshare,
            (libc::CLONE_NEWPID | libc::CLONE_NEWNS) as u32
        );
        assert_eq!(p.child_joins[0].kind, Kind::Network);
    }

    #[test]
    fn new_user_alone_is_direct() {
        use LinuxNamespaceType::*;
        let p = plan(&[ns(User, None), ns(Pid, None), ns(Mount, None)]);
        assert_eq!(
            p.clone_flags,
            (libc::CLONE_NEWUSER | libc::CLONE_NEWPID | libc::CLONE_NEWNS) as u32
        );
        assert!(!p.fork_again && p.new_user);
    }

    #[test]
    fn joined_user_goes_first() {
        use LinuxNamespaceType::*;
        let p = plan(&[
            ns(Network, Some("/n")),
            ns(User, Some("/u")),
            ns(Mount, None),
        ]);
        assert_eq!(p.child_joins[0].kind, Kind::User);
        assert_eq!(p.child_unshare, libc::CLONE_NEWNS as u32);
        assert!(!p.fork_again);
    }

    #[test]
    fn new_time_is_unshared_by_the_parent() {
        use LinuxNamespaceType::*;
        let p = plan(&[ns(Time, None)]);
        assert!(p.parent_new_time);
        assert_eq!(p.clone_flags, 0);
    }
}
