//! The policy document, compatible with containers-policy.json(5): a `default` requirement list and, per
//! transport, lists keyed by scope. Parsing is strict like containers/image (an unknown requirement type or
//! field is an error naming its JSON path), so that a policy never silently means less than it says.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::TrustError;

/// The transport of registry images, the only one gantry pulls from.
pub const DOCKER_TRANSPORT: &str = "docker";

/// A parsed policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Where it came from, for messages (a path, or `built-in default`).
    pub origin: String,
    /// Requirements when no transport scope matches.
    pub default: Vec<Requirement>,
    /// Transport name → scope → requirements.
    pub transports: BTreeMap<String, BTreeMap<String, Vec<Requirement>>>,
}

/// One requirement of a scope; every requirement of the chosen list must be satisfied.
#[derive(Debug, Clone, PartialEq)]
pub enum Requirement {
    /// Accept without any check.
    InsecureAcceptAnything,
    /// Refuse.
    Reject,
    /// GPG `signedBy`: parsed so that shared policies load, but never satisfied (gantry verifies sigstore only).
    SignedBy,
    /// A sigstore signature verified with keys or a Fulcio certificate.
    SigstoreSigned(SigstoreSigned),
}

/// Where public keys or certificates come from: inline bytes or a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Material {
    /// A file (relative paths are resolved against the policy's directory).
    Path(PathBuf),
    /// Inline PEM (the policy holds it base64-encoded).
    Data(Vec<u8>),
}

/// Fulcio (keyless) trust: a CA and the identity the certificate must carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Fulcio {
    /// The CA certificates (PEM).
    pub ca: Material,
    /// Required OIDC issuer.
    pub oidc_issuer: String,
    /// Required subject e-mail.
    pub subject_email: String,
}

/// `sigstoreSigned`.
#[derive(Debug, Clone, PartialEq)]
pub struct SigstoreSigned {
    /// Accepted public keys (any of them may sign); empty with Fulcio.
    pub keys: Vec<Material>,
    /// Keyless verification.
    pub fulcio: Option<Fulcio>,
    /// Rekor public keys (a signature must then carry a Rekor set).
    pub rekor_keys: Vec<Material>,
    /// How the signed identity must relate to the pulled reference.
    pub signed_identity: SignedIdentity,
}

/// `signedIdentity`: which `docker-reference` in the signature is acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIdentity {
    /// Same repository and tag; digest references never match.
    MatchExact,
    /// Tag reference: exact; digest reference: same repository (the default).
    MatchRepoDigestOrExact,
    /// Same repository.
    MatchRepository,
    /// The signature names exactly this reference.
    ExactReference(String),
    /// The signature names this repository.
    ExactRepository(String),
    /// Rewrite `prefix` in the pulled reference to `signed_prefix`, then match like `MatchRepoDigestOrExact`.
    RemapIdentity {
        /// Prefix of the pulled reference.
        prefix: String,
        /// What it becomes in the signed identity.
        signed_prefix: String,
    },
}

impl Policy {
    /// Gantry's policy when no file exists: refuse every remote image (scopes are added by `gantry trust`).
    pub fn default_reject() -> Policy {
        Policy {
            origin: "built-in default (no policy file)".into(),
            default: vec![Requirement::Reject],
            transports: BTreeMap::new(),
        }
    }

