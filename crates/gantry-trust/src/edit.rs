//! Editing a policy file for `gantry trust add/rm/list`: the document is edited as JSON so that fields gantry
//! does not know (other transports, future requirement fields) survive, the result is re-parsed before it is
//! written, and the write is atomic (temporary file, fsync, rename, fsync of the directory).

use std::io::Write as _;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::TrustError;
use crate::policy::{Policy, DOCKER_TRANSPORT};

/// Sets the requirements of `docker` scope `scope` to `requirements` (replacing what was there).
pub fn set_scope(doc: &mut Value, scope: &str, requirements: Vec<Value>) -> Result<(), TrustError> {
    crate::scope::validate_docker_scope(scope).map_err(|reason| TrustError::Policy {
        origin: "command line".into(),
        field: format!("scope {scope:?}"),
        reason,
    })?;
    let top = as_object(doc)?;
    let transports = top
        .entry("transports")
        .or_insert_with(|| Value::Object(Map::new()));
    let docker = as_object(transports)?
        .entry(DOCKER_TRANSPORT)
        .or_insert_with(|| Value::Object(Map::new()));
    as_object(docker)?.insert(scope.to_string(), Value::Array(requirements));
    Ok(())
}

/// Removes `docker` scope `scope`; returns whether it existed.
pub fn remove_scope(doc: &mut Value, scope: &str) -> Result<bool, TrustError> {
    let Some(docker) = doc
        .get_mut("transports")
        .and_then(|t| t.get_mut(DOCKER_TRANSPORT))
    else {
        return Ok(false);
    };
    Ok(as_object(docker)?.remove(scope).is_some())
}

/// The `docker` scopes and a one-line summary of their requirements, plus the default's.
pub fn list(policy: &Policy) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = policy
        .transports
        .get(DOCKER_TRANSPORT)
        .into_iter()
        .flatten()
        .map(|(scope, reqs)| {
            let name = if scope.is_empty() {
                "(docker default)".to_string()
            } else {
                scope.clone()
            };
            (name, summary(reqs))
        })
        .collect();
    out.push(("(default)".into(), summary(&policy.default)));
    out
}

fn summary(reqs: &[crate::policy::Requirement]) -> String {
    use crate::policy::{Material, Requirement};
    reqs.iter()
        .map(|r| match r {
            Requirement::InsecureAcceptAnything => "insecureAcceptAnything".to_string(),
            Requirement::Reject => "reject".to_string(),
            Requirement::SignedBy => "signedBy (GPG, unsupported)".to_string(),
            Requirement::SigstoreSigned(s) => {
                let what = match &s.fulcio {
                    Some(f) => format!("fulcio {} {}", f.oidc_issuer, f.subject_email),
                    None => s
                        .keys
                        .iter()
                        .map(|k| match k {
                            Material::Path(p) => p.display().to_string(),
                            Material::Data(_) => "keyData".to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                };
                format!(
                    "sigstoreSigned {what} ({})",
                    crate::identity::describe(&s.signed_identity)
                )
            }
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Checks that `doc` is a valid policy, then writes it to `path` atomically.
pub fn write_atomic(path: &Path, doc: &Value) -> Result<(), TrustError> {
    let text = serde_json::to_string_pretty(doc).unwrap_or_default() + "\n";
    Policy::parse(text.as_bytes(), &path.display().to_string())?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| TrustError::io("create directory", dir, e))?;
    let mut tmp = tempfile_in(dir, path)?;
    let tmp_path = tmp.1.clone();
    let res = (|| {
        tmp.0.write_all(text.as_bytes())?;
        tmp.0.sync_all()?;
        std::fs::rename(&tmp_path, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp_path);
    }
    res.map_err(|e| TrustError::io("write policy", path, e))
}

/// Creates `.NAME.tmp.PID` beside `path`, with the mode of the existing file (or 0644).
fn tempfile_in(dir: &Path, path: &Path) -> Result<(std::fs::File, std::path::PathBuf), TrustError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    use std::os::unix::fs::PermissionsExt as _;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| TrustError::io("create", &tmp, e))?;
    Ok((f, tmp))
}

fn as_object(v: &mut Value) -> Result<&mut Map<String, Value>, TrustError> {
    v.as_object_mut().ok_or_else(|| TrustError::Policy {
        origin: "policy".into(),
        field: "(document)".into(),
        reason: "expected a JSON object".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_keeps_unknown_transports_and_writes_atomically() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("policy.json");
        let mut doc: Value = serde_json::from_str(
            r#"{"default":[{"type":"reject"}],"transports":{"oci-archive":{"":[{"type":"insecureAcceptAnything"}]}}}"#,
        )
        .unwrap();
        set_scope(
            &mut doc,
            "quay.io/ns",
            vec![serde_json::json!({"type":"insecureAcceptAnything"})],
        )
        .unwrap();
        write_atomic(&p, &doc).unwrap();
        let back: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert!(back["transports"]["oci-archive"][""].is_array());
        assert!(back["transports"]["docker"]["quay.io/ns"].is_array());
        let pol = Policy::load(&p).unwrap();
        assert_eq!(list(&pol).len(), 2);
        let mut doc = back;
        assert!(remove_scope(&mut doc, "quay.io/ns").unwrap());
        assert!(!remove_scope(&mut doc, "quay.io/ns").unwrap());
        assert!(set_scope(&mut doc, "busybox", vec![]).is_err());
        // An invalid result is never written.
        set_scope(&mut doc, "quay.io/x", vec![]).unwrap();
        assert!(write_atomic(&p, &doc).is_err());
        assert!(Policy::load(&p).is_ok());
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
