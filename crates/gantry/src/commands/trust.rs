//! `gantry trust`: edit the signature policy (add/list/rm scopes) and make signing keys (`generate-key`).
//!
//! The file edited is `--policy FILE` if given, else `/etc/gantry/policy.json`. When that does not exist yet it
//! starts from gantry's built-in default, which refuses every registry image outside the scopes trusted — never
//! from `/etc/containers/policy.json`, whose shipped default accepts anything on podman hosts. Creating gantry's
//! file therefore stops gantry from reading the containers tools' one; the command says so.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gantry_trust::edit;
use gantry_trust::load::GANTRY_POLICY;
use gantry_trust::{Policy, PolicyLocation};
use serde_json::{json, Value};

use crate::Global;

/// `gantry trust COMMAND`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TrustCommand {
    /// Trust a scope (registry, namespace, repository or reference): require signatures by a key or a Fulcio
    /// identity, or accept/reject it outright.
    Add(AddArgs),
    /// List the scopes of the policy in effect.
    List,
    /// Remove a scope (its images then fall under the next less specific scope).
    Rm {
        /// The scope, e.g. `quay.io/ns` or `127.0.0.1:5000/testbed`.
        scope: String,
    },
    /// Write PREFIX.key (cosign's encrypted private key format, ECDSA P-256) and PREFIX.pub (PEM public key).
    GenerateKey {
        /// Output prefix.
        prefix: PathBuf,
        /// File whose first line is the passphrase (default: an empty passphrase).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
}

/// Arguments of `gantry trust add`.
#[derive(Debug, Clone, clap::Args)]
pub struct AddArgs {
    /// Public key file (PEM); repeat to accept any of several keys.
    #[arg(long, conflicts_with_all = ["fulcio", "accept_anything", "reject"])]
    pub key: Vec<PathBuf>,
    /// Fulcio CA certificate(s) (PEM) for keyless signatures; needs --oidc-issuer, --subject-email, --rekor-key.
    #[arg(long, requires_all = ["oidc_issuer", "subject_email", "rekor_key"], conflicts_with_all = ["accept_anything", "reject"])]
    pub fulcio: Option<PathBuf>,
    /// OIDC issuer the Fulcio certificate must name.
    #[arg(long)]
    pub oidc_issuer: Option<String>,
    /// E-mail the Fulcio certificate must name.
    #[arg(long)]
    pub subject_email: Option<String>,
    /// Rekor public key (PEM).
    #[arg(long)]
    pub rekor_key: Option<PathBuf>,
    /// signedIdentity type: matchRepoDigestOrExact (default), matchRepository or matchExact.
    #[arg(long)]
    pub signed_identity: Option<String>,
    /// Accept images of this scope without signatures.
    #[arg(long, conflicts_with = "reject")]
    pub accept_anything: bool,
    /// Refuse every image of this scope.
    #[arg(long)]
    pub reject: bool,
    /// The scope: `host[:port][/namespace[/repo]][:tag]`, `*.domain`, or `""` for the docker transport default.
    pub scope: String,
}

/// Runs `gantry trust …`.
pub fn run(g: &Global, c: &TrustCommand) -> Result<i32> {
    match c {
        TrustCommand::Add(a) => add(g, a),
        TrustCommand::List => list(g),
        TrustCommand::Rm { scope } => rm(g, scope),
        TrustCommand::GenerateKey {
            prefix,
            passphrase_file,
        } => generate_key(prefix, passphrase_file.as_deref()),
    }
}

/// The file to edit and its current document.
fn editable(g: &Global) -> Result<(PathBuf, Value)> {
    let target = g
        .policy
        .clone()
        .unwrap_or_else(|| PathBuf::from(GANTRY_POLICY));
    if target.exists() {
        let bytes = std::fs::read(&target).with_context(|| format!("read {}", target.display()))?;
        let doc = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not valid JSON; fix or remove it", target.display()))?;
        return Ok((target, doc));
    }
    // rkt's stance: gantry's own policy starts from refusing untrusted scopes. Copying the containers tools'
    // policy would carry over its default, which accepts anything on podman hosts.
    let ignored = match PolicyLocation::system(None) {
        PolicyLocation::Containers(p) if g.policy.is_none() => format!(
            "; {} stops applying to gantry and nothing is copied from it (re-add the scopes you trust)",
            p.display()
        ),
        _ => String::new(),
    };
    eprintln!(
        "gantry: creating {} from gantry's default (refuse images of scopes not trusted){ignored}",
        target.display()
    );
    let doc = Policy::default_document();
    Ok((target, doc))
}

