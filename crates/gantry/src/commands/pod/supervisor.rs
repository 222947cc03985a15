//! The pod's supervisor: the `gantry run` process itself, or with `-d` a `gantry supervise` process started by
//! it (the same binary, no daemon). It owns everything the pod shares and outlives every app:
//!
//! ```text
//! gantry run / gantry supervise        private mount ns (the apps' overlays live only here),
//! │                                     the pod's net (--net none), IPC and UTS namespaces
//! ├── app 1 init  (cgroup /gantry/<pod>/<app1>, own mount + PID ns unless --pid pod)
//! └── app 2 init  (cgroup /gantry/<pod>/<app2>)
//! ```
//!
//! Each app's init has a SIGKILL parent-death signal, so a killed supervisor takes its pod down; the pod's
//! namespaces and mounts die with it, and `gantry gc` removes the rest (runtime state, cgroups, rootfs). The
//! supervisor is single-threaded: signals are blocked and read from a `signalfd` in the same `poll` as the
//! apps' output pipes and (`-t` in the foreground) the terminal relay, and children are reaped with `waitpid`.
//! A stop (SIGTERM, INT, HUP or QUIT to the supervisor, `gantry stop`, `--exit-policy first`) SIGKILLs what is
//! left after the stop timeout, detached or not.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use anyhow::Context;
use gantry_container::verbs::create::{create, CreateOptions};
use gantry_image::Store;
use gantry_sys::signal::{self, SigSet};
use rustix::event::{PollFd, PollFlags};

use super::super::container::stdio::{exec_error, SavedStdio};
use super::super::container::terminal::ConsoleSocket;
use super::super::container::{network, rootfs, runtime_root};
use super::app::{self, Prepared};
use super::cgroup;
use super::log::{max_log_bytes, LogFile, LogPipe};
use super::plan::{ExitPolicy, PodNet, PodPlan, SdNotify};
use super::record::{Phase, Pods};
use super::tty::Relay;
use crate::Global;

/// Name of the file `gantry stop` writes (seconds to wait before SIGKILL) before it sends SIGTERM.
pub const STOP_REQUEST: &str = "stop";

/// Why the pod is stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    /// A signal or `gantry stop`: the apps' exit codes count.
    Asked,
    /// `--exit-policy first`: the other apps' ends are our doing, not failures.
    ExitPolicy,
}

struct AppRun {
    prepared: Prepared,
    pid: Option<i32>,
    pipes: Vec<LogPipe>,
    log: Option<LogFile>,
    restart_at: Option<Instant>,
    done: bool,
}

/// A running pod.
struct Supervisor<'a> {
    g: &'a Global,
    pods: &'a Pods,
    store: Store,
    plan: PodPlan,
    apps: Vec<AppRun>,
    mask: SigSet,
    old_mask: SigSet,
    stopping: Option<StopReason>,
    kill_at: Option<Instant>,
    first_failure: Option<i32>,
    /// CNI networks (held for the pod's lifetime).
    net: Option<super::net::PodNetwork>,
    /// `--sdnotify container` with a path socket: what the first app sends goes through the supervisor.
    notify: Option<super::notify::Proxy>,
    /// `-t` in the foreground: the first app's pty relayed to gantry's terminal.
    relay: Option<Relay>,
}

