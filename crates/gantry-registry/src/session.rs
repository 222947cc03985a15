//! One authenticated connection context to one repository: the `oci-client` client (token handshake,
//! blob transfer, push) plus a plain `reqwest` client for manifest GETs, which must be size-bounded
//! and keep the exact bytes and `Content-Type` (oci-client buffers manifests without a limit).

use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};
use reqwest::header::{
    HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE,
};

use crate::auth::{AuthFiles, Credentials};
use crate::config::{RegistryConfig, Timeouts};
use crate::digest::{Digest, Verifier};
use crate::error::{Phase, RegistryError};
use crate::manifest::{ACCEPTED_MANIFEST_TYPES, MAX_MANIFEST_SIZE};
use crate::reference::Reference;
use crate::retry::RetryPolicy;

/// The phase a reqwest error happened in; `message` is its text with all its sources.
fn phase_of(e: &reqwest::Error, message: &str) -> Phase {
    let m = message.to_ascii_lowercase();
    if m.contains("dns error") || m.contains("failed to lookup address") {
        Phase::Dns
    } else if m.contains("tls") || m.contains("certificate") || m.contains("handshake") {
        Phase::Tls
    } else if e.is_connect() {
        Phase::Connect
    } else if e.is_timeout() {
        Phase::Idle
    } else {
        Phase::Read
    }
}

/// What a failed request was about, to pick the right error variant.
#[derive(Debug, Clone)]
pub(crate) enum Subject {
    /// A manifest by tag or digest.
    Manifest(String),
    /// A blob.
    Blob(Digest),
    /// Anything else (ping, upload).
    Other,
}

/// A fetched manifest: exact bytes, their digest and the response's media type.
pub(crate) struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub content_type: Option<String>,
}

/// Connection context for one repository.
pub(crate) struct Session {
    pub reference: Reference,
    pub oci: Client,
    pub oci_ref: oci_client::Reference,
    http: reqwest::Client,
    base: String,
    header: Option<HeaderValue>,
    had_credentials: bool,
    pub retry: RetryPolicy,
}

impl Session {
    /// Builds the clients (no network yet); `chunked_push` selects PATCH-chunked blob uploads.
    pub fn new(
        reference: &Reference,
        config: &RegistryConfig,
        retry: RetryPolicy,
        chunked_push: bool,
    ) -> Result<Session, RegistryError> {
        let insecure = config.is_insecure(reference.registry());
        let scheme = if insecure { "http" } else { "https" };
        let oci_config = oci_client::client::ClientConfig {
            protocol: if insecure {
                oci_client::client::ClientProtocol::Http
            } else {
                oci_client::client::ClientProtocol::Https
            },
            user_agent: concat!("gantry/", env!("CARGO_PKG_VERSION")),
            connect_timeout: Timeouts::duration(config.timeouts.connect),
            read_timeout: Timeouts::duration(config.timeouts.idle),
            use_monolithic_push: !chunked_push,
            ..Default::default()
        };
        let transport = |e: OciDistributionError| RegistryError::Transport {
            registry: reference.registry().to_string(),
            url: format!("{scheme}://{}", reference.api_host()),
            message: e.to_string(),
        };
        let oci = Client::try_from(oci_config).map_err(transport)?;
        let mut http =
            reqwest::Client::builder().user_agent(concat!("gantry/", env!("CARGO_PKG_VERSION")));
        if let Some(t) = Timeouts::duration(config.timeouts.connect) {
            http = http.connect_timeout(t);
        }
        if let Some(t) = Timeouts::duration(config.timeouts.idle) {
            http = http.read_timeout(t);
        }
        let http = http.build().map_err(|e| RegistryError::Transport {
            registry: reference.registry().to_string(),
            url: format!("{scheme}://{}", reference.api_host()),
            message: e.to_string(),
        })?;
        Ok(Session {
            oci_ref: reference.to_oci(),
            reference: reference.clone(),
            oci,
            http,
            base: format!("{scheme}://{}", reference.api_host()),
            header: None,
            had_credentials: false,
            retry,
        })
    }

    /// Registry as named in the reference.
    pub fn registry(&self) -> &str {
        self.reference.registry()
    }

    /// Repository path.
    pub fn repository(&self) -> &str {
        self.reference.repository()
    }

