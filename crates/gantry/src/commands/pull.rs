//! `gantry pull`: fetch an image from a registry into the store, register it under its
//! normalised name and (by default) unpack its layers into shared snapshots.

use std::sync::OnceLock;
use std::time::Instant;

use anyhow::{Context, Result};
use gantry_image::{Store, UnpackOptions};
use gantry_registry::{Platform, ProgressMode, PullOptions, RegistryConfig, Timeouts};

use crate::lookup::{normalize, open_store};
use crate::signature_check::{Decision, TrustOptions};
use crate::store_sink::StoreSink;
use crate::Global;

/// Arguments of `gantry pull`.
#[derive(Debug, Clone, clap::Args)]
pub struct PullArgs {
    /// Image reference (`busybox`, `registry:5000/repo:tag`, `repo@sha256:...`).
    pub reference: String,
    /// Platform to choose from a multi-platform image: `os/arch[/variant]` (default: this host's).
    #[arg(long)]
    pub platform: Option<String>,
    /// Only fetch; unpack the layers later (on first run).
    #[arg(long)]
    pub no_unpack: bool,
    /// Blobs downloaded in parallel.
    #[arg(long, default_value_t = gantry_registry::pull::DEFAULT_CONCURRENCY)]
    pub jobs: usize,
    /// Do not check the image's signature against the policy (prints what is skipped).
    #[arg(long)]
    pub insecure_skip_verify: bool,
    /// Network deadlines.
    #[command(flatten)]
    pub deadlines: DeadlineArgs,
}

/// The network deadline flags `gantry pull` and `gantry push` share (each overrides its `[timeouts]` entry in
/// /etc/gantry/registries.toml).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct DeadlineArgs {
    /// Seconds allowed to open a connection (default: `connect` under [timeouts] in
    /// /etc/gantry/registries.toml, else 15; 0 = none).
    #[arg(long, value_name = "SECS")]
    pub connect_timeout: Option<u64>,
    /// Seconds a registry may stay silent mid-response before the transfer fails as stalled
    /// (default: `idle` under [timeouts], else 30; 0 = none).
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Seconds the whole pull or push may take, retries included (default: `total` under [timeouts],
    /// else 3600; 0 = none).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

impl DeadlineArgs {
    /// `t` with the flags given applied.
    pub fn apply(&self, mut t: Timeouts) -> Timeouts {
        t.connect = self.connect_timeout.unwrap_or(t.connect);
        t.idle = self.idle_timeout.unwrap_or(t.idle);
        t.total = self.timeout.unwrap_or(t.total);
        t
    }
}

/// The deadline flags of this `gantry pull` (connect, idle, total), set once by [`run`]; other
/// commands that pull use the configured deadlines.
static DEADLINE_FLAGS: OnceLock<DeadlineArgs> = OnceLock::new();

/// The configured deadlines with this invocation's flags applied.
fn with_deadline_flags(t: Timeouts) -> Timeouts {
    DEADLINE_FLAGS.get().map_or(t, |d| d.apply(t))
}

/// What [`pull_image`] did.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The store name the image was recorded under.
    pub name: String,
    /// Digest of what the reference resolved to (an index or a manifest).
    pub digest: String,
    /// Blobs downloaded.
    pub fetched: usize,
    /// Blobs the store already had.
    pub skipped: usize,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Time to fetch and record the image.
    pub download: std::time::Duration,
    /// Time including the unpack, if done.
    pub unpacked: Option<std::time::Duration>,
}

/// Runs `gantry pull`.
pub fn run(g: &Global, a: &PullArgs) -> Result<i32> {
    let store = open_store(g)?;
    let _ = DEADLINE_FLAGS.set(a.deadlines);
    let pulled = pull_image(
        &store,
        &a.reference,
        a.platform.as_deref(),
        !a.no_unpack,
        a.jobs,
        g.quiet,
        &TrustOptions {
            policy: g.policy.clone(),
            skip_verify: a.insecure_skip_verify,
        },
    )?;
    if !g.quiet {
        eprintln!(
            "{}: {} blobs fetched ({} bytes), {} already present; {:.2?} download{}",
            pulled.name,
            pulled.fetched,
            pulled.bytes,
            pulled.skipped,
            pulled.download,
            pulled
                .unpacked
                .map(|t| format!(", {t:.2?} total with unpack"))
                .unwrap_or_default()
        );
    }
    println!("{}", pulled.digest);
    Ok(0)
}