    /// The JSON gantry writes when it creates a policy file from nothing.
    pub fn default_document() -> Value {
        serde_json::json!({
            "default": [{"type": "reject"}],
            "transports": {"docker": {}, "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}}
        })
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Policy, TrustError> {
        let bytes = std::fs::read(path).map_err(|e| TrustError::io("read policy", path, e))?;
        let mut p = Policy::parse(&bytes, &path.display().to_string())?;
        if let Some(dir) = path.parent() {
            p.resolve_paths(dir);
        }
        Ok(p)
    }

    /// Parses a policy document; `origin` names it in errors.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Policy, TrustError> {
        let err = |field: &str, reason: String| TrustError::Policy {
            origin: origin.to_string(),
            field: one_line(field),
            reason,
        };
        let doc: Value = serde_json::from_slice(bytes)
            .map_err(|e| err("(document)", format!("not valid JSON: {e}")))?;
        let Value::Object(top) = doc else {
            return Err(err("(document)", "must be a JSON object".into()));
        };
        let ctx = Ctx { origin };
        let default = match top.get("default") {
            Some(v) => ctx.requirements("default", v)?,
            None => {
                return Err(err(
                    "default",
                    "missing; every policy needs a default requirement list, e.g. [{\"type\":\"reject\"}]".into(),
                ))
            }
        };
        let mut transports = BTreeMap::new();
        if let Some(t) = top.get("transports") {
            let Value::Object(t) = t else {
                return Err(err(
                    "transports",
                    "must be an object of transport → scopes".into(),
                ));
            };
            for (name, scopes) in t {
                let field = format!("transports.{name}");
                let Value::Object(scopes) = scopes else {
                    return Err(err(
                        &field,
                        "must be an object of scope → requirements".into(),
                    ));
                };
                let mut out = BTreeMap::new();
                for (scope, reqs) in scopes {
                    let f = format!("{field}.{scope:?}");
                    if name == DOCKER_TRANSPORT {
                        crate::scope::validate_docker_scope(scope).map_err(|r| err(&f, r))?;
                    }
                    out.insert(scope.clone(), ctx.requirements(&f, reqs)?);
                }
                transports.insert(name.clone(), out);
            }
        }
        for key in top.keys() {
            if key != "default" && key != "transports" {
                return Err(err(
                    key,
                    "unknown field (expected default, transports)".into(),
                ));
            }
        }
        Ok(Policy {
            origin: origin.to_string(),
            default,
            transports,
        })
    }

    /// Makes relative key paths relative to `dir` (the policy file's directory).
    fn resolve_paths(&mut self, dir: &Path) {
        let fix = |m: &mut Material| {
            if let Material::Path(p) = m {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        };
        let all = self
            .transports
            .values_mut()
            .flat_map(|s| s.values_mut())
            .chain(std::iter::once(&mut self.default));
        for reqs in all {
            for r in reqs {
                if let Requirement::SigstoreSigned(s) = r {
                    s.keys.iter_mut().for_each(fix);
                    s.rekor_keys.iter_mut().for_each(fix);
                    if let Some(f) = &mut s.fulcio {
                        fix(&mut f.ca);
                    }
                }
            }
        }
    }
}

impl Material {
    /// The bytes: the file's content or the inline data.
    pub fn bytes(&self) -> Result<Vec<u8>, TrustError> {
        match self {
            Material::Path(p) => std::fs::read(p).map_err(|e| TrustError::io("read key", p, e)),
            Material::Data(d) => Ok(d.clone()),
        }
    }

    /// How to name it in messages.
    pub fn describe(&self) -> String {
        match self {
            Material::Path(p) => p.display().to_string(),
            Material::Data(_) => "inline keyData".into(),
        }
    }
}

/// Escapes line breaks so that an error naming an untrusted key stays on one line.
fn one_line(s: &str) -> String {
    s.replace('\n', "\\n").replace('\r', "\\r")
}

/// Parsing context (for error messages).
struct Ctx<'a> {
    origin: &'a str,
}

impl Ctx<'_> {
    fn err(&self, field: &str, reason: impl Into<String>) -> TrustError {
        TrustError::Policy {
            origin: self.origin.to_string(),
            field: one_line(field),
            reason: one_line(&reason.into()),
        }
    }

