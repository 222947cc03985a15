//! The pod's network record (`<pod dir>/network.json`): written before any plugin runs and after each one, so
//! that a crash at any point leaves enough to undo what was done (`DEL` with the last known result).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{io_err, Error, Result};
use crate::ports::PortMapping;

/// The state file's name inside the pod directory.
pub const STATE_FILE: &str = "network.json";

/// Everything needed to tear a pod's networking down without its configuration files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PodNetState {
    /// The CNI container ID used for every call.
    pub container_id: String,
    /// The namespace path given as `CNI_NETNS`.
    pub netns: PathBuf,
    /// Whether this crate created the namespace (and so gc removes it).
    pub owns_netns: bool,
    /// Published ports, as given to portmap.
    pub ports: Vec<PortMapping>,
    /// The networks, in attach order.
    pub networks: Vec<NetState>,
}

/// One network of a pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NetState {
    /// The interface name in the pod (`eth0`, `eth1`, ...).
    pub ifname: String,
    /// The conflist as it was at ADD time (DEL must use the same configuration).
    pub conflist: Value,
    /// The last result a plugin of the chain returned (`None` before the first one finished).
    pub result: Option<Value>,
    /// Whether every plugin of the chain finished ADD.
    pub complete: bool,
}

/// The state file of the pod directory `pod_dir`.
pub(crate) fn path(pod_dir: &Path) -> PathBuf {
    pod_dir.join(STATE_FILE)
}

/// Reads the state, `None` if there is none.
pub(crate) fn read(pod_dir: &Path) -> Result<Option<PodNetState>> {
    let file = path(pod_dir);
    let text = match std::fs::read(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&file, "reading")(e)),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| Error::State {
            path: file,
            reason: format!("unparsable ({e}); remove the pod's network by hand"),
        })
}

/// Writes the state durably: a temporary file, fsync, rename over the old one, fsync of the directory.
pub(crate) fn write(pod_dir: &Path, state: &PodNetState) -> Result<()> {
    std::fs::create_dir_all(pod_dir).map_err(io_err(pod_dir, "creating the pod directory"))?;
    let file = path(pod_dir);
    let tmp = pod_dir.join(format!(".{STATE_FILE}.tmp"));
    let text = serde_json::to_vec_pretty(state).unwrap_or_default();
    let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp, "creating"))?;
    f.write_all(&text).map_err(io_err(&tmp, "writing"))?;
    f.sync_all().map_err(io_err(&tmp, "syncing"))?;
    drop(f);
    std::fs::rename(&tmp, &file).map_err(io_err(&file, "replacing"))?;
    sync_dir(pod_dir)
}

/// Removes the state file (missing is fine).
pub(crate) fn remove(pod_dir: &Path) -> Result<()> {
    let file = path(pod_dir);
    match std::fs::remove_file(&file) {
        Ok(()) => sync_dir(pod_dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(&file, "removing")(e)),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "syncing the directory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).unwrap().is_none());
        let st = PodNetState {
            container_id: "pod1".into(),
            netns: "/x/netns/pod1".into(),
            owns_netns: true,
            ports: vec![PortMapping::parse("8080:80").unwrap()],
            networks: vec![NetState {
                ifname: "eth0".into(),
                conflist: serde_json::json!({"name": "n"}),
                result: None,
                complete: false,
            }],
        };
        write(dir.path(), &st).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(st));
        remove(dir.path()).unwrap();
        remove(dir.path()).unwrap();
        assert!(read(dir.path()).unwrap().is_none());
        std::fs::write(path(dir.path()), "{").unwrap();
        assert!(read(dir.path())
            .unwrap_err()
            .to_string()
            .contains("network.json: pod network state"));
    }
}
