//! `linux.netDevices` (config-linux.md "Network Devices"): host interfaces moved into the container's network
//! namespace, renamed per `name`. Checked before clone (names, a network namespace of its own, the devices exist),
//! moved by the runtime (which is in the host's network namespace) once the init exists and before it is let go.

use std::os::fd::AsFd;
use std::path::Path;

use oci_spec::runtime::Spec;
use rustix::fs::{Mode, OFlags};

use super::netlink::Route;
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
    let mut route = Route::open().map_err(|e| Error::sys("open an rtnetlink socket", e))?;
    for (host, name) in pairs {
        let index = ifindex(&host)?;
        route.move_link(index, netns.as_fd(), &name).map_err(|e| {
            bad(
                format!("linux.netDevices[{host:?}]"),
                format!("cannot move it into the container's network namespace as {name:?}: {e}"),
            )
        })?;
    }
    Ok(())
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
