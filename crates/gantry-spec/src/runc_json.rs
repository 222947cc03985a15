//! Writes a [`Spec`] the way runc does: tab-indented, keys in the order of runc's Go structs,
//! capability lists sorted, no trailing newline. (JSON readers do not care about key order; people
//! diffing `gantry-runtime spec` against `runc spec` do.)
//!
//! oci-spec keeps capabilities in a `HashSet`, whose order changes from run to run: without
//! sorting, two runs of `spec` would write different files.

use std::io::{self, Write};

use oci_spec::runtime::Spec;
use serde_json::Value;

/// Serialises `spec` in runc's layout into `out`.
pub fn write_runc_json<W: Write>(spec: &Spec, mut out: W) -> io::Result<()> {
    let value = serde_json::to_value(spec).map_err(io::Error::other)?;
    write_value(&mut out, &value, "", 0)
}

/// [`write_runc_json`] into a `String`.
pub fn to_runc_json(spec: &Spec) -> io::Result<String> {
    let mut buf = Vec::with_capacity(4096);
    write_runc_json(spec, &mut buf)?;
    String::from_utf8(buf).map_err(io::Error::other)
}

/// Field order of runc's Go structs, by the JSON key of the object holding them
/// (array items take the key of their array).
fn key_order(parent: &str) -> &'static [&'static str] {
    match parent {
        "" => &[
            "ociVersion",
            "process",
            "root",
            "hostname",
            "domainname",
            "mounts",
            "hooks",
            "annotations",
            "linux",
            "solaris",
            "windows",
            "vm",
            "zos",
        ],
        "process" => &[
            "terminal",
            "consoleSize",
            "user",
            "args",
            "commandLine",
            "env",
            "cwd",
            "capabilities",
            "rlimits",
            "noNewPrivileges",
            "apparmorProfile",
            "oomScoreAdj",
            "scheduler",
            "selinuxLabel",
            "ioPriority",
            "execCPUAffinity",
        ],
        "user" => &["uid", "gid", "umask", "additionalGids", "username"],
        "consoleSize" => &["height", "width"],
        "capabilities" => &[
            "bounding",
            "effective",
            "inheritable",
            "permitted",
            "ambient",
        ],
        "rlimits" => &["type", "hard", "soft"],
        "root" => &["path", "readonly"],
        "mounts" => &[
            "destination",
            "type",
            "source",
            "options",
            "uidMappings",
            "gidMappings",
        ],
        "linux" => &[
            "uidMappings",
            "gidMappings",
            "sysctl",
            "resources",
            "cgroupsPath",
            "namespaces",
            "devices",
            "seccomp",
            "rootfsPropagation",
            "maskedPaths",
            "readonlyPaths",
            "mountLabel",
            "intelRdt",
            "personality",
            "timeOffsets",
        ],
        "uidMappings" | "gidMappings" => &["containerID", "hostID", "size"],
        "namespaces" => &["type", "path"],
        // linux.devices (path, type, major, minor, fileMode, uid, gid) and
        // linux.resources.devices (allow, type, major, minor, access) merged consistently.
        "devices" => &[
            "allow", "path", "type", "major", "minor", "fileMode", "uid", "gid", "access",
        ],
        "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart"
        | "poststop" => &["path", "args", "env", "timeout"],
        _ => &[],
    }
}

fn rank(order: &[&str], key: &str) -> usize {
    order.iter().position(|k| *k == key).unwrap_or(order.len())
}

fn indent<W: Write>(out: &mut W, depth: usize) -> io::Result<()> {
    for _ in 0..depth {
        out.write_all(b"\t")?;
    }
    Ok(())
}

fn write_value<W: Write>(out: &mut W, v: &Value, parent: &str, depth: usize) -> io::Result<()> {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let order = key_order(parent);
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| (rank(order, a.0), a.0).cmp(&(rank(order, b.0), b.0)));
            out.write_all(b"{\n")?;
            for (i, (k, val)) in entries.iter().enumerate() {
                indent(out, depth + 1)?;
                serde_json::to_writer(&mut *out, k).map_err(io::Error::other)?;
                out.write_all(b": ")?;
                write_value(out, val, k, depth + 1)?;
                out.write_all(if i + 1 < entries.len() { b",\n" } else { b"\n" })?;
            }
            indent(out, depth)?;
            out.write_all(b"}")
        }
        Value::Array(items) if !items.is_empty() => {
            let sorted;
            let items: &[Value] = if key_order("capabilities").contains(&parent) {
                let mut v = items.clone();
                v.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                sorted = v;
                &sorted
            } else {
                items
            };
            out.write_all(b"[\n")?;
            for (i, item) in items.iter().enumerate() {
                indent(out, depth + 1)?;
                write_value(out, item, parent, depth + 1)?;
                out.write_all(if i + 1 < items.len() { b",\n" } else { b"\n" })?;
            }
            indent(out, depth)?;
            out.write_all(b"]")
        }
        other => serde_json::to_writer(&mut *out, other).map_err(io::Error::other),
    }
}
