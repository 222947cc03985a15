//! One app of a pod: its rootfs (overlay in the supervisor's mount namespace), its runtime spec (the engine's
//! spec plus what makes it part of the pod), and starting it through the runtime library.

use std::path::{Path, PathBuf};

use anyhow::Context;
use gantry_image::bundle::{run_config, RunOverrides};
use gantry_image::Store;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType, Mount, Spec};

use super::super::container::spec::{self, Volume};
use super::super::container::{self as ctr, confine, rootfs};
use super::plan::{AppPlan, PodPlan};

/// An app whose rootfs is mounted and whose spec is built.
pub struct Prepared {
    /// Its rootfs mount point.
    pub rootfs: PathBuf,
    /// Its bundle (the store's container directory).
    pub bundle: PathBuf,
    /// Its runtime spec (written to `config.json` before each start).
    pub spec: Spec,
}

/// The cgroup of an app: under the pod's, absolute so that it never lands under the caller's own cgroup.
pub fn cgroup_path(pod_id: &str, app: &str) -> String {
    format!("/gantry/{pod_id}/{app}")
}

/// Mounts app `app`'s rootfs and builds its spec. `pod_dir` holds the pod's hosts, hostname and resolv.conf.
pub fn prepare(
    store: &Store,
    pod: &PodPlan,
    app: &AppPlan,
    pod_dir: &Path,
    netns: Option<&Path>,
) -> anyhow::Result<Prepared> {
    let volumes = app
        .volumes
        .iter()
        .map(|v| Volume::parse(v))
        .collect::<anyhow::Result<Vec<_>>>()
        .with_context(|| format!("app {}", app.name))?;
    let (rfs, _kind) = rootfs::create(store, &app.id, &app.image)?;
    let cfg = store.image_config(&app.image)?;
    let overrides = RunOverrides {
        entrypoint: app.entrypoint.clone(),
        cmd: app.cmd.clone(),
        env: app.env.clone(),
        workdir: app.workdir.clone(),
        user: app.user.clone(),
        volumes: Vec::new(),
    };
    let rc = run_config(&cfg, &overrides, &rfs.rootfs)
        .with_context(|| format!("app {} ({})", app.name, app.image))?;
    // `-t`: the first app runs on a pty.
    let on_tty = pod.tty && pod.apps.first().is_some_and(|f| f.id == app.id);
    let mut spec = spec::build(
        &rc.process,
        &spec::Settings {
            id: &app.id,
            hostname: &pod.hostname,
            rootfs: &rfs.rootfs,
            volumes: &volumes,
            terminal: on_tty,
            // In the foreground, gantry's own terminal's size (detached, stdin is /dev/null: none).
            console_size: on_tty
                .then(|| ctr::terminal::own_size().map(|w| (w.ws_row, w.ws_col)))
                .flatten(),
            confinement: &app.confinement,
        },
    )?;
    join_pod(&mut spec, pod, app, pod_dir, netns);
    Ok(Prepared {
        bundle: ctr::bundle_dir(&rfs.rootfs),
        rootfs: rfs.rootfs,
        spec,
    })
}

/// Makes `spec` part of the pod: the IPC and UTS namespaces are the supervisor's (so not in the spec; the
/// hostname is set there), the network namespace too, or with CNI the pod's bound one (`netns`), the cgroup is under the pod's, and /etc/hosts, /etc/hostname and
/// /etc/resolv.conf are the pod's files.
fn join_pod(spec: &mut Spec, pod: &PodPlan, app: &AppPlan, pod_dir: &Path, netns: Option<&Path>) {
    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut ns = linux.namespaces().clone().unwrap_or_default();
    ns.retain(|n| {
        !matches!(
            n.typ(),
            LinuxNamespaceType::Network | LinuxNamespaceType::Ipc | LinuxNamespaceType::Uts
        )
    });
    if let Some(path) = netns {
        // A CNI pod's namespace is bound on the host; every app joins it by path.
        let mut n = LinuxNamespace::default();
        n.set_typ(LinuxNamespaceType::Network);
        n.set_path(Some(path.to_owned()));
        ns.push(n);
    }
    linux.set_namespaces(Some(ns));
    linux.set_cgroups_path(Some(PathBuf::from(cgroup_path(&pod.id, &app.name))));
    spec.set_linux(Some(linux));
    spec.set_hostname(None);
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    for f in ["hosts", "hostname", "resolv.conf"] {
        let dest = PathBuf::from("/etc").join(f);
        if mounts.iter().any(|m| m.destination() == &dest) {
            continue; // the user's -v wins
        }
        let mut m = Mount::default();
        m.set_destination(dest);
        m.set_typ(Some("bind".into()));
        m.set_source(Some(pod_dir.join(f)));
        m.set_options(Some(vec!["bind".into(), "rprivate".into()]));
        mounts.push(m);
    }
    spec.set_mounts(Some(mounts));
}

/// With `--pid pod`, a later app joins the PID namespace of the first app's init (`pid`).
pub fn join_pid_namespace(spec: &mut Spec, pid: i32) {
    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut ns = linux.namespaces().clone().unwrap_or_default();
    ns.retain(|n| n.typ() != LinuxNamespaceType::Pid);
    let mut n = LinuxNamespace::default();
    n.set_typ(LinuxNamespaceType::Pid);
    n.set_path(Some(PathBuf::from(format!("/proc/{pid}/ns/pid"))));
    ns.push(n);
    linux.set_namespaces(Some(ns));
    spec.set_linux(Some(linux));
}

/// The pod's /etc files: `hostname`, `hosts` and `resolv.conf`. `contents` (hosts, resolv.conf) come from
/// gantry-net for CNI and host networking; for `--net none`: localhost, the pod's name, `--add-host`, and
/// `--dns` or the host's resolvers.
pub fn write_etc_files(
    pod: &PodPlan,
    dir: &Path,
    contents: Option<(String, String)>,
) -> anyhow::Result<()> {
    let write = |name: &str, body: String| {
        let p = dir.join(name);
        std::fs::write(&p, body).with_context(|| format!("writing {}", p.display()))
    };
    write("hostname", format!("{}\n", pod.hostname))?;
    if let Some((hosts, resolv)) = contents {
        write("hosts", hosts)?;
        return write("resolv.conf", resolv);
    }
    let mut hosts = String::from(
        "127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    );
    hosts.push_str(&format!("127.0.1.1\t{}\n", pod.hostname));
    for (h, ip) in &pod.add_hosts {
        hosts.push_str(&format!("{ip}\t{h}\n"));
    }
    write("hosts", hosts)?;
    let resolv = if pod.dns.is_empty() {
        std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()
    } else {
        pod.dns
            .iter()
            .map(|d| format!("nameserver {d}\n"))
            .collect()
    };
    write("resolv.conf", resolv)
}

/// Checks the app's confinement flags that need files (a seccomp profile) before anything starts.
pub fn check_confinement(app: &AppPlan) -> anyhow::Result<()> {
    if let confine::SeccompChoice::File(f) = &app.confinement.seccomp {
        anyhow::ensure!(
            Path::new(f).is_file(),
            "app {}: --security-opt seccomp={f}: no such file",
            app.name
        );
    }
    Ok(())
}
