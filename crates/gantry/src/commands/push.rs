//! `gantry push`: upload an image from the store to a registry.

use anyhow::{Context, Result};
use gantry_registry::{ProgressMode, PushOptions, RegistryConfig};

use crate::lookup::{find_image, normalize, open_store};
use crate::store_sink::StoreSink;
use crate::Global;

/// Arguments of `gantry push`.
#[derive(Debug, Clone, clap::Args)]
pub struct PushArgs {
    /// The image to push (name, short name or digest prefix).
    pub image: String,
    /// Destination reference (default: the image's name).
    pub destination: Option<String>,
    /// Sign the pushed manifest with this cosign/gantry encrypted private key (ECDSA P-256/P-384 or Ed25519),
    /// storing the signature as skopeo does (an OCI image under the `sha256-<digest>.sig` tag).
    #[arg(long, value_name = "FILE")]
    pub sign_by_sigstore_private_key: Option<std::path::PathBuf>,
    /// File whose first line is the signing key's passphrase (default: empty).
    #[arg(long, requires = "sign_by_sigstore_private_key")]
    pub passphrase_file: Option<std::path::PathBuf>,
    /// Network deadlines (as for `gantry pull`; the total bounds the image and its signature each).
    #[command(flatten)]
    pub deadlines: super::pull::DeadlineArgs,
}

/// Runs `gantry push`: pushes the image's platform manifest (the one the store holds every
/// blob of), its config and layers; prints the pushed manifest digest.
pub fn run(g: &Global, a: &PushArgs) -> Result<i32> {
    let store = open_store(g)?;
    let img = find_image(&store, &a.image)?;
    let dest = normalize(a.destination.as_deref().unwrap_or(&img.name))?;
    let manifest = store
        .read_document(&img.manifest, "manifest")
        .with_context(|| format!("read the manifest of {}", img.name))?;
    // Decrypt the key first: a wrong passphrase must fail before anything is uploaded.
    let signer = match &a.sign_by_sigstore_private_key {
        Some(k) => {
            let pass = super::trust::read_passphrase(a.passphrase_file.as_deref())?;
            let pem =
                std::fs::read(k).with_context(|| format!("read signing key {}", k.display()))?;
            Some(gantry_trust::cosign_key::decrypt_signer(
                &pem,
                &pass,
                &k.display().to_string(),
            )?)
        }
        None => None,
    };
    let mut opts = PushOptions::new(dest.clone());
    opts.config = RegistryConfig::load_default()?;
    opts.config.timeouts = a.deadlines.apply(opts.config.timeouts);
    opts.progress = if g.quiet {
        ProgressMode::Quiet
    } else {
        ProgressMode::Auto
    };
    let pushed = gantry_registry::push(&opts, &manifest, &StoreSink::new(&store))
        .with_context(|| format!("push {} to {dest}", img.name))?;
    if !g.quiet {
        eprintln!(
            "{dest}: {} blobs uploaded, {} already there, {} mounted",
            pushed.uploaded.len(),
            pushed.existing.len(),
            pushed.mounted.len()
        );
    }
    if let Some(key) = signer {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let payload =
            gantry_trust::payload::build(&dest.to_string(), &pushed.digest.to_string(), now);
        let sig = key.sign(&payload);
        use base64::Engine as _;
        let annotations = [(
            gantry_trust::payload::SIGNATURE_ANNOTATION.to_string(),
            base64::engine::general_purpose::STANDARD.encode(sig),
        )]
        .into();
        gantry_registry::push_signature(&opts, &pushed.digest, &payload, annotations)
            .with_context(|| format!("push the signature of {dest}"))?;
        if !g.quiet {
            eprintln!(
                "{dest}: signed ({} in {})",
                gantry_registry::signature_tag(&pushed.digest),
                dest.name()
            );
        }
    }
    println!("{}", pushed.digest);
    Ok(0)
}
