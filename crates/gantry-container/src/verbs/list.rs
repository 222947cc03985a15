//! `list`: every container under the state root with its status.

use crate::error::Result;
use crate::state::{StateRoot, Status};

/// One row of `list`.
#[derive(Debug, serde::Serialize)]
pub struct Entry {
    /// Spec version.
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Init PID (0 when stopped).
    pub pid: i32,
    /// Status.
    pub status: &'static str,
    /// Bundle path.
    pub bundle: String,
    /// Rootfs path.
    pub rootfs: String,
    /// Creation time.
    pub created: String,
    /// Owner.
    pub owner: String,
}

/// Lists the containers under `root`, sorted by id.
pub fn list(root: &StateRoot) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for id in root.ids()? {
        let Ok(dir) = root.open(&id) else { continue };
        let Ok(state) = dir.read_state() else {
            continue;
        };
        let status = dir.status(state.as_ref());
        let Some(s) = state else { continue };
        out.push(Entry {
            oci_version: s.oci_version.clone(),
            pid: if status == Status::Stopped { 0 } else { s.pid },
            status: status.as_str(),
            bundle: s.bundle.display().to_string(),
            rootfs: s.rootfs.display().to_string(),
            created: s.created.clone(),
            owner: s.owner.clone(),
            id,
        });
    }
    Ok(out)
}
