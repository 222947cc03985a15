//! `gantry run` of a pod: checks every flag and resolves every image before anything is created, claims the
//! pod's name, writes its record, then supervises it in this process — or, with `-d`, starts a detached
//! `gantry supervise` and returns once its apps run.

use std::io::Read;
use std::process::{Command, Stdio};

use anyhow::Context;
use gantry_image::Store;

use super::super::container::confine::Confinement;
use super::super::container::record::{self, Records};
use super::super::container::{self as ctr, stdio::ExecFailed};
use super::super::run::{AppFlags, RunArgs};
use super::argv;
use super::plan::{self, AppPlan, PodNet, PodPlan, PortMapping, RestartPolicy};
use super::record::{AppStatus, Phase, PodRecord, Pods};
use super::supervisor;
use crate::Global;

/// Whether this `gantry run` needs the pod path: anything but one image in the foreground with `--net
/// none|host` and no pod flag (that path, `gantry run`'s fastest, stays a plain container).
pub fn is_pod(a: &RunArgs, extra: &[Vec<String>]) -> bool {
    !extra.is_empty()
        || a.restart != "no"
        || a.stop_timeout.is_some()
        || a.exit_policy != plan::ExitPolicy::All
        || a.pid.is_some()
        || !a.publish.is_empty()
        || !a.dns.is_empty()
        || !a.add_host.is_empty()
        || !matches!(a.net.as_str(), "none" | "host")
        // A detached run needs a supervisor (exit code, logs, stop, exec): a one-app pod.
        || a.detach
        || (a.sdnotify != plan::SdNotify::Ignore && std::env::var_os("NOTIFY_SOCKET").is_some())
}