    /// Pings `/v2/` and, if challenged, authenticates: Bearer via oci-client's token handshake (with
    /// the user's credentials, if any, for the token request), Basic with the user's credentials.
    pub async fn authenticate(
        &mut self,
        files: &AuthFiles,
        op: RegistryOperation,
    ) -> Result<(), RegistryError> {
        let creds = files.lookup(self.registry(), self.repository())?;
        self.had_credentials = creds.is_some();
        let url = format!("{}/v2/", self.base);
        let challenge = self
            .retry
            .clone()
            .run("ping registry", |_| async {
                let res = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| self.transport_error(&url, &e))?;
                let status = res.status().as_u16();
                let challenge = res
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                match status {
                    200..=299 => Ok(None),
                    401 => Ok(Some(challenge.unwrap_or_default())),
                    _ => {
                        let body = res.text().await.unwrap_or_default();
                        Err(self.status_error(status, &url, body, &Subject::Other))
                    }
                }
            })
            .await?;
        let Some(challenge) = challenge else {
            return Ok(());
        };
        let scheme = challenge
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let auth = match &creds {
            Some(Credentials { username, password }) => {
                RegistryAuth::Basic(username.clone(), password.clone())
            }
            None => RegistryAuth::Anonymous,
        };
        match scheme.as_str() {
            "bearer" => {
                let this: &Session = self;
                let token = this
                    .retry
                    .clone()
                    .run("get registry token", |_| {
                        let auth = auth.clone();
                        let url = &url;
                        async move {
                            this.oci
                                .auth(&this.oci_ref, &auth, op)
                                .await
                                .map_err(|e| this.map_oci(e, url, &Subject::Other))
                        }
                    })
                    .await?;
                if let Some(t) = token {
                    self.header = HeaderValue::from_str(&format!("Bearer {t}")).ok();
                }
                Ok(())
            }
            "basic" => match creds {
                Some(c) => {
                    use base64::Engine as _;
                    let b64 = base64::engine::general_purpose::STANDARD
                        .encode(format!("{}:{}", c.username, c.password));
                    self.header = HeaderValue::from_str(&format!("Basic {b64}")).ok();
                    self.oci
                        .store_auth_if_needed(self.oci_ref.resolve_registry(), &auth)
                        .await;
                    Ok(())
                }
                None => Err(self.unauthorized()),
            },
            _ => Err(RegistryError::Protocol {
                registry: self.registry().to_string(),
                url,
                reason: format!("401 with unsupported WWW-Authenticate challenge {challenge:?}"),
            }),
        }
    }

    /// GETs a manifest (any of the four accepted types), bounded to [`MAX_MANIFEST_SIZE`], and checks
    /// its digest against `expected` or else against the `Docker-Content-Digest` header.
    pub async fn fetch_manifest(
        &self,
        reference: &str,
        expected: Option<&Digest>,
    ) -> Result<FetchedManifest, RegistryError> {
        let url = format!(
            "{}/v2/{}/manifests/{}",
            self.base,
            self.repository(),
            reference
        );
        let subject = Subject::Manifest(reference.to_string());
        let too_large = || RegistryError::ManifestTooLarge {
            registry: self.registry().to_string(),
            repository: self.repository().to_string(),
            reference: reference.to_string(),
            limit: MAX_MANIFEST_SIZE,
        };
        let (bytes, content_type, header_digest) = self
            .retry
            .clone()
            .run("fetch manifest", |_| async {
                let mut req = self
                    .http
                    .get(&url)
                    .header(ACCEPT, ACCEPTED_MANIFEST_TYPES.join(", "));
                if let Some(h) = &self.header {
                    req = req.header(AUTHORIZATION, h.clone());
                }
                let mut res = req
                    .send()
                    .await
                    .map_err(|e| self.transport_error(&url, &e))?;
                let status = res.status().as_u16();
                if !(200..300).contains(&status) {
                    let body = res.text().await.unwrap_or_default();
                    return Err(self.status_error(status, &url, body, &subject));
                }
                let declared = res
                    .headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                if declared.is_some_and(|n| n > MAX_MANIFEST_SIZE) {
                    return Err(too_large());
                }
                let header = |name: &str| {
                    res.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let content_type = header(CONTENT_TYPE.as_str());
                let header_digest = header("docker-content-digest");
                let mut body = Vec::new();
                while let Some(chunk) = res
                    .chunk()
                    .await
                    .map_err(|e| self.transport_error(&url, &e))?
                {
                    if body.len() as u64 + chunk.len() as u64 > MAX_MANIFEST_SIZE {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok((body, content_type, header_digest))
            })
            .await?;
        let check = match (expected, header_digest.as_deref().map(Digest::parse)) {
            (Some(d), _) => Some(d.clone()),
            (None, Some(Ok(d))) => Some(d),
            (None, Some(Err(e))) => {
                return Err(RegistryError::Protocol {
                    registry: self.registry().to_string(),
                    url,
                    reason: format!("invalid Docker-Content-Digest header: {e}"),
                })
            }
            (None, None) => None,
        };
        let digest = match check {
            Some(want) => {
                let actual = Digest::compute(want.algorithm(), &bytes);
                if actual != want {
                    return Err(RegistryError::DigestMismatch {
                        registry: self.registry().to_string(),
                        repository: self.repository().to_string(),
                        expected: want,
                        actual,
                    });
                }
                want
            }
            None => Digest::sha256_of(&bytes),
        };
        Ok(FetchedManifest {
            bytes,
            digest,
            content_type,
        })
    }

    /// The error for a 401 after authentication.
    pub fn unauthorized(&self) -> RegistryError {
        RegistryError::Unauthorized {
            registry: self.registry().to_string(),
            repository: self.repository().to_string(),
            had_credentials: self.had_credentials,
        }
    }

    /// Maps a non-success HTTP status to an error.
    pub fn status_error(
        &self,
        status: u16,
        url: &str,
        message: String,
        subject: &Subject,
    ) -> RegistryError {
        let registry = self.registry().to_string();
        let repository = self.repository().to_string();
        match (status, subject) {
            (401, _) => self.unauthorized(),
            (403, _) => RegistryError::Denied {
                registry,
                repository,
                url: url.to_string(),
            },
            (404, Subject::Manifest(r)) => RegistryError::ManifestNotFound {
                registry,
                repository,
                reference: r.clone(),
            },
            (404, Subject::Blob(d)) => RegistryError::BlobNotFound {
                registry,
                repository,
                digest: d.clone(),
            },
            _ => RegistryError::Http {
                registry,
                repository,
                url: url.to_string(),
                status,
                message: message.chars().take(512).collect(),
            },
        }
    }

    /// Maps a reqwest error (connection, TLS, body) to an error.
    pub fn transport_error(&self, url: &str, e: &reqwest::Error) -> RegistryError {
        if let Some(s) = e.status() {
            return self.status_error(s.as_u16(), url, e.to_string(), &Subject::Other);
        }
        let mut message = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            message.push_str(": ");
            message.push_str(&s.to_string());
            src = s.source();
        }
        let phase = phase_of(e, &message);
        RegistryError::Network {
            phase,
            registry: self.registry().to_string(),
            url: url.to_string(),
            message,
        }
    }

    /// Maps an error of a response body stream (oci-client wraps reqwest's in `io::Error`).
    pub fn stream_error(&self, url: &str, e: &std::io::Error) -> RegistryError {
        if let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>()) {
            return self.transport_error(url, r);
        }
        RegistryError::Network {
            phase: if e.kind() == std::io::ErrorKind::TimedOut {
                Phase::Idle
            } else {
                Phase::Read
            },
            registry: self.registry().to_string(),
            url: url.to_string(),
            message: e.to_string(),
        }
    }

    /// Maps an oci-client error to an error.
    pub fn map_oci(&self, e: OciDistributionError, url: &str, subject: &Subject) -> RegistryError {
        match e {
            OciDistributionError::RequestError(r) => self.transport_error(url, &r),
            OciDistributionError::ServerError { code, url, message } => {
                self.status_error(code, &url, message, subject)
            }
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => self.unauthorized(),
            OciDistributionError::RegistryError { envelope, url } => {
                let status = envelope
                    .errors
                    .iter()
                    .map(|e| match e.code {
                        OciErrorCode::Unauthorized => 401,
                        OciErrorCode::Denied => 403,
                        OciErrorCode::BlobUnknown
                        | OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::NotFound => 404,
                        OciErrorCode::Toomanyrequests => 429,
                        _ => 400,
                    })
                    .next()
                    .unwrap_or(400);
                self.status_error(status, &url, envelope.to_string(), subject)
            }
            OciDistributionError::IoError(io) => self.stream_error(url, &io),
            other => RegistryError::Protocol {
                registry: self.registry().to_string(),
                url: url.to_string(),
                reason: other.to_string(),
            },
        }
    }

    /// URL of a blob, for messages.
    pub fn blob_url(&self, d: &Digest) -> String {
        format!("{}/v2/{}/blobs/{d}", self.base, self.repository())
    }

    /// The blob digest check shared by pull paths.
    pub fn check_digest(&self, want: &Digest, v: Verifier) -> Result<(), RegistryError> {
        let actual = v.finish();
        if &actual != want {
            return Err(RegistryError::DigestMismatch {
                registry: self.registry().to_string(),
                repository: self.repository().to_string(),
                expected: want.clone(),
                actual,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(r: &str, insecure: &[&str]) -> String {
        let cfg = RegistryConfig {
            timeouts: Default::default(),
            insecure: insecure.iter().map(|s| s.to_string()).collect(),
        };
        Session::new(
            &Reference::parse(r).unwrap(),
            &cfg,
            RetryPolicy::default(),
            false,
        )
        .unwrap()
        .base
    }

    #[test]
    fn scheme_and_host() {
        assert_eq!(base("busybox", &[]), "https://registry-1.docker.io");
        assert_eq!(base("quay.io/a/b", &[]), "https://quay.io");
        assert_eq!(base("127.0.0.1:5000/a", &[]), "http://127.0.0.1:5000");
        assert_eq!(base("[::1]:5000/a", &[]), "http://[::1]:5000");
        assert_eq!(base("reg.lan:5000/a", &[]), "https://reg.lan:5000");
        assert_eq!(
            base("reg.lan:5000/a", &["reg.lan:5000"]),
            "http://reg.lan:5000"
        );
        assert_eq!(base("reg.lan:5000/a", &["reg.lan"]), "http://reg.lan:5000");
    }
}