    fn requirements(&self, field: &str, v: &Value) -> Result<Vec<Requirement>, TrustError> {
        let Value::Array(items) = v else {
            return Err(self.err(field, "must be a list of requirements"));
        };
        if items.is_empty() {
            return Err(self.err(
                field,
                "an empty requirement list is not allowed; use [{\"type\":\"insecureAcceptAnything\"}] to accept anything",
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, r)| self.requirement(&format!("{field}[{i}]"), r))
            .collect()
    }

    fn requirement(&self, field: &str, v: &Value) -> Result<Requirement, TrustError> {
        let Value::Object(o) = v else {
            return Err(self.err(field, "must be an object with a \"type\""));
        };
        let ty = self.string(field, o, "type")?.unwrap_or_default();
        let allow = |names: &[&str]| -> Result<(), TrustError> {
            for k in o.keys() {
                if k != "type" && !names.contains(&k.as_str()) {
                    return Err(self.err(
                        &format!("{field}.{k}"),
                        format!("unknown field for type {ty:?}"),
                    ));
                }
            }
            Ok(())
        };
        match ty.as_str() {
            "insecureAcceptAnything" => allow(&[]).map(|_| Requirement::InsecureAcceptAnything),
            "reject" => allow(&[]).map(|_| Requirement::Reject),
            "signedBy" => Ok(Requirement::SignedBy),
            "sigstoreSigned" => {
                allow(&[
                    "keyPath",
                    "keyPaths",
                    "keyData",
                    "keyDatas",
                    "fulcio",
                    "rekorPublicKeyPath",
                    "rekorPublicKeyPaths",
                    "rekorPublicKeyData",
                    "rekorPublicKeyDatas",
                    "signedIdentity",
                ])?;
                self.sigstore(field, o).map(Requirement::SigstoreSigned)
            }
            "" => Err(self.err(&format!("{field}.type"), "missing")),
            other => Err(self.err(
                &format!("{field}.type"),
                format!("unknown requirement type {other:?} (expected insecureAcceptAnything, reject, signedBy, sigstoreSigned)"),
            )),
        }
    }

    fn sigstore(&self, field: &str, o: &Map<String, Value>) -> Result<SigstoreSigned, TrustError> {
        let keys = self.materials(field, o, "keyPath", "keyPaths", "keyData", "keyDatas")?;
        let fulcio = match o.get("fulcio") {
            None => None,
            Some(v) => Some(self.fulcio(&format!("{field}.fulcio"), v)?),
        };
        match (keys.is_empty(), fulcio.is_some()) {
            (true, false) => {
                return Err(self.err(
                    field,
                    "sigstoreSigned needs exactly one of keyPath, keyPaths, keyData, keyDatas or fulcio",
                ))
            }
            (false, true) => {
                return Err(self.err(field, "sigstoreSigned: keys and fulcio are mutually exclusive"))
            }
            _ => {}
        }
        let rekor_keys = self.materials(
            field,
            o,
            "rekorPublicKeyPath",
            "rekorPublicKeyPaths",
            "rekorPublicKeyData",
            "rekorPublicKeyDatas",
        )?;
        if fulcio.is_some() && rekor_keys.is_empty() {
            return Err(self.err(
                field,
                "fulcio needs a rekorPublicKeyPath or rekorPublicKeyData (the certificate is short-lived; Rekor proves when it signed)",
            ));
        }
        let signed_identity = match o.get("signedIdentity") {
            None => SignedIdentity::MatchRepoDigestOrExact,
            Some(v) => self.identity(&format!("{field}.signedIdentity"), v)?,
        };
        Ok(SigstoreSigned {
            keys,
            fulcio,
            rekor_keys,
            signed_identity,
        })
    }

    /// Reads the four mutually exclusive forms (`path`, `paths`, `data`, `datas`) of key material.
    fn materials(
        &self,
        field: &str,
        o: &Map<String, Value>,
        path: &str,
        paths: &str,
        data: &str,
        datas: &str,
    ) -> Result<Vec<Material>, TrustError> {
        let present: Vec<&str> = [path, paths, data, datas]
            .into_iter()
            .filter(|k| o.contains_key(*k))
            .collect();
        if present.len() > 1 {
            return Err(self.err(
                field,
                format!("{} are mutually exclusive; use one", present.join(" and ")),
            ));
        }
        let mut out = Vec::new();
        if let Some(p) = self.string(field, o, path)? {
            out.push(Material::Path(self.path(&format!("{field}.{path}"), &p)?));
        }
        for (i, p) in self.strings(field, o, paths)?.into_iter().enumerate() {
            out.push(Material::Path(
                self.path(&format!("{field}.{paths}[{i}]"), &p)?,
            ));
        }
        if let Some(d) = self.string(field, o, data)? {
            out.push(Material::Data(self.base64(&format!("{field}.{data}"), &d)?));
        }
        for (i, d) in self.strings(field, o, datas)?.into_iter().enumerate() {
            out.push(Material::Data(
                self.base64(&format!("{field}.{datas}[{i}]"), &d)?,
            ));
        }
        if present.len() == 1 && out.is_empty() {
            return Err(self.err(&format!("{field}.{}", present[0]), "must not be empty"));
        }
        Ok(out)
    }

    fn fulcio(&self, field: &str, v: &Value) -> Result<Fulcio, TrustError> {
        let Value::Object(o) = v else {
            return Err(self.err(field, "must be an object"));
        };
        for k in o.keys() {
            if !["caPath", "caData", "oidcIssuer", "subjectEmail"].contains(&k.as_str()) {
                return Err(self.err(&format!("{field}.{k}"), "unknown field"));
            }
        }
        let ca = match (
            self.string(field, o, "caPath")?,
            self.string(field, o, "caData")?,
        ) {
            (Some(p), None) => Material::Path(self.path(&format!("{field}.caPath"), &p)?),
            (None, Some(d)) => Material::Data(self.base64(&format!("{field}.caData"), &d)?),
            _ => return Err(self.err(field, "needs exactly one of caPath or caData")),
        };
        let need = |k: &str| -> Result<String, TrustError> {
            self.string(field, o, k)?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| self.err(&format!("{field}.{k}"), "missing"))
        };
        Ok(Fulcio {
            ca,
            oidc_issuer: need("oidcIssuer")?,
            subject_email: need("subjectEmail")?,
        })
    }

