//! Registry credentials from the files Docker and podman write.
//!
//! Files searched, first match wins: `$REGISTRY_AUTH_FILE`, `${XDG_RUNTIME_DIR}/containers/auth.json`
//! (podman), `$DOCKER_CONFIG/config.json` or `~/.docker/config.json` (Docker). Each holds
//! `{"auths": {"KEY": {"auth": base64("user:password")}}}`. KEY is a registry (`reg:5000`, optionally
//! with `http(s)://` and a `/v1/`-style path; Docker Hub also as `https://index.docker.io/v1/`) or, as
//! podman allows, `registry/namespace[/repo]` — the longest matching key wins. Credential helpers and
//! identity tokens are not supported (an entry with neither `auth` nor `username`/`password` is skipped).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::error::RegistryError;
use crate::reference::DEFAULT_REGISTRY;

/// A user name and password for HTTP Basic auth or a token request.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or access token.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The ordered list of auth files to search.
#[derive(Debug, Clone, Default)]
pub struct AuthFiles {
    paths: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

impl AuthFiles {
    /// Searches exactly `paths`, in order (missing files are skipped).
    pub fn new(paths: Vec<PathBuf>) -> AuthFiles {
        AuthFiles { paths }
    }

    /// The files Docker and podman use, from the environment (see the module docs).
    pub fn from_env() -> AuthFiles {
        let mut paths = Vec::new();
        if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
            paths.push(PathBuf::from(p));
        }
        if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
            paths.push(PathBuf::from(d).join("containers/auth.json"));
        }
        if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
            paths.push(PathBuf::from(d).join("config.json"));
        } else if let Some(h) = std::env::var_os("HOME") {
            paths.push(PathBuf::from(h).join(".docker/config.json"));
        }
        AuthFiles { paths }
    }

    /// The files searched.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Credentials for `repository` on `registry`, if any file has them.
    pub fn lookup(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<Option<Credentials>, RegistryError> {
        for path in &self.paths {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(auth_file_error(path, e.to_string())),
            };
            let file: AuthFile =
                serde_json::from_str(&text).map_err(|e| auth_file_error(path, e.to_string()))?;
            if let Some(c) = find(&file, registry, repository, path)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }
}

fn auth_file_error(path: &Path, reason: String) -> RegistryError {
    RegistryError::AuthFile {
        path: path.to_path_buf(),
        reason,
    }
}

/// `https://reg:5000/v1/` → `reg:5000`; `reg/ns/repo` stays.
fn normalise_key(key: &str) -> String {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let k = k.trim_end_matches('/');
    let k = match k.split_once('/') {
        // A URL path such as /v1 or /v2 is not a repository.
        Some((host, path)) if path == "v1" || path == "v2" => host,
        _ => k,
    };
    match k.split_once('/') {
        Some((host, rest)) => format!("{}/{rest}", canonical_host(host)),
        None => canonical_host(k).to_string(),
    }
}

fn canonical_host(host: &str) -> &str {
    match host {
        "index.docker.io" | "registry-1.docker.io" => DEFAULT_REGISTRY,
        h => h,
    }
}

fn find(
    file: &AuthFile,
    registry: &str,
    repository: &str,
    path: &Path,
) -> Result<Option<Credentials>, RegistryError> {
    let registry = canonical_host(registry);
    let full = format!("{registry}/{repository}");
    let mut best: Option<(usize, &AuthEntry, &str)> = None;
    for (key, entry) in &file.auths {
        let k = normalise_key(key);
        let matches =
            k == registry || (k.contains('/') && (full == k || full.starts_with(&format!("{k}/"))));
        if matches && best.is_none_or(|(len, _, _)| k.len() > len) {
            best = Some((k.len(), entry, key));
        }
    }
    let Some((_, entry, key)) = best else {
        return Ok(None);
    };
    if let Some(b64) = entry.auth.as_deref().filter(|s| !s.is_empty()) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| auth_file_error(path, format!("auths.{key:?}.auth is not base64: {e}")))?;
        let text = String::from_utf8(raw)
            .map_err(|_| auth_file_error(path, format!("auths.{key:?}.auth is not UTF-8")))?;
        let (u, p) = text.split_once(':').ok_or_else(|| {
            auth_file_error(
                path,
                format!("auths.{key:?}.auth must encode \"user:password\""),
            )
        })?;
        return Ok(Some(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) => Ok(Some(Credentials {
            username: u.clone(),
            password: p.clone(),
        })),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn files(json: &str) -> (tempfile::TempDir, AuthFiles) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth.json");
        std::fs::write(&p, json).unwrap();
        let f = AuthFiles::new(vec![dir.path().join("missing.json"), p]);
        (dir, f)
    }

    #[test]
    fn docker_config_forms() {
        let json = format!(
            r#"{{"auths": {{
                "https://index.docker.io/v1/": {{"auth": "{}"}},
                "127.0.0.1:5000": {{"auth": "{}"}},
                "http://reg.lan:5000/v2/": {{"auth": "{}"}},
                "quay.io/team": {{"auth": "{}"}},
                "quay.io/team/special": {{"username": "s", "password": "p:w"}}
            }}}}"#,
            b64("hub:pw"),
            b64("local:pw"),
            b64("lan:pw"),
            b64("team:pw"),
        );
        let (_d, f) = files(&json);
        let user = |reg, repo| f.lookup(reg, repo).unwrap().map(|c| c.username);
        assert_eq!(user("docker.io", "library/busybox").as_deref(), Some("hub"));
        assert_eq!(
            user("127.0.0.1:5000", "testbed/busybox").as_deref(),
            Some("local")
        );
        assert_eq!(user("reg.lan:5000", "x").as_deref(), Some("lan"));
        assert_eq!(user("quay.io", "team/app").as_deref(), Some("team"));
        assert_eq!(user("quay.io", "team/special").as_deref(), Some("s"));
        assert_eq!(user("quay.io", "teamx/app"), None);
        assert_eq!(user("127.0.0.1:5001", "x"), None);
        let c = f.lookup("quay.io", "team/special").unwrap().unwrap();
        assert_eq!(c.password, "p:w");
        assert!(!format!("{c:?}").contains("p:w"));
    }

    #[test]
    fn first_file_wins_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let b = dir.path().join("b.json");
        std::fs::write(
            &a,
            format!(r#"{{"auths":{{"r":{{"auth":"{}"}}}}}}"#, b64("a:1")),
        )
        .unwrap();
        std::fs::write(
            &b,
            format!(r#"{{"auths":{{"r":{{"auth":"{}"}}}}}}"#, b64("b:1")),
        )
        .unwrap();
        let f = AuthFiles::new(vec![a.clone(), b]);
        assert_eq!(f.lookup("r", "x").unwrap().unwrap().username, "a");

        std::fs::write(&a, r#"{"auths":{"r":{"auth":"!!"}}}"#).unwrap();
        let e = f.lookup("r", "x").unwrap_err().to_string();
        assert!(e.contains("a.json"), "{e}");
        std::fs::write(
            &a,
            format!(r#"{{"auths":{{"r":{{"auth":"{}"}}}}}}"#, b64("nocolon")),
        )
        .unwrap();
        assert!(f.lookup("r", "x").is_err());
        std::fs::write(&a, "not json").unwrap();
        assert!(f.lookup("r", "x").is_err());
    }
}