/// Runs pod `id` (its record written by `gantry run`) until it ends; returns its exit code. `ready` (for a
/// detached supervisor) receives `ok` once every app started, or the error.
pub fn supervise(g: &Global, pods: &Pods, id: &str, ready: Option<OwnedFd>) -> anyhow::Result<i32> {
    let me = std::process::id() as i32;
    let rec = pods.update(id, |r| {
        r.supervisor_pid = Some(me);
        r.supervisor_start = super::record::process_start_time(me);
    })?;
    // Socket activation's descriptors (3...) are for the first app (whose init clears close-on-exec on them, as
    // for --preserve-fds), not for what this process execs: CNI plugins and iptables must not inherit them.
    for fd in 3..3 + rec.plan.listen_fds as i32 {
        gantry_sys::fd::set_cloexec(fd)
            .with_context(|| format!("socket activation: descriptor {fd} (LISTEN_FDS)"))?;
    }
    let store = Store::open(&g.root)
        .with_context(|| format!("opening the image store at {}", g.root.display()))?;
    let mask = gantry_container::verbs::run::forwarded_signals();
    let mut s = Supervisor {
        g,
        pods,
        store,
        plan: rec.plan.clone(),
        apps: Vec::new(),
        mask,
        old_mask: SigSet::empty(),
        stopping: None,
        kill_at: None,
        first_failure: None,
        net: None,
        notify: None,
        relay: None,
    };
    let started = s.set_up().and_then(|()| s.start_all());
    if let Err(e) = started {
        s.kill_all(libc::SIGKILL);
        s.reap_blocking();
        s.tear_down(true);
        let _ = signal::set_mask(&s.old_mask);
        return Err(e);
    }
    if let Some(fd) = ready {
        let _ = rustix::io::write(&fd, b"ok\n");
        drop(fd);
        // The CLI waits for end-of-file on our stdout: hand it /dev/null.
        if let Ok(null) = std::fs::File::options().write(true).open("/dev/null") {
            let _ = rustix::stdio::dup2_stdout(&null);
        }
    }
    if s.plan.sdnotify == SdNotify::Conmon {
        if let Some(sock) = &s.plan.notify_socket {
            if let Err(e) = super::notify::send(sock, "READY=1") {
                eprintln!("gantry: telling systemd the pod is ready: {e:#}");
            }
        }
    }
    let result = s.run_loop();
    s.kill_all(libc::SIGKILL);
    s.reap_blocking();
    // Gantry's terminal leaves raw mode before anything more is printed.
    s.relay = None;
    let code = s.first_failure.unwrap_or(0);
    s.tear_down(s.plan.auto_remove);
    let _ = signal::set_mask(&s.old_mask);
    if !s.plan.auto_remove {
        pods.update(id, |r| {
            r.phase = Phase::Exited;
            r.exit_code = Some(code);
            r.finished = Some(now());
            for a in &mut r.apps {
                a.phase = Phase::Exited;
                a.pid = None;
            }
        })?;
    }
    result.map(|()| code)
}

fn now() -> String {
    gantry_container::time::rfc3339(std::time::SystemTime::now())
}