fn add(g: &Global, a: &AddArgs) -> Result<i32> {
    let mut req = if a.accept_anything {
        json!({"type": "insecureAcceptAnything"})
    } else if a.reject {
        json!({"type": "reject"})
    } else if let Some(ca) = &a.fulcio {
        json!({
            "type": "sigstoreSigned",
            "fulcio": {
                "caPath": absolute(ca)?,
                "oidcIssuer": a.oidc_issuer.clone().unwrap_or_default(),
                "subjectEmail": a.subject_email.clone().unwrap_or_default(),
            },
            "rekorPublicKeyPath": absolute(a.rekor_key.as_deref().unwrap_or(Path::new("")))?,
        })
    } else if !a.key.is_empty() {
        let mut paths = Vec::new();
        for k in &a.key {
            let p = absolute(k)?;
            let pem = std::fs::read(&p).with_context(|| format!("read key {p}"))?;
            gantry_trust::keys::parse_pem_keys(&pem, &p)?;
            paths.push(p);
        }
        if paths.len() == 1 {
            json!({"type": "sigstoreSigned", "keyPath": paths[0]})
        } else {
            json!({"type": "sigstoreSigned", "keyPaths": paths})
        }
    } else {
        bail!("gantry trust add: say what to trust: --key FILE, --fulcio CA_FILE …, --accept-anything or --reject");
    };
    if let Some(id) = &a.signed_identity {
        if !["matchRepoDigestOrExact", "matchRepository", "matchExact"].contains(&id.as_str()) {
            bail!("--signed-identity {id:?}: expected matchRepoDigestOrExact, matchRepository or matchExact");
        }
        req["signedIdentity"] = json!({"type": id});
    }
    let (path, mut doc) = editable(g)?;
    edit::set_scope(&mut doc, &a.scope, vec![req])?;
    edit::write_atomic(&path, &doc)?;
    eprintln!("gantry: {}: scope {:?} updated", path.display(), a.scope);
    Ok(0)
}

fn list(g: &Global) -> Result<i32> {
    let loc = PolicyLocation::system(g.policy.as_deref());
    let policy = loc.load()?;
    println!("# policy: {}", policy.origin);
    let rows: Vec<[String; 2]> = edit::list(&policy)
        .into_iter()
        .map(|(s, r)| [s, r])
        .collect();
    crate::table::print(["SCOPE", "REQUIREMENTS"], &rows);
    Ok(0)
}

fn rm(g: &Global, scope: &str) -> Result<i32> {
    let (path, mut doc) = editable(g)?;
    if !edit::remove_scope(&mut doc, scope)? {
        bail!(
            "{}: no docker scope {scope:?} (see `gantry trust list`)",
            path.display()
        );
    }
    edit::write_atomic(&path, &doc)?;
    eprintln!("gantry: {}: scope {scope:?} removed", path.display());
    Ok(0)
}

fn generate_key(prefix: &Path, passphrase_file: Option<&Path>) -> Result<i32> {
    let pass = read_passphrase(passphrase_file)?;
    let key_path = with_suffix(prefix, "key");
    let pub_path = with_suffix(prefix, "pub");
    for p in [&key_path, &pub_path] {
        if p.exists() {
            bail!(
                "{} exists; refusing to overwrite a key (remove it or pick another prefix)",
                p.display()
            );
        }
    }
    let k = gantry_trust::cosign_key::generate(&pass)?;
    write_new(&key_path, k.private_pem.as_bytes(), 0o600)?;
    write_new(&pub_path, k.public_pem.as_bytes(), 0o644)?;
    eprintln!(
        "gantry: wrote {} (private, encrypted) and {} (public)",
        key_path.display(),
        pub_path.display()
    );
    Ok(0)
}

/// The first line of `file` (without its newline), or an empty passphrase.
pub fn read_passphrase(file: Option<&Path>) -> Result<Vec<u8>> {
    let Some(f) = file else { return Ok(vec![]) };
    let bytes =
        std::fs::read(f).with_context(|| format!("read passphrase file {}", f.display()))?;
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    Ok(line.strip_suffix(b"\r").unwrap_or(line).to_vec())
}

fn with_suffix(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("write {}", path.display()))
}

fn absolute(p: &Path) -> Result<String> {
    let abs = std::fs::canonicalize(p).with_context(|| format!("{}: no such file", p.display()))?;
    Ok(abs.display().to_string())
}