/// Runs `gantry run` for a pod; returns its exit code (or 0 once a detached pod runs).
pub fn run(g: &Global, a: &RunArgs, extra: &[Vec<String>]) -> anyhow::Result<i32> {
    if let Some(n) = &a.name {
        record::validate_name(n)?;
    }
    let net = PodNet::parse(&a.net)?;
    let ports = a
        .publish
        .iter()
        .map(|p| PortMapping::parse(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    check_network(&net, &ports)?;
    let restart = RestartPolicy::parse(&a.restart)?;
    let share_pid = match a.pid.as_deref() {
        None => false,
        Some("pod") => true,
        Some(o) => {
            anyhow::bail!("--pid {o:?}: only `pod` is supported (the apps share one PID namespace)")
        }
    };
    for d in &a.dns {
        d.parse::<std::net::IpAddr>()
            .map_err(|_| anyhow::anyhow!("--dns {d:?}: not an IP address"))?;
    }
    let add_hosts = a
        .add_host
        .iter()
        .map(|h| plan::parse_add_host(h))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Every app's flags, in order; the first app's command may carry app flags in the pod form.
    let mut apps: Vec<(AppFlags, String, Vec<String>)> = Vec::new();
    let (first_flags, first_cmd) =
        if !extra.is_empty() && a.command.first().is_some_and(|c| c.starts_with('-')) {
            let (f, c) = argv::flags_and_command(&a.command);
            let mut v = f;
            v.push(a.image.clone());
            v.push("--".into());
            v.extend(c);
            let parsed = <argv::AppArgs as clap::Parser>::try_parse_from(&v).map_err(|e| {
                anyhow::anyhow!(
                    "app 1 ({}): {}",
                    a.image,
                    e.to_string().lines().next().unwrap_or_default()
                )
            })?;
            (merge(&a.app, parsed.flags), parsed.command)
        } else {
            (a.app.clone(), a.command.clone())
        };
    apps.push((first_flags, a.image.clone(), first_cmd));
    for (i, part) in extra.iter().enumerate() {
        let p = argv::parse_app(i + 2, part)?;
        apps.push((p.flags, p.image, p.command));
    }
    let store = Store::open(&g.root)
        .with_context(|| format!("opening the image store at {}", g.root.display()))?;
    let id = record::new_id()?;
    let trust = crate::signature_check::TrustOptions {
        policy: g.policy.clone(),
        skip_verify: a.insecure_skip_verify,
    };
    let mut plans = Vec::new();
    for (i, (flags, image, cmd)) in apps.iter().enumerate() {
        let resolved = ctr::resolve_image(&store, image, a.pull, g.quiet, &trust)
            .with_context(|| format!("app {} (IMAGE {image:?})", i + 1))?;
        let confinement = Confinement::from_flags(&flags.confine)
            .with_context(|| format!("app {} ({image})", i + 1))?;
        let name = match &flags.app_name {
            Some(n) => {
                record::validate_name(n).with_context(|| format!("--app-name of app {}", i + 1))?;
                anyhow::ensure!(
                    !plans.iter().any(|p: &AppPlan| &p.name == n),
                    "--app-name {n:?}: two apps of the pod have this name"
                );
                n.clone()
            }
            None => unique_app_name(image, &plans),
        };
        plans.push(AppPlan {
            name,
            id: record::new_id()?,
            image: resolved,
            entrypoint: flags.entrypoint.as_ref().map(|e| {
                if e.is_empty() {
                    Vec::new()
                } else {
                    vec![e.clone()]
                }
            }),
            cmd: (!cmd.is_empty()).then(|| cmd.clone()),
            env: flags.env.iter().filter_map(|e| host_env(e)).collect(),
            workdir: flags.workdir.clone(),
            user: flags.user.clone(),
            volumes: flags.volume.clone(),
            confinement,
        });
    }
    for p in &plans {
        super::app::check_confinement(p)?;
        for v in &p.volumes {
            ctr::spec::Volume::parse(v).with_context(|| format!("app {}", p.name))?;
        }
    }
    let name = a.name.clone().unwrap_or_else(|| id[..12].to_owned());
    let hostname = a.hostname.clone().unwrap_or_else(|| name.clone());
    let notify_socket = std::env::var("NOTIFY_SOCKET")
        .ok()
        .filter(|s| !s.is_empty() && a.sdnotify != plan::SdNotify::Ignore);
    let listen_fds = gantry_container::verbs::create::listen_fds();
    let plan = PodPlan {
        id: id.clone(),
        name: name.clone(),
        hostname,
        net,
        ports,
        dns: a.dns.clone(),
        add_hosts,
        restart,
        exit_policy: a.exit_policy,
        stop_timeout: a.stop_timeout.unwrap_or(plan::DEFAULT_STOP_TIMEOUT),
        share_pid,
        auto_remove: a.rm,
        detach: a.detach,
        interactive: a.interactive,
        tty: a.tty,
        sdnotify: a.sdnotify,
        notify_socket,
        listen_fds,
        apps: plans,
    };
    let pods = Pods::open(&g.root)?;
    {
        let _names = pods.names_lock()?;
        let records = Records::open(&g.root)?;
        let _cnames = records.lock()?;
        let taken = pods
            .list()?
            .into_iter()
            .find(|p| p.plan.name == name)
            .map(|p| p.plan.id)
            .or_else(|| {
                records
                    .list()
                    .ok()?
                    .into_iter()
                    .find(|r| r.name == name)
                    .map(|r| r.id)
            });
        if let Some(other) = taken {
            anyhow::bail!(
                "--name {name:?}: the name is in use by {}; remove it (gantry rm {name}) or choose another --name",
                &other[..12]
            );
        }
        pods.create(&PodRecord {
            apps: plan
                .apps
                .iter()
                .map(|p| AppStatus {
                    name: p.name.clone(),
                    phase: Phase::Created,
                    pid: None,
                    exit_code: None,
                    restarts: 0,
                    command: Vec::new(),
                    started: None,
                    finished: None,
                })
                .collect(),
            plan,
            created: gantry_container::time::rfc3339(std::time::SystemTime::now()),
            phase: Phase::Created,
            supervisor_pid: None,
            supervisor_start: None,
            exit_code: None,
            finished: None,
        })?;
    }
    if a.detach {
        return detach(g, &pods, &id);
    }
    match supervisor::supervise(g, &pods, &id, None) {
        Ok(code) => Ok(code),
        Err(e) => {
            let _ = pods.remove(&id);
            if let Some(x) = e.downcast_ref::<ExecFailed>() {
                eprintln!("gantry: {e:#}");
                return Ok(x.code);
            }
            Err(e)
        }
    }
}

/// `-d`: starts `gantry supervise ID` in its own session and waits until it reports the apps running.
fn detach(g: &Global, pods: &Pods, id: &str) -> anyhow::Result<i32> {
    let dir = pods.dir(id);
    let log = std::fs::File::create(dir.join("supervisor.log"))
        .with_context(|| format!("creating {}", dir.join("supervisor.log").display()))?;
    // This very binary: after the seal (see main) its installed path is no longer known here, and the sealed file
    // is the one to run anyway.
    let mut child = Command::new("/proc/self/exe")
        .arg("--root")
        .arg(&g.root)
        .arg("--state-root")
        .arg(&g.state_root)
        .arg("supervise")
        .arg(id)
        // Socket activation: the descriptors (3...) are inherited; the supervisor names itself their
        // LISTEN_PID from the pod's plan (see `supervise`).
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .context("starting the pod's supervisor (gantry supervise)")?;
    let mut out = String::new();
    child
        .stdout
        .take()
        .context("the supervisor's stdout")?
        .read_to_string(&mut out)
        .context("reading the supervisor's answer")?;
    if out.starts_with("ok") {
        println!("{id}");
        // The supervisor keeps running; it is reparented when we exit.
        std::mem::forget(child);
        return Ok(0);
    }
    let st = child.wait().context("waiting for the failed supervisor")?;
    let _ = pods.remove(id);
    let msg = out.trim();
    if let (Some(c @ (126 | 127)), false) = (st.code(), msg.is_empty()) {
        eprintln!("gantry: {msg}");
        return Ok(c);
    }
    anyhow::bail!(
        "{}",
        if msg.is_empty() {
            format!("the pod's supervisor failed to start ({st})")
        } else {
            msg.to_owned()
        }
    )
}

/// The networks a pod may use, with errors naming `--net` or `-p`: unknown CNI networks and host ports already
/// bound are refused here, before anything is created.
fn check_network(net: &PodNet, ports: &[PortMapping]) -> anyhow::Result<()> {
    match net {
        PodNet::None | PodNet::Host => {
            anyhow::ensure!(
                ports.is_empty(),
                "-p {}: publishing needs a CNI network (--net default); with --net host the apps use the host's ports directly",
                ports.first().map(|p| format!("{}:{}", p.host_port, p.container_port)).unwrap_or_default()
            );
            Ok(())
        }
        // gantry-net's errors name the flag (`--net`, `-p`) and the value themselves.
        PodNet::Cni(names) => super::net::check(names, ports),
    }
}

/// Flags given before the first image apply to the first app too; those after it win.
fn merge(before: &AppFlags, after: AppFlags) -> AppFlags {
    let mut m = before.clone();
    m.env.extend(after.env);
    m.volume.extend(after.volume);
    m.workdir = after.workdir.or(m.workdir);
    m.user = after.user.or(m.user);
    m.entrypoint = after.entrypoint.or(m.entrypoint);
    m.app_name = after.app_name.or(m.app_name);
    let c = &mut m.confine;
    c.cap_add.extend(after.confine.cap_add);
    c.cap_drop.extend(after.confine.cap_drop);
    c.privileged |= after.confine.privileged;
    c.read_only |= after.confine.read_only;
    c.memory = after.confine.memory.or(c.memory.take());
    c.cpus = after.confine.cpus.or(c.cpus.take());
    c.pids_limit = after.confine.pids_limit.or(c.pids_limit);
    c.ulimit.extend(after.confine.ulimit);
    c.security_opt.extend(after.confine.security_opt);
    c.init |= after.confine.init;
    m
}

/// The image's last path component without tag or digest (`docker.io/library/busybox:1.36` → `busybox`), made
/// unique in the pod with `-2`, `-3`...
fn unique_app_name(image: &str, taken: &[AppPlan]) -> String {
    let base = image.split('@').next().unwrap_or(image);
    let base = base.rsplit('/').next().unwrap_or(base);
    let base = base.split(':').next().unwrap_or(base);
    let base: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base = if base.is_empty() || !base.as_bytes()[0].is_ascii_alphanumeric() {
        format!("app{base}")
    } else {
        base
    };
    let mut name = base.clone();
    let mut n = 2;
    while taken.iter().any(|p| p.name == name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// `-e KEY` takes KEY's value from gantry's own environment (and is dropped when unset), as docker does.
fn host_env(e: &str) -> Option<String> {
    if e.contains('=') {
        return Some(e.to_owned());
    }
    std::env::var(e).ok().map(|v| format!("{e}={v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `gantry run ARGS` as clap parses them (the extra apps after `---` aside).
    fn run_args(v: &[&str]) -> RunArgs {
        #[derive(clap::Parser)]
        struct Run {
            #[command(flatten)]
            a: RunArgs,
        }
        let argv = std::iter::once("run").chain(v.iter().copied());
        <Run as clap::Parser>::try_parse_from(argv).unwrap().a
    }

    #[test]
    fn only_one_image_in_the_foreground_stays_a_plain_container() {
        // `--sdnotify ignore`: the answer must not depend on a NOTIFY_SOCKET in the test's environment.
        for plain in [
            &["--sdnotify", "ignore", "busybox"][..],
            &[
                "--sdnotify",
                "ignore",
                "-it",
                "--rm",
                "--net",
                "host",
                "busybox",
                "sh",
            ],
        ] {
            assert!(!is_pod(&run_args(plain), &[]), "{plain:?}");
        }
        for pod in [
            &["-d", "busybox"][..],
            &["--stop-timeout", "3", "busybox"],
            &["--net", "default", "busybox"],
            &["--restart", "always", "busybox"],
        ] {
            assert!(is_pod(&run_args(pod), &[]), "{pod:?}");
        }
        let a = run_args(&["--sdnotify", "ignore", "busybox"]);
        assert!(is_pod(&a, &[vec!["busybox".into()]]));
    }

    #[test]
    fn app_names() {
        assert_eq!(
            unique_app_name("docker.io/library/busybox:1.36", &[]),
            "busybox"
        );
        assert_eq!(unique_app_name("localhost/x@sha256:ab", &[]), "x");
    }
}
