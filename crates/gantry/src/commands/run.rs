//! `gantry run [FLAGS] IMAGE [CMD...]`: one container from an image, supervised in the foreground by this
//! process (no daemon). The rootfs is an overlay mounted in a mount namespace private to this process, the
//! container is driven in-process by `gantry-container` (no exec of a runtime binary), and its exit status
//! (128+N when killed by signal N) becomes gantry's. Signals sent to gantry are forwarded to the container.
//! Exit 125 means gantry itself failed, 126 the command could not be executed, 127 it was not found.

use anyhow::Context;
use gantry_image::bundle::{run_config, RunOverrides};
use gantry_image::Store;

use super::container::confine::{ConfineFlags, Confinement};
use super::container::record::{self, Record, Records};
use super::container::spec::{self, Net, Volume};
use super::container::stdio::{exec_error, ExecFailed, Stdio};
use super::container::{self as ctr, network, rootfs, terminal};
use super::pod::plan::{ExitPolicy, SdNotify};
use crate::Global;

/// Arguments of `gantry run`.
#[derive(Debug, Clone, clap::Args)]
#[command(trailing_var_arg = true)]
pub struct RunArgs {
    /// Remove the container (record, rootfs, runtime state) when it exits, also when it fails.
    #[arg(long)]
    pub rm: bool,
    /// Container name (default: the first 12 digits of its ID).
    #[arg(long)]
    pub name: Option<String>,
    /// Network: `none` (a new namespace with only loopback, up), `host`, or CNI networks (`default` or
    /// `NAME[,NAME...]`, for pods).
    #[arg(long = "net", visible_alias = "network", default_value = "none")]
    pub net: String,
    /// Publish a port of the pod: `[IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]` (needs a CNI network).
    #[arg(short = 'p', long = "publish", value_name = "[IP:]HOST:CTR[/PROTO]")]
    pub publish: Vec<String>,
    /// A DNS server for the pod's /etc/resolv.conf (default: the host's).
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<String>,
    /// An extra /etc/hosts line for the pod: `HOST:IP`.
    #[arg(long = "add-host", value_name = "HOST:IP")]
    pub add_host: Vec<String>,
    /// Seconds a stopping pod's apps get after SIGTERM before SIGKILL (when gantry gets SIGTERM, INT, HUP or
    /// QUIT, `gantry stop` without `-t`, `--exit-policy first`); default 10, as podman.
    #[arg(long = "stop-timeout", value_name = "SECS")]
    pub stop_timeout: Option<u64>,
    /// Restart policy of the pod's apps: `no`, `on-failure[:N]` or `always`.
    #[arg(long, default_value = "no", value_name = "POLICY")]
    pub restart: String,
    /// When the pod ends: when `all` apps have exited, or when the `first` does.
    #[arg(long = "exit-policy", value_enum, default_value = "all")]
    pub exit_policy: ExitPolicy,
    /// `pod`: the apps share one PID namespace (the first app's).
    #[arg(long = "pid", value_name = "pod")]
    pub pid: Option<String>,
    /// systemd's NOTIFY_SOCKET: `container` (the first app says READY=1), `conmon` (gantry says it once the
    /// apps run) or `ignore`.
    #[arg(long = "sdnotify", value_enum, default_value = "container")]
    pub sdnotify: SdNotify,
    /// Keep stdin open (otherwise the container reads /dev/null).
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a terminal (a pty proxied to gantry's own terminal in raw mode).
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Start the pod (also of one image) under a detached supervisor and exit, printing its ID; the apps'
    /// output goes to logs (`gantry logs`), their exit codes to the pod's record (`gantry status`).
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Hostname inside the container (default: the first 12 digits of the ID).
    #[arg(long)]
    pub hostname: Option<String>,
    /// Pull the image: `missing` (when the store lacks it), `never`, or `always`.
    #[arg(long, value_enum, default_value = "missing")]
    pub pull: ctr::PullPolicy,
    /// When pulling, do not check the image's signature against the policy (prints what is skipped).
    #[arg(long)]
    pub insecure_skip_verify: bool,
    /// Flags of the first app.
    #[command(flatten)]
    pub app: AppFlags,
    /// Image name (`hello` is built in).
    pub image: String,
    /// Command and arguments (default: the image's Entrypoint + Cmd).
    #[arg(allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// The flags of one app (before the first image, or after any image of a pod).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AppFlags {
    /// Set an environment variable (`KEY=VALUE`, or `KEY` to copy it from gantry's environment).
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// User (`name`, `uid`, `name:group`, `uid:gid`), resolved in the image's /etc/passwd and /etc/group.
    #[arg(short = 'u', long = "user", value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// Bind-mount a host path: `HOST:CONTAINER[:ro|rw]`. (Volumes the image declares get no volume of their
    /// own: writes there stay in the container's layer, like podman's `--image-volume ignore`.)
    #[arg(short = 'v', long = "volume", value_name = "HOST:CTR[:ro]")]
    pub volume: Vec<String>,
    /// Replace the image's Entrypoint (and drop its Cmd unless a command is given).
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Name of this app in its pod (default: the image's last path component, made unique).
    #[arg(long = "app-name", value_name = "NAME")]
    pub app_name: Option<String>,
    /// Security and resource settings.
    #[command(flatten)]
    pub confine: ConfineFlags,
}

/// Runs `gantry run`.
pub fn run(g: &Global, a: &RunArgs, extra_apps: &[Vec<String>]) -> anyhow::Result<i32> {
    if super::pod::launch::is_pod(a, extra_apps) {
        return super::pod::launch::run(g, a, extra_apps);
    }
    let confinement = Confinement::from_flags(&a.app.confine)?;
    if let Some(n) = &a.name {
        record::validate_name(n)?;
    }
    let volumes = a
        .app
        .volume
        .iter()
        .map(|v| Volume::parse(v))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = Store::open(&g.root)
        .with_context(|| format!("opening the image store at {}", g.root.display()))?;
    let trust = crate::signature_check::TrustOptions {
        policy: g.policy.clone(),
        skip_verify: a.insecure_skip_verify,
    };
    let image = ctr::resolve_image(&store, &a.image, a.pull, g.quiet, &trust)?;
    let records = Records::open(&g.root)?;
    let id = record::new_id()?;
    let name = a.name.clone().unwrap_or_else(|| id[..12].to_owned());
    let rec = {
        let _lock = records.lock()?;
        if let Some(other) = records.list()?.into_iter().find(|r| r.name == name) {
            anyhow::bail!(
                "the name {name:?} is in use by container {}; remove it (gantry rm {name}) or choose another --name",
                &other.id[..12]
            );
        }
        let rec = Record {
            id: id.clone(),
            name: name.clone(),
            image: image.clone(),
            command: Vec::new(),
            created: gantry_container::time::rfc3339(std::time::SystemTime::now()),
            status: "created".into(),
            exit_code: None,
            finished: None,
            auto_remove: a.rm,
        };
        records.write(&rec)?;
        rec
    };
    let outcome = prepare_and_run(g, a, &store, &records, rec, &volumes, &confinement);
    match outcome {
        Ok((code, rootfs_path, rec)) => {
            if a.rm {
                rootfs::remove(&store, &id, &rootfs_path)?;
                records.remove(&id)?;
            } else {
                let _ = rustix::mount::unmount(&rootfs_path, rustix::mount::UnmountFlags::DETACH);
                // `gantry rm -f` may have removed it meanwhile: do not bring the record back. The lock
                // orders this check and write against rm's removal, which takes the same lock.
                let _lock = records.lock()?;
                if records.find(&id).is_err() {
                    return Ok(code);
                }
                records.write(&Record {
                    status: "exited".into(),
                    exit_code: Some(code),
                    finished: Some(gantry_container::time::rfc3339(std::time::SystemTime::now())),
                    ..rec
                })?;
            }
            Ok(code)
        }
        Err(e) => {
            // Never started (or the runtime failed): nothing of it may stay behind.
            let _ = gantry_container::verbs::delete::delete(
                &ctr::runtime_root(&g.state_root),
                &id,
                true,
            );
            if let Ok(r) = store.container_rootfs(&id) {
                let _ = rootfs::remove(&store, &id, &r.rootfs);
            }
            let _ = records.remove(&id);
            if let Some(x) = e.downcast_ref::<ExecFailed>() {
                eprintln!("gantry: {x}");
                return Ok(x.code);
            }
            Err(e)
        }
    }
}

/// Rootfs, spec, and the container itself; returns (exit code, rootfs path, updated record).
fn prepare_and_run(
    g: &Global,
    a: &RunArgs,
    store: &Store,
    records: &Records,
    mut rec: Record,
    volumes: &[Volume],
    confinement: &Confinement,
) -> anyhow::Result<(i32, std::path::PathBuf, Record)> {
    // Other networks go through the pod path (see `pod::launch::is_pod`).
    let net = if a.net == "host" {
        Net::Host
    } else {
        Net::None
    };
    rootfs::private_mount_namespace()?;
    if net == Net::None {
        network::private_network_namespace()?;
    }
    let (rfs, _kind) = rootfs::create(store, &rec.id, &rec.image)?;
    let cfg = store.image_config(&rec.image)?;
    let overrides = RunOverrides {
        // `--entrypoint ""` clears the image's entrypoint, as with docker.
        entrypoint: a.app.entrypoint.as_ref().map(|e| {
            if e.is_empty() {
                Vec::new()
            } else {
                vec![e.clone()]
            }
        }),
        cmd: (!a.command.is_empty()).then(|| a.command.clone()),
        env: a.app.env.iter().filter_map(|e| host_env(e)).collect(),
        workdir: a.app.workdir.clone(),
        user: a.app.user.clone(),
        volumes: Vec::new(),
    };
    let rc = run_config(&cfg, &overrides, &rfs.rootfs)?;
    let hostname = a
        .hostname
        .clone()
        .unwrap_or_else(|| rec.id[..12].to_owned());
    let spec = spec::build(
        &rc.process,
        &spec::Settings {
            id: &rec.id,
            hostname: &hostname,
            rootfs: &rfs.rootfs,
            volumes,
            terminal: a.tty,
            console_size: terminal::own_size().map(|w| (w.ws_row, w.ws_col)),
            confinement,
        },
    )?;
    let bundle = ctr::bundle_dir(&rfs.rootfs);
    let config = bundle.join("config.json");
    std::fs::write(&config, serde_json::to_vec(&spec)?)
        .with_context(|| format!("writing {}", config.display()))?;
    rec.command = rc.process.args().clone().unwrap_or_default();
    rec.status = "running".into();
    records.write(&rec)?;
    let mut opts = gantry_container::verbs::create::CreateOptions {
        // gantry is the container's supervisor: if it is killed (systemd's final SIGKILL), the container goes too.
        kill_with_parent: true,
        id: rec.id.clone(),
        bundle: bundle.clone(),
        ..Default::default()
    };
    let runtime = ctr::runtime_root(&g.state_root);
    let code = if a.tty {
        let console = terminal::ConsoleSocket::bind(&rec.id)?;
        opts.console_socket = Some(console.path());
        terminal::run(&runtime, &opts, &console, a.interactive).map_err(|e| {
            match e.downcast::<gantry_container::Error>() {
                Ok(ce) => exec_error(ce),
                Err(e) => e,
            }
        })?
    } else {
        let stdio = Stdio::set_up(a.interactive)?;
        let result = gantry_container::verbs::run::run(&runtime, &opts, false);
        stdio.restore()?;
        result.map_err(exec_error)?
    };
    Ok((code, rfs.rootfs, rec))
}

/// `-e KEY` takes KEY's value from gantry's own environment (and is dropped when unset), as docker does.
fn host_env(e: &str) -> Option<String> {
    if e.contains('=') {
        return Some(e.to_owned());
    }
    std::env::var(e).ok().map(|v| format!("{e}={v}"))
}
