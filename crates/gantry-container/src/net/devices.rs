//! `linux.netDevices` (config-linux.md "Network Devices"): host interfaces moved into the container's network
//! namespace, renamed per `name`, with their addresses and up state (a move drops both; the kernel makes IPv6
//! link-local addresses again by itself). Checked before clone (names, a network namespace of its own, the devices
//! exist); moved by the runtime (which is in the host's network namespace) once the init exists and before it is
//! let go.

use std::os::fd::AsFd;
use std::path::Path;

use oci_spec::runtime::Spec;
use rustix::fs::{Mode, OFlags};

use super::route::Route;
use crate::error::{Error, Result};
use crate::namespaces::{Kind, Plan};

fn bad(field: String, reason: String) -> Error {
    Error::Unsupported { field, reason }
}

/// Whether `name` is a valid Linux interface name (1–15 bytes, no `/`, `:` or whitespace, not `.` or `..`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
}

/// The `(host name, container name)` pairs of `linux.netDevices`, sorted by host name, names checked.
pub fn pairs(spec: &Spec) -> Result<Vec<(String, String)>> {
    let Some(devs) = spec.linux().as_ref().and_then(|l| l.net_devices().as_ref()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (host, d) in devs {
        if !valid_name(host) {
            return Err(bad(
                format!("linux.netDevices[{host:?}]"),
                "not a valid interface name (1 to 15 characters, no '/', ':' or spaces)".into(),
            ));
        }
        let name = d
            .name()
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(host);
        if !valid_name(name) {
            return Err(bad(
                format!("linux.netDevices[{host:?}].name"),
                format!("{name:?} is not a valid interface name (1 to 15 characters, no '/', ':' or spaces)"),
            ));
        }
        if out.iter().any(|(_, n): &(String, String)| n == name) {
            return Err(bad(
                format!("linux.netDevices[{host:?}].name"),
                format!("two devices would be named {name:?} in the container"),
            ));
        }
        out.push((host.clone(), name.to_owned()));
    }
    out.sort();
    Ok(out)
}

/// Checks before clone: the container has its own network namespace and every host device exists.
pub fn check(spec: &Spec, plan: &Plan) -> Result<()> {
    let pairs = pairs(spec)?;
    if pairs.is_empty() {
        return Ok(());
    }
    let new_net = plan.clone_flags & libc::CLONE_NEWNET as u32 != 0;
    let joined = plan.child_joins.iter().any(|j| j.kind == Kind::Network);
    if !new_net && !joined {
        return Err(bad(
            "linux.netDevices".into(),
            if plan.staged && plan.child_unshare & libc::CLONE_NEWNET as u32 != 0 {
                "moving devices into a network namespace created beside a joined user namespace is not supported; \
                 join a network namespace by path instead"
                    .into()
            } else {
                "the container needs its own network namespace (add {\"type\": \"network\"} to linux.namespaces)"
                    .into()
            },
        ));
    }
    for (host, _) in &pairs {
        ifindex(host)?;
    }
    Ok(())
}

fn ifindex(host: &str) -> Result<i32> {
    let path = format!("/sys/class/net/{host}/ifindex");
    let text = std::fs::read_to_string(&path).map_err(|_| {
        bad(
            format!("linux.netDevices[{host:?}]"),
            "no such network interface on the host".into(),
        )
    })?;
    text.trim().parse().map_err(|_| {
        Error::path(
            "read",
            Path::new(&path),
            std::io::ErrorKind::InvalidData.into(),
        )
    })
}

/// Moves the devices into the network namespace of the init `pid` (or the one it joins by path), renaming them.
pub fn move_into(spec: &Spec, plan: &Plan, pid: i32) -> Result<()> {
    let pairs = pairs(spec)?;
    if pairs.is_empty() {
        return Ok(());
    }
    let ns_path = match plan.child_joins.iter().find(|j| j.kind == Kind::Network) {
        Some(j) => j.path.clone(),
        None => format!("/proc/{pid}/ns/net").into(),
    };
    let netns = rustix::fs::open(&ns_path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::path("open network namespace", &ns_path, e.into()))?;
    let mut host = Route::open().map_err(|e| Error::sys("open an rtnetlink socket", e))?;
    let mut inside = Route::open_in(netns.as_fd()).map_err(|e| {
        Error::sys(
            "open an rtnetlink socket in the container's network namespace",
            e,
        )
    })?;
    for (host_name, name) in pairs {
        let field = format!("linux.netDevices[{host_name:?}]");
        let fail = |what: &str, e: std::io::Error| bad(field.clone(), format!("{what}: {e}"));
        let index = ifindex(&host_name)?;
        let was_up = is_up(&host_name);
        let addrs: Vec<_> = host
            .addresses(index)
            .map_err(|e| fail("cannot read its addresses", e))?
            .into_iter()
            .filter(|a| !a.is_automatic())
            .collect();
        host.move_link(index, netns.as_fd(), &name).map_err(|e| {
            fail(
                &format!("cannot move it into the container's network namespace as {name:?}"),
                e,
            )
        })?;
        let (new_index, _) = inside.link(&name).map_err(|e| {
            fail(
                &format!("moved, but {name:?} is not found in the container"),
                e,
            )
        })?;
        for a in &addrs {
            inside
                .add_address(new_index, a)
                .map_err(|e| fail("cannot restore an address in the container", e))?;
        }
        if was_up {
            inside
                .set_up(new_index)
                .map_err(|e| fail("cannot bring it up in the container", e))?;
        }
    }
    Ok(())
}

/// The marker a container directory holds when its devices must go back to the host at `delete`: they were moved
/// into a network namespace joined by path, which outlives the container (a namespace of the container's own dies
/// with it: the kernel destroys virtual devices and hands physical ones back itself).
pub const RETURN_MARKER: &str = "netdevices";

/// Whether `delete` must hand the devices back (see [`RETURN_MARKER`]).
pub fn must_return(spec: &Spec, plan: &Plan) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .is_some_and(|d| !d.is_empty())
        && plan.child_joins.iter().any(|j| j.kind == Kind::Network)
}

