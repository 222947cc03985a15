//! Bytes of config.json → `Spec`, with the failing field's JSON path on error.
//!
//! The success path is a single `serde_json::from_slice`. Only when that fails is the document
//! deserialised a second time through `serde_path_to_error`, to name the field: errors are rare,
//! the hot path should not pay for path tracking.

use oci_spec::runtime::Spec;

use crate::SpecError;

/// Parses the bytes of a config.json into a [`Spec`] (no validation beyond types).
pub fn parse(bytes: &[u8]) -> Result<Spec, SpecError> {
    // serde's derived structs also accept a JSON array (fields by position): refuse it here.
    if let Some(found) = non_object(bytes) {
        return Err(SpecError::NotObject { found });
    }
    match serde_json::from_slice::<Spec>(bytes) {
        Ok(mut spec) => {
            drop_pids_without_limit(&mut spec, bytes);
            Ok(spec)
        }
        Err(err) => Err(classify(bytes, err)),
    }
}

/// runtime-spec 1.3 (config-linux.md "PIDs", #1279) makes `linux.resources.pids.limit` optional and a present `0`
/// a real limit of zero tasks, as runc 1.4 applies it. oci-spec reads an absent `limit` as 0 too, so when the
/// parsed limit is 0 (rare) the document is probed once more for whether the field was there; without it the
/// `pids` object sets nothing and is dropped.
fn drop_pids_without_limit(spec: &mut Spec, bytes: &[u8]) {
    #[derive(serde::Deserialize)]
    struct Doc {
        linux: Option<Linux>,
    }
    #[derive(serde::Deserialize)]
    struct Linux {
        resources: Option<Resources>,
    }
    #[derive(serde::Deserialize)]
    struct Resources {
        pids: Option<Pids>,
    }
    #[derive(serde::Deserialize)]
    struct Pids {
        limit: Option<i64>,
    }
    let zero = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.pids().as_ref())
        .is_some_and(|p| p.limit() == 0);
    if !zero {
        return;
    }
    let given = serde_json::from_slice::<Doc>(bytes)
        .ok()
        .and_then(|d| d.linux?.resources?.pids.map(|p| p.limit.is_some()));
    if given == Some(false) {
        if let Some(r) = spec
            .linux_mut()
            .as_mut()
            .and_then(|l| l.resources_mut().as_mut())
        {
            r.set_pids(None);
        }
    }
}

fn classify(bytes: &[u8], err: serde_json::Error) -> SpecError {
    use serde_json::error::Category;
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => SpecError::Syntax {
            line: err.line(),
            column: err.column(),
            message: strip_position(&err),
        },
        Category::Data => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let (field, inner) = match serde_path_to_error::deserialize::<_, Spec>(&mut de) {
                Ok(_) => (String::from("(document)"), err),
                Err(e) => {
                    let field = e.path().to_string();
                    (field, e.into_inner())
                }
            };
            SpecError::Schema {
                field: if field == "." {
                    String::from("(top level)")
                } else {
                    field
                },
                message: strip_position(&inner),
                line: inner.line(),
                column: inner.column(),
            }
        }
    }
}

/// serde_json appends " at line L column C"; we report the position ourselves.
fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// What the top-level value is, when it is not an object.
fn non_object(bytes: &[u8]) -> Option<&'static str> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    Some(match first {
        b'{' => return None,
        b'0'..=b'9' | b'-' => "a number",
        b'[' => "an array",
        b'"' => "a string",
        b'n' => "null",
        b't' | b'f' => "a boolean",
        _ => return None, // not JSON: let the parser report where
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pids_limit(doc: &str) -> Option<i64> {
        let spec = parse(doc.as_bytes()).unwrap();
        let l = spec.linux().clone()?;
        let r = l.resources().clone()?;
        r.pids().map(|p| p.limit())
    }

    /// config-linux.md "PIDs" (runtime-spec 1.3): `limit` is optional; 0 is a limit, absent sets nothing.
    #[test]
    fn pids_limit_zero_is_kept_and_an_absent_limit_drops_pids() {
        let doc = |pids: &str| {
            format!(r#"{{"ociVersion":"1.3.0","linux":{{"resources":{{"pids":{pids}}}}}}}"#)
        };
        assert_eq!(pids_limit(&doc(r#"{"limit":0}"#)), Some(0));
        assert_eq!(pids_limit(&doc(r#"{"limit":-1}"#)), Some(-1));
        assert_eq!(pids_limit(&doc(r#"{"limit":32}"#)), Some(32));
        assert_eq!(pids_limit(&doc("{}")), None);
    }

    #[test]
    fn minimal_object_parses() {
        let spec = parse(br#"{"ociVersion":"1.2.0","root":{"path":"rootfs"}}"#).unwrap();
        assert_eq!(spec.version(), "1.2.0");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = parse(b"{\n  \"ociVersion\" \"1.2.0\"\n}").unwrap_err();
        match err {
            SpecError::Syntax { line, column, .. } => assert_eq!((line, column), (2, 16)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(parse(b"").unwrap_err(), SpecError::Syntax { .. }));
        assert!(matches!(
            parse(b"xyz").unwrap_err(),
            SpecError::Syntax { .. }
        ));
    }

    #[test]
    fn non_object_is_named() {
        for (doc, found) in [
            (&b"[]"[..], "an array"),
            (b" \"x\"", "a string"),
            (b"null", "null"),
            (b"1", "a number"),
            (b"true", "a boolean"),
        ] {
            match parse(doc).unwrap_err() {
                SpecError::NotObject { found: f } => assert_eq!(f, found),
                other => panic!("{doc:?}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn wrong_type_names_field_path() {
        let doc =
            br#"{"ociVersion":"1.2.0","linux":{"namespaces":[{"type":"pid"},{"type":"bogus"}]}}"#;
        let err = parse(doc).unwrap_err();
        assert_eq!(err.field(), Some("linux.namespaces[1].type"), "{err}");
        let text = err.to_string();
        assert!(text.contains("bogus"), "{text}");
        assert!(!text.contains('\n'));

        let doc = br#"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":-1}}}"#;
        assert_eq!(parse(doc).unwrap_err().field(), Some("process.user.uid"));
    }
}
