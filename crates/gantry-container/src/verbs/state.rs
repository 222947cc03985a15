//! `state` (runtime.md "Query State").

use crate::error::{Error, Result};
use crate::state::StateRoot;

/// The state JSON of container `id`, as the spec defines it (pretty-printed like runc).
pub fn state_json(root: &StateRoot, id: &str) -> Result<String> {
    let dir = root.open(id)?;
    let state = dir.read_state()?;
    let status = dir.status(state.as_ref());
    let Some(state) = state else {
        return Ok(format!(
            "{{\n  \"ociVersion\": \"{}\",\n  \"id\": \"{id}\",\n  \"status\": \"creating\",\n  \"pid\": 0,\n  \"bundle\": \"\"\n}}",
            crate::OCI_VERSION
        ));
    };
    serde_json::to_string_pretty(&state.spec_view(status)).map_err(|e| Error::BadState {
        id: id.into(),
        path: dir.path().into(),
        reason: e.to_string(),
    })
}