    fn identity(&self, field: &str, v: &Value) -> Result<SignedIdentity, TrustError> {
        let Value::Object(o) = v else {
            return Err(self.err(field, "must be an object with a \"type\""));
        };
        let ty = self.string(field, o, "type")?.unwrap_or_default();
        let only = |names: &[&str]| -> Result<(), TrustError> {
            match o
                .keys()
                .find(|k| *k != "type" && !names.contains(&k.as_str()))
            {
                Some(k) => {
                    Err(self.err(&format!("{field}.{k}"), format!("unknown field for {ty:?}")))
                }
                None => Ok(()),
            }
        };
        let reference = |k: &str, with_tag: bool| -> Result<String, TrustError> {
            let f = format!("{field}.{k}");
            let s = self
                .string(field, o, k)?
                .ok_or_else(|| self.err(&f, "missing"))?;
            let r = gantry_registry::Reference::parse(&s)
                .map_err(|e| self.err(&f, format!("not a valid image reference: {e}")))?;
            let explicit_tag = s.rsplit('/').next().is_some_and(|last| last.contains(':'));
            if with_tag && !explicit_tag && !s.contains('@') {
                return Err(self.err(
                    &f,
                    "must name a tag or digest (a repository alone matches nothing)",
                ));
            }
            if !with_tag && (explicit_tag || s.contains('@')) {
                return Err(self.err(&f, "must be a repository without tag or digest"));
            }
            Ok(if with_tag { r.to_string() } else { r.name() })
        };
        match ty.as_str() {
            "matchExact" => only(&[]).map(|_| SignedIdentity::MatchExact),
            "matchRepoDigestOrExact" => only(&[]).map(|_| SignedIdentity::MatchRepoDigestOrExact),
            "matchRepository" => only(&[]).map(|_| SignedIdentity::MatchRepository),
            "exactReference" => {
                only(&["dockerReference"])?;
                Ok(SignedIdentity::ExactReference(reference("dockerReference", true)?))
            }
            "exactRepository" => {
                only(&["dockerRepository"])?;
                Ok(SignedIdentity::ExactRepository(reference("dockerRepository", false)?))
            }
            "remapIdentity" => {
                only(&["prefix", "signedPrefix"])?;
                let get = |k: &str| -> Result<String, TrustError> {
                    let f = format!("{field}.{k}");
                    let s = self.string(field, o, k)?.ok_or_else(|| self.err(&f, "missing"))?;
                    crate::scope::validate_docker_scope(&s).map_err(|r| self.err(&f, r))?;
                    if s.contains('@') || s.starts_with("*.") {
                        return Err(self.err(&f, "must be a host, namespace or repository (no digest, no wildcard)"));
                    }
                    Ok(s)
                };
                Ok(SignedIdentity::RemapIdentity {
                    prefix: get("prefix")?,
                    signed_prefix: get("signedPrefix")?,
                })
            }
            "" => Err(self.err(&format!("{field}.type"), "missing")),
            other => Err(self.err(
                &format!("{field}.type"),
                format!("unknown signedIdentity type {other:?} (expected matchExact, matchRepoDigestOrExact, matchRepository, exactReference, exactRepository, remapIdentity)"),
            )),
        }
    }

    fn string(
        &self,
        field: &str,
        o: &Map<String, Value>,
        k: &str,
    ) -> Result<Option<String>, TrustError> {
        match o.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(&format!("{field}.{k}"), "must be a string")),
        }
    }

    fn strings(
        &self,
        field: &str,
        o: &Map<String, Value>,
        k: &str,
    ) -> Result<Vec<String>, TrustError> {
        match o.get(k) {
            None => Ok(vec![]),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(self.err(&format!("{field}.{k}[{i}]"), "must be a string")),
                })
                .collect(),
            Some(_) => Err(self.err(&format!("{field}.{k}"), "must be a list of strings")),
        }
    }

    fn path(&self, field: &str, p: &str) -> Result<PathBuf, TrustError> {
        if p.is_empty() {
            return Err(self.err(field, "must not be empty"));
        }
        Ok(PathBuf::from(p))
    }

    fn base64(&self, field: &str, d: &str) -> Result<Vec<u8>, TrustError> {
        base64::engine::general_purpose::STANDARD
            .decode(d.trim())
            .map_err(|e| self.err(field, format!("not valid base64: {e}")))
    }
}