/// At `delete`: moves the devices of `spec` (the container's kept config) from the network namespace it joined
/// back into the runtime's, under their host names, with their addresses and up state. Devices that are gone are
/// skipped.
pub fn return_to_host(spec: &Spec) -> Result<()> {
    let pairs = pairs(spec)?;
    let plan = crate::namespaces::plan(
        spec.linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_deref())
            .unwrap_or(&[]),
    );
    let Some(join) = plan.child_joins.iter().find(|j| j.kind == Kind::Network) else {
        return Ok(());
    };
    let netns = rustix::fs::open(&join.path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::path("open network namespace", &join.path, e.into()))?;
    let own = rustix::fs::open(
        "/proc/thread-self/ns/net",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::path("open", "/proc/thread-self/ns/net", e.into()))?;
    let mut inside = Route::open_in(netns.as_fd()).map_err(|e| {
        Error::sys(
            "open an rtnetlink socket in the container's network namespace",
            e,
        )
    })?;
    let mut host = Route::open().map_err(|e| Error::sys("open an rtnetlink socket", e))?;
    for (host_name, name) in pairs {
        let field = format!("linux.netDevices[{host_name:?}]");
        let fail = |what: &str, e: std::io::Error| bad(field.clone(), format!("{what}: {e}"));
        let (index, flags) = match inside.link(&name) {
            Ok(l) => l,
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => continue,
            Err(e) => {
                return Err(fail(
                    "cannot find it in the container's network namespace",
                    e,
                ))
            }
        };
        let addrs: Vec<_> = inside
            .addresses(index)
            .map_err(|e| fail("cannot read its addresses", e))?
            .into_iter()
            .filter(|a| !a.is_automatic())
            .collect();
        inside
            .move_link(index, own.as_fd(), &host_name)
            .map_err(|e| fail("cannot move it back to the host", e))?;
        let (back, _) = host
            .link(&host_name)
            .map_err(|e| fail("moved back, but it is not found on the host", e))?;
        for a in &addrs {
            host.add_address(back, a)
                .map_err(|e| fail("cannot restore an address on the host", e))?;
        }
        if flags & super::netlink::IFF_UP != 0 {
            host.set_up(back)
                .map_err(|e| fail("cannot bring it up on the host", e))?;
        }
    }
    Ok(())
}

/// At `delete`, for a container directory holding [`RETURN_MARKER`]: hands the devices back to the host (see
/// [`return_to_host`]), reading the config kept at create. Failures are warnings: the deletion goes on.
pub fn return_kept(dir: &crate::state::ContainerDir) {
    if !dir.has(RETURN_MARKER) {
        return;
    }
    let path = dir.path().join(crate::state::CONFIG_FILE);
    let spec = match std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice::<Spec>(&b).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                "linux.netDevices: cannot read {}: {e}; devices stay where they are",
                path.display()
            );
            return;
        }
    };
    if let Err(e) = return_to_host(&spec) {
        tracing::warn!("{e}");
    }
}

fn is_up(host: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{host}/flags"))
        .ok()
        .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
        .is_some_and(|f| f & super::netlink::IFF_UP != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        assert!(valid_name("eth0"));
        assert!(valid_name("a23456789012345"));
        assert!(!valid_name("a234567890123456"));
        assert!(!valid_name(""));
        assert!(!valid_name(".."));
        assert!(!valid_name("a/b"));
        assert!(!valid_name("a b"));
        assert!(!valid_name("a:1"));
    }

    #[test]
    fn pairs_default_to_the_host_name_and_refuse_clashes() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "linux": {"netDevices": {"dummy0": {}, "dummy1": {"name": "eth9"}}}
        }))
        .unwrap();
        assert_eq!(
            pairs(&spec).unwrap(),
            vec![
                ("dummy0".into(), "dummy0".into()),
                ("dummy1".into(), "eth9".into())
            ]
        );
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "linux": {"netDevices": {"a": {"name": "x"}, "b": {"name": "x"}}}
        }))
        .unwrap();
        assert!(pairs(&spec)
            .unwrap_err()
            .to_string()
            .contains("two devices"));
    }
}