impl Supervisor<'_> {
    /// The pod's namespaces, /etc files, and every app's rootfs and spec; then signals are blocked.
    fn set_up(&mut self) -> anyhow::Result<()> {
        let dir = self.pods.dir(&self.plan.id);
        // The CNI namespace is bound before our mount namespace becomes private, so the host (and gc) see it.
        if let PodNet::Cni(names) = &self.plan.net {
            let n = super::net::attach(&self.g.root, &self.plan, names, &dir)
                .with_context(|| format!("--net {}", names.join(",")))?;
            self.net = Some(n);
        }
        rootfs::private_mount_namespace()?;
        if self.plan.net == PodNet::None {
            network::private_network_namespace()?;
        }
        gantry_sys::namespace::unshare_namespaces((libc::CLONE_NEWIPC | libc::CLONE_NEWUTS) as u32)
            .context("unsharing the pod's IPC and UTS namespaces")?;
        rustix::system::sethostname(self.plan.hostname.as_bytes()).with_context(|| {
            format!(
                "--hostname {:?}: setting the pod's hostname",
                self.plan.hostname
            )
        })?;
        let contents = match self.plan.net {
            PodNet::None => None,
            _ => Some(super::net::etc_contents(&self.plan, self.net.as_ref())?),
        };
        app::write_etc_files(&self.plan, &dir, contents)?;
        let netns = self.net.as_ref().map(|n| n.netns.clone());
        for (i, a) in self.plan.apps.iter().enumerate() {
            let mut prepared = app::prepare(&self.store, &self.plan, a, &dir, netns.as_deref())?;
            if i == 0 && self.plan.sdnotify == SdNotify::Container {
                if let Some(sock) = &self.plan.notify_socket {
                    let mut given = sock.clone();
                    if !sock.starts_with('@') {
                        let proxy =
                            super::notify::Proxy::bind(&self.g.state_root, &self.plan.id, sock)?;
                        given = proxy.path.display().to_string();
                        self.notify = Some(proxy);
                    }
                    super::notify::pass_to_app(&mut prepared.spec, &given, &self.plan.net)?;
                }
            }
            self.apps.push(AppRun {
                prepared,
                pid: None,
                pipes: Vec::new(),
                log: None,
                restart_at: None,
                done: false,
            });
        }
        // The apps are cloned from this process: that is only safe while it has a single thread.
        let threads = super::super::pull::thread_count()?;
        anyhow::ensure!(
            threads == 1,
            "internal error: the supervisor has {threads} threads before cloning its apps (report this bug)"
        );
        self.old_mask = signal::block(&self.mask).context("blocking signals")?;
        Ok(())
    }

    fn start_all(&mut self) -> anyhow::Result<()> {
        self.pods
            .update(&self.plan.id, |r| r.phase = Phase::Running)?;
        for i in 0..self.apps.len() {
            self.start_app(i)?;
            if i == 0 {
                // Socket activation is for the first app only; later apps must not think they got sockets.
                std::env::remove_var("LISTEN_FDS");
                std::env::remove_var("LISTEN_PID");
            }
        }
        Ok(())
    }

    /// Creates and starts app `i` (again, after a restart).
    fn start_app(&mut self, i: usize) -> anyhow::Result<()> {
        let plan_app = self.plan.apps[i].clone();
        let mut spec = self.apps[i].prepared.spec.clone();
        if self.plan.share_pid && i > 0 {
            let first = self.apps[0].pid.context(
                "--pid pod: the first app is not running, so there is no PID namespace to join",
            )?;
            app::join_pid_namespace(&mut spec, first);
        }
        let bundle = self.apps[i].prepared.bundle.clone();
        let config = bundle.join("config.json");
        std::fs::write(&config, serde_json::to_vec(&spec)?)
            .with_context(|| format!("writing {}", config.display()))?;
        let redirect = self.app_stdio(i)?;
        let console = match self.uses_tty(i) {
            true => Some(ConsoleSocket::bind(&plan_app.id)?),
            false => None,
        };
        let opts = CreateOptions {
            id: plan_app.id.clone(),
            bundle,
            kill_with_parent: true,
            console_socket: console.as_ref().map(ConsoleSocket::path),
            ..Default::default()
        };
        let rt = runtime_root(&self.g.state_root);
        let created = create(&rt, &opts, self.old_mask);
        redirect.restore()?;
        let created = created
            .map_err(exec_error)
            .with_context(|| format!("app {}", plan_app.name))?;
        if let Some(c) = console {
            let master = c.receive_master()?;
            if self.plan.detach {
                // The pty's output is the app's log; holding the master also keeps the app's terminal open.
                rustix::fs::fcntl_setfl(&master, rustix::fs::OFlags::NONBLOCK)
                    .context("making the pty master non-blocking")?;
                self.apps[i].pipes.push(LogPipe::new(master, "stdout"));
            } else {
                let interactive = self.plan.interactive;
                self.relay
                    .get_or_insert_with(|| Relay::new(interactive))
                    .attach(master);
            }
        }
        let pid = created.state.pid;
        drop(created);
        self.apps[i].pid = Some(pid);
        if let Err(e) = gantry_container::verbs::start::start(&rt, &plan_app.id) {
            return Err(exec_error(e)).with_context(|| format!("app {}", plan_app.name));
        }
        let command = spec
            .process()
            .as_ref()
            .and_then(|p| p.args().clone())
            .unwrap_or_default();
        self.pods.update(&self.plan.id, |r| {
            let a = &mut r.apps[i];
            a.phase = Phase::Running;
            a.pid = Some(pid);
            a.command = command;
            a.started = Some(now());
        })?;
        Ok(())
    }

    /// Whether app `i` runs on a pty (`-t`: the first app).
    fn uses_tty(&self, i: usize) -> bool {
        self.plan.tty && i == 0
    }

    /// Points fds 0-2 where app `i` must get them: detached, its log pipes (stdin /dev/null); in the foreground,
    /// gantry's own stdout/stderr, stdin only for the first app with `-i`.
    fn app_stdio(&mut self, i: usize) -> anyhow::Result<SavedStdio> {
        let mut r = SavedStdio::default();
        if !(self.plan.interactive && i == 0) || self.plan.detach {
            let null = std::fs::File::open("/dev/null").context("opening /dev/null")?;
            r.replace(0, null.as_fd())?;
        }
        if self.plan.detach {
            let name = &self.plan.apps[i].name;
            let path = self.pods.dir(&self.plan.id).join(format!("{name}.log"));
            if self.apps[i].log.is_none() {
                self.apps[i].log = Some(LogFile::open(&path, max_log_bytes())?);
            }
            if self.uses_tty(i) {
                return Ok(r);
            }
            for (fd, stream) in [(1, "stdout"), (2, "stderr")] {
                let (rd, wr) = rustix::pipe::pipe_with(
                    rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
                )
                .context("creating a log pipe")?;
                r.replace(fd, wr.as_fd())?;
                self.apps[i].pipes.push(LogPipe::new(rd, stream));
            }
        }
        Ok(r)
    }

    fn run_loop(&mut self) -> anyhow::Result<()> {
        let sfd = signal::signal_fd(&self.mask).context("creating a signalfd")?;
        loop {
            // Before reaping: an app may send READY=1 and exit at once.
            if let Some(p) = &self.notify {
                p.forward();
            }
            self.reap()?;
            self.restart_due()?;
            if self.apps.iter().all(|a| a.done) {
                self.drain_all();
                return Ok(());
            }
            let now = Instant::now();
            if self.kill_at.is_some_and(|t| t <= now) {
                self.kill_all(libc::SIGKILL);
                self.kill_at = None;
            }
            let next = self
                .apps
                .iter()
                .filter_map(|a| a.restart_at)
                .chain(self.kill_at)
                .min();
            let timeout = next.map(|t| {
                let d = t.saturating_duration_since(now);
                rustix::event::Timespec {
                    tv_sec: d.as_secs() as i64,
                    tv_nsec: i64::from(d.subsec_nanos()),
                }
            });
            let mut fds = vec![PollFd::new(&sfd, PollFlags::IN)];
            if let Some(p) = &self.notify {
                fds.push(PollFd::from_borrowed_fd(p.fd(), PollFlags::IN));
            }
            // The terminal relay's master and stdin, where polled.
            let mut relay_at = [None, None];
            if let Some(r) = &self.relay {
                for (k, fd) in [r.master(), r.stdin()].into_iter().enumerate() {
                    if let Some(f) = fd {
                        relay_at[k] = Some(fds.len());
                        fds.push(PollFd::from_borrowed_fd(f, PollFlags::IN));
                    }
                }
            }
            let skip = fds.len();
            let mut owners = Vec::new();
            for (i, a) in self.apps.iter().enumerate() {
                for (j, p) in a.pipes.iter().enumerate() {
                    fds.push(PollFd::new(&p.fd, PollFlags::IN));
                    owners.push((i, j));
                }
            }
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e).context("waiting for signals and output"),
            }
            let ready: Vec<(usize, usize)> = fds[skip..]
                .iter()
                .zip(&owners)
                .filter(|(f, _)| !f.revents().is_empty())
                .map(|(_, o)| *o)
                .collect();
            let relay_ready = relay_at.map(|k| k.is_some_and(|k| !fds[k].revents().is_empty()));
            drop(fds);
            if let Some(r) = &mut self.relay {
                if relay_ready[0] {
                    r.pump_out();
                }
                if relay_ready[1] {
                    r.pump_in();
                }
            }
            while let Some(sig) =
                signal::read_signal_fd(sfd.as_fd()).context("reading the signalfd")?
            {
                self.on_signal(sig);
            }
            for (i, j) in ready.into_iter().rev() {
                self.drain_pipe(i, j);
            }
        }
    }

    fn on_signal(&mut self, sig: i32) {
        match sig {
            libc::SIGCHLD => {}
            libc::SIGTERM | libc::SIGINT | libc::SIGHUP | libc::SIGQUIT => {
                let requested =
                    std::fs::read_to_string(self.pods.dir(&self.plan.id).join(STOP_REQUEST))
                        .ok()
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                // In the foreground too: under systemd an app ignoring SIGTERM must not hold the unit until
                // TimeoutStopSec (when systemd would SIGKILL us and leave the pod's record to gc).
                let timeout = requested.unwrap_or(self.stop_timeout());
                self.begin_stop(StopReason::Asked, sig, timeout);
            }
            libc::SIGWINCH if self.relay.is_some() => {
                if let Some(r) = &self.relay {
                    r.resize();
                }
            }
            other => self.kill_all(other),
        }
    }

    /// `--stop-timeout`.
    fn stop_timeout(&self) -> Duration {
        Duration::from_secs(self.plan.stop_timeout)
    }

    /// Stops restarting, sends `sig` to every app, and SIGKILLs what is left after `timeout`.
    fn begin_stop(&mut self, reason: StopReason, sig: i32, timeout: Duration) {
        if self.stopping.is_none() || reason == StopReason::Asked {
            self.stopping = Some(self.stopping.unwrap_or(reason));
        }
        for a in &mut self.apps {
            if a.restart_at.take().is_some() {
                a.done = true;
            }
        }
        let _ = self
            .pods
            .update(&self.plan.id, |r| r.phase = Phase::Stopping);
        self.kill_all(sig);
        let at = Instant::now() + timeout;
        self.kill_at = Some(self.kill_at.map_or(at, |k| k.min(at)));
    }

    fn kill_all(&self, sig: i32) {
        let Some(s) = rustix::process::Signal::from_named_raw(sig) else {
            return;
        };
        for a in &self.apps {
            if let Some(pid) = a.pid.and_then(rustix::process::Pid::from_raw) {
                let _ = rustix::process::kill_process(pid, s);
            }
        }
    }

    /// Reaps every exited child without blocking and acts on each app that ended.
    fn reap(&mut self) -> anyhow::Result<()> {
        loop {
            // Any child (wait(2)), not waitpid(0)'s "same process group": an app on a pty leads its own session.
            match rustix::process::wait(rustix::process::WaitOptions::NOHANG) {
                Ok(Some((pid, st))) => {
                    let code = match st.terminating_signal() {
                        Some(sig) => 128 + sig,
                        None => st.exit_status().unwrap_or(0),
                    };
                    if let Some(i) = self
                        .apps
                        .iter()
                        .position(|a| a.pid == Some(pid.as_raw_nonzero().get()))
                    {
                        self.app_exited(i, code)?;
                    }
                }
                Ok(None) | Err(rustix::io::Errno::CHILD) => return Ok(()),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e).context("waiting for the pod's apps"),
            }
        }
    }

    /// Waits (blocking) until no app process is left: used when tearing down.
    fn reap_blocking(&mut self) {
        while self.apps.iter().any(|a| a.pid.is_some()) {
            match rustix::process::wait(rustix::process::WaitOptions::empty()) {
                Ok(Some((pid, _))) => {
                    for a in &mut self.apps {
                        if a.pid == Some(pid.as_raw_nonzero().get()) {
                            a.pid = None;
                        }
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                _ => break,
            }
        }
    }

    fn app_exited(&mut self, i: usize, code: i32) -> anyhow::Result<()> {
        self.apps[i].pid = None;
        if let (0, Some(r)) = (i, &mut self.relay) {
            r.drain();
        }
        for j in (0..self.apps[i].pipes.len()).rev() {
            self.drain_pipe(i, j);
        }
        let id = self.plan.apps[i].id.clone();
        if let Err(e) =
            gantry_container::verbs::delete::delete(&runtime_root(&self.g.state_root), &id, true)
        {
            eprintln!("gantry: deleting app {}: {e}", self.plan.apps[i].name);
        }
        let restarts = self.pods.read(&self.plan.id)?.apps[i].restarts;
        let restart = self.stopping.is_none() && self.plan.restart.restarts(code, restarts);
        if restart {
            // 100 ms, doubling per restart, at most 5 s: a crash loop must not spin.
            let delay =
                Duration::from_millis(100u64 << restarts.min(6)).min(Duration::from_secs(5));
            self.apps[i].restart_at = Some(Instant::now() + delay);
        } else {
            self.apps[i].done = true;
            if code != 0
                && self.first_failure.is_none()
                && self.stopping != Some(StopReason::ExitPolicy)
            {
                self.first_failure = Some(code);
            }
        }
        self.pods.update(&self.plan.id, |r| {
            let a = &mut r.apps[i];
            a.pid = None;
            a.exit_code = Some(code);
            a.finished = Some(now());
            a.phase = if restart {
                Phase::Restarting
            } else {
                Phase::Exited
            };
            if restart {
                a.restarts += 1;
            }
        })?;
        if !restart && self.plan.exit_policy == ExitPolicy::First && self.stopping.is_none() {
            self.begin_stop(StopReason::ExitPolicy, libc::SIGTERM, self.stop_timeout());
        }
        Ok(())
    }

    fn restart_due(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        for i in 0..self.apps.len() {
            if self.apps[i].restart_at.is_some_and(|t| t <= now) {
                self.apps[i].restart_at = None;
                if let Err(e) = self.start_app(i) {
                    eprintln!("gantry: restarting app {}: {e:#}", self.plan.apps[i].name);
                    let _ = gantry_container::verbs::delete::delete(
                        &runtime_root(&self.g.state_root),
                        &self.plan.apps[i].id,
                        true,
                    );
                    self.apps[i].pid = None;
                    self.app_exited(i, 125)?;
                }
            }
        }
        Ok(())
    }

    fn drain_pipe(&mut self, i: usize, j: usize) {
        let a = &mut self.apps[i];
        let (Some(log), Some(p)) = (a.log.as_mut(), a.pipes.get_mut(j)) else {
            return;
        };
        match p.drain(log) {
            Ok(true) => {}
            Ok(false) => {
                a.pipes.remove(j);
            }
            Err(e) => {
                eprintln!("gantry: app {}: {e:#}", self.plan.apps[i].name);
                a.pipes.remove(j);
            }
        }
    }

    fn drain_all(&mut self) {
        for i in 0..self.apps.len() {
            for j in (0..self.apps[i].pipes.len()).rev() {
                self.drain_pipe(i, j);
            }
        }
    }

    /// Removes the apps' runtime state and the pod's cgroup, unmounts the rootfs; with `remove`, also the
    /// rootfs' upper layers and the pod's directory.
    fn tear_down(&mut self, remove: bool) {
        let rt = runtime_root(&self.g.state_root);
        for a in &self.plan.apps {
            let _ = gantry_container::verbs::delete::delete(&rt, &a.id, true);
        }
        for (i, a) in self.apps.iter().enumerate() {
            if remove {
                if let Err(e) =
                    rootfs::remove(&self.store, &self.plan.apps[i].id, &a.prepared.rootfs)
                {
                    eprintln!("gantry: {e:#}");
                }
            } else {
                let _ =
                    rustix::mount::unmount(&a.prepared.rootfs, rustix::mount::UnmountFlags::DETACH);
            }
        }
        if remove {
            // Apps whose rootfs was never mounted (set-up failed part way) may still have a store entry.
            for a in &self.plan.apps[self.apps.len()..] {
                let _ = self.store.remove_container(&a.id);
            }
        }
        for left in cgroup::remove_pod_cgroups(&self.plan.id) {
            eprintln!("gantry: cgroup left behind: {left}");
        }
        if matches!(self.plan.net, PodNet::Cni(_)) {
            let dir = self.pods.dir(&self.plan.id);
            if let Err(e) = super::net::release(&self.g.root, &self.plan.id, &dir) {
                eprintln!("gantry: removing the pod's networks: {e:#}");
            }
            self.net = None;
        }
        if remove {
            if let Err(e) = self.pods.remove(&self.plan.id) {
                eprintln!("gantry: {e:#}");
            }
        }
    }
}