/// Pulls `reference` into `store`, records it under its normalised name and, with `unpack`,
/// prepares its layer snapshots. The signature policy is applied first (see [`crate::signature_check`]): a
/// refused image fetches no layer and records nothing. Safe to call before cloning a container in this process: it
/// returns only once no other thread is alive.
pub fn pull_image(
    store: &Store,
    reference: &str,
    platform: Option<&str>,
    unpack: bool,
    jobs: usize,
    quiet: bool,
    trust: &TrustOptions,
) -> Result<Pulled> {
    let reference = normalize(reference)?;
    let decision = crate::signature_check::decide(&reference, trust)?;
    let platform = platform
        .map(Platform::parse)
        .transpose()
        .context("--platform must be os/arch[/variant], e.g. linux/arm64")?;
    let mut opts = PullOptions::new(reference.clone());
    opts.platform = platform.clone();
    opts.config = RegistryConfig::load_default()?;
    opts.config.timeouts = with_deadline_flags(opts.config.timeouts);
    opts.progress = if quiet {
        ProgressMode::Quiet
    } else {
        ProgressMode::Auto
    };
    opts.concurrency = jobs.max(1);
    let started = Instant::now();
    let sink = StoreSink::new(store);
    let pulled = match &decision {
        Decision::Unchecked => {
            gantry_registry::pull(&opts, &sink).with_context(|| format!("pull {reference}"))?
        }
        Decision::Verify(policy) => {
            let check = crate::signature_check::verifier(policy, &reference, quiet);
            gantry_registry::pull_verified(&opts, &sink, &check)
                .with_context(|| format!("pull {reference}"))?
                .map_err(anyhow::Error::from_boxed)?
        }
    };
    wait_single_threaded()?;
    let name = reference.to_string();

    // The pull wrote the manifest blob verified; record it in the store.
    store
        .put_manifest(
            &pulled.manifest_bytes,
            &pulled.manifest.digest,
            Some(&pulled.manifest.media_type),
        )
        .with_context(|| format!("store the manifest of {name}"))?;
    // Register with exactly the platform the registry client chose from the index.
    let chosen = pulled
        .platform
        .as_ref()
        .or(platform.as_ref())
        .cloned()
        .unwrap_or_else(Platform::host);
    // What an interrupted earlier pull left (unowned partial blobs and unpacks) goes now;
    // this pull's own blobs are all committed at this point.
    store
        .sweep_temporary()
        .context("remove partial downloads and unpacks of interrupted pulls")?;
    let fetched_at = started.elapsed();
    if unpack {
        // The name is recorded only once every layer is unpacked: a refused layer leaves the
        // image unlisted rather than listed and unrunnable.
        store
            .register_image_unpacked(&name, &pulled.digest, &chosen, &UnpackOptions::default())
            .with_context(|| {
                format!("unpack the layers of {name} (the image was not recorded; its blobs stay for the next pull, `gantry gc` removes them)")
            })?;
    } else {
        store
            .register_image(&name, &pulled.digest, &chosen)
            .with_context(|| format!("record image {name}"))?;
    }
    Ok(Pulled {
        name,
        digest: pulled.digest.to_string(),
        fetched: pulled.fetched.len(),
        skipped: pulled.skipped.len(),
        bytes: pulled.bytes_downloaded,
        download: fetched_at,
        unpacked: unpack.then(|| started.elapsed()),
    })
}

/// Threads of this process, from `/proc/self/task`.
pub fn thread_count() -> Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")
        .context("read /proc/self/task")?
        .count())
}

/// Checks that the registry client left no thread behind (it waits for its own threads to exit before returning):
/// `gantry run` clones containers in-process, which is only safe single-threaded.
fn wait_single_threaded() -> Result<()> {
    let n = thread_count()?;
    if n != 1 {
        anyhow::bail!(
            "internal error: {n} threads still alive after the pull; refusing to go on (report this bug)"
        );
    }
    Ok(())
}
