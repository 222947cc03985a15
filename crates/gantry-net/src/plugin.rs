//! Executing one CNI plugin per the CNI spec 1.0: parameters in `CNI_*` environment variables, the network
//! configuration on standard input, a result or error as JSON on standard output.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value};

use crate::conflist::Conflist;
use crate::error::{io_err, Error, Result};
use crate::result::CniError;

/// The CNI operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Check,
    Del,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Add => "ADD",
            Op::Check => "CHECK",
            Op::Del => "DEL",
        }
    }
}

/// The per-attachment parameters shared by every plugin of a chain.
pub(crate) struct Call<'a> {
    pub container_id: &'a str,
    pub netns: &'a Path,
    pub ifname: &'a str,
    pub plugin_dirs: &'a [PathBuf],
    pub timeout: std::time::Duration,
}

/// Builds plugin `index`'s standard input: the plugin's own keys plus `cniVersion` and `name` from the list, the
/// `prevResult` when there is one and, for plugins declaring a capability we supply, `runtimeConfig`.
pub(crate) fn plugin_config(
    list: &Conflist,
    index: usize,
    prev_result: Option<&Value>,
    port_mappings: &Value,
) -> Value {
    let mut conf: Map<String, Value> = list.plugins[index].clone();
    conf.insert("cniVersion".into(), list.cni_version.clone().into());
    conf.insert("name".into(), list.name.clone().into());
    if let Some(prev) = prev_result {
        conf.insert("prevResult".into(), prev.clone());
    }
    let wants_ports = conf
        .get("capabilities")
        .and_then(|c| c.get("portMappings"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if wants_ports {
        let mut rc = Map::new();
        rc.insert("portMappings".into(), port_mappings.clone());
        conf.insert("runtimeConfig".into(), Value::Object(rc));
    }
    Value::Object(conf)
}

/// Finds the plugin executable `kind` in the plugin directories.
fn find_plugin(list: &Conflist, kind: &str, dirs: &[PathBuf]) -> Result<PathBuf> {
    dirs.iter()
        .map(|d| d.join(kind))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::PluginNotFound {
            network: list.name.clone(),
            plugin: kind.to_string(),
            search: search_path(dirs),
        })
}

fn search_path(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// The `PATH` plugins run with: the caller's, plus the standard system directories it lacks (plugins exec
/// `iptables`, `ip6tables` and friends from `/usr/sbin`, which a non-login root `PATH` may miss).
pub(crate) fn plugin_path_env(inherited: Option<&str>) -> String {
    const SYSTEM: [&str; 6] = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    let mut dirs: Vec<&str> = inherited
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.is_empty())
        .collect();
    for d in SYSTEM {
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    dirs.join(":")
}

/// Runs plugin `index` of `list` with `op` and its standard input `conf`. On success returns the parsed JSON
/// output (ADD's result; `None` for CHECK and DEL, or an empty output).
pub(crate) fn exec(
    call: &Call<'_>,
    list: &Conflist,
    index: usize,
    op: Op,
    conf: &Value,
) -> Result<Option<Value>> {
    let kind = conf
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let binary = find_plugin(list, &kind, call.plugin_dirs)?;
    let path_env = plugin_path_env(std::env::var("PATH").ok().as_deref());
    let child = Command::new(&binary)
        .env_clear()
        .env("PATH", path_env)
        .env("CNI_COMMAND", op.name())
        .env("CNI_CONTAINERID", call.container_id)
        .env("CNI_NETNS", call.netns)
        .env("CNI_IFNAME", call.ifname)
        .env("CNI_PATH", search_path(call.plugin_dirs))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io_err(&binary, "starting the CNI plugin"))?;
    let input = serde_json::to_vec(conf).unwrap_or_default();
    let out = crate::child_io::run(child, &input, call.timeout)
        .map_err(io_err(&binary, "waiting for the CNI plugin"))?;
    tracing::debug!(plugin = %kind, op = op.name(), index, status = ?out.status, "CNI plugin ran");
    let fail = |code: u32, msg: String, details: String| Error::Plugin {
        network: list.name.clone(),
        plugin: kind.clone(),
        command: op.name(),
        code,
        msg,
        details: if details.is_empty() {
            details
        } else {
            format!(": {details}")
        },
    };
    if !out.status.success() {
        let e = CniError::parse(&out.stdout, &out.stderr);
        return Err(fail(e.code, e.msg, e.details));
    }
    if op != Op::Add || out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| fail(0, format!("unparsable result ({e})"), String::new()))?;
    crate::result::CniResult::parse(&out.stdout).map_err(|m| fail(0, m, String::new()))?;
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_carries_name_version_prev_result_and_ports() {
        let list = Conflist::parse(
            br#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"},{"type":"portmap","capabilities":{"portMappings":true}}]}"#,
            Path::new("t"),
        )
        .unwrap();
        let pm = serde_json::json!([{"hostPort": 1, "containerPort": 2, "protocol": "tcp"}]);
        let first = plugin_config(&list, 0, None, &pm);
        assert_eq!(
            first,
            serde_json::json!({"type":"bridge","cniVersion":"1.0.0","name":"n"})
        );
        let prev = serde_json::json!({"cniVersion":"1.0.0","ips":[]});
        let second = plugin_config(&list, 1, Some(&prev), &pm);
        assert_eq!(second["prevResult"], prev);
        assert_eq!(second["runtimeConfig"]["portMappings"], pm);
    }

    #[test]
    fn plugins_always_find_the_system_tools() {
        assert_eq!(
            plugin_path_env(None),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        );
        assert_eq!(
            plugin_path_env(Some("/opt/x:/usr/bin")),
            "/opt/x:/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/bin"
        );
    }

    #[test]
    fn a_missing_plugin_names_the_network_and_the_search_path() {
        let list = Conflist::parse(
            br#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"no-such-plugin"}]}"#,
            Path::new("t"),
        )
        .unwrap();
        let dirs = [PathBuf::from("/nonexistent/cni")];
        let call = Call {
            container_id: "c",
            netns: Path::new("/nonexistent/ns"),
            ifname: "eth0",
            plugin_dirs: &dirs,
            timeout: std::time::Duration::from_secs(5),
        };
        let conf = plugin_config(&list, 0, None, &Value::Array(vec![]));
        let e = exec(&call, &list, 0, Op::Add, &conf)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("network n: CNI plugin \"no-such-plugin\" not found in /nonexistent/cni"),
            "{e}"
        );
    }
}
