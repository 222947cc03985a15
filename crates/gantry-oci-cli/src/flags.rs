//! Which flags a command line set, and which of those Gantry does not implement yet.

use crate::{Cli, Command, CriuOpts, Rootless};

/// runc flags that gantry-runtime parses but does not implement. The runtime refuses a command
/// line that sets any of them, naming them ([`Cli::unsupported_flags`]).
pub const NOT_IMPLEMENTED: &[&str] = &[
    "--criu",
    "--kernel-memory",
    "--kernel-memory-tcp",
    "--l3-cache-schema",
    "--mem-bw-schema",
];

fn push(out: &mut Vec<&'static str>, set: bool, name: &'static str) {
    if set {
        out.push(name);
    }
}

impl Cli {
    /// The flags set on this command line to a non-default value (`--name` spelling).
    pub fn given_flags(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let g = &self.global;
        push(&mut v, g.log.is_some(), "--log");
        push(&mut v, g.debug, "--debug");
        push(&mut v, g.rootless != Rootless::Auto, "--rootless");
        push(&mut v, g.systemd_cgroup, "--systemd-cgroup");
        push(&mut v, g.criu.is_some(), "--criu");
        match &self.command {
            Some(Command::Create(c)) => create_flags(&mut v, &c.opts),
            Some(Command::Run(r)) => {
                push(&mut v, r.detach, "--detach");
                push(&mut v, r.keep, "--keep");
                push(&mut v, r.no_subreaper, "--no-subreaper");
                create_flags(&mut v, &r.opts);
            }
            Some(Command::Kill(k)) => push(&mut v, k.all, "--all"),
            Some(Command::Delete(d)) => push(&mut v, d.force, "--force"),
            Some(Command::List(l)) => push(&mut v, l.quiet, "--quiet"),
            Some(Command::Spec(s)) => {
                push(&mut v, s.bundle.is_some(), "--bundle");
                push(&mut v, s.rootless, "--rootless");
            }
            Some(Command::Exec(e)) => {
                push(&mut v, e.console_socket.is_some(), "--console-socket");
                push(&mut v, e.cwd.is_some(), "--cwd");
                push(&mut v, !e.env.is_empty(), "--env");
                push(&mut v, e.tty, "--tty");
                push(&mut v, e.user.is_some(), "--user");
                push(&mut v, !e.additional_gids.is_empty(), "--additional-gids");
                push(&mut v, e.process.is_some(), "--process");
                push(&mut v, e.detach, "--detach");
                push(&mut v, e.pid_file.is_some(), "--pid-file");
                push(&mut v, e.process_label.is_some(), "--process-label");
                push(&mut v, e.apparmor.is_some(), "--apparmor");
                push(&mut v, e.no_new_privs, "--no-new-privs");
                push(&mut v, !e.cap.is_empty(), "--cap");
                push(&mut v, e.preserve_fds != 0, "--preserve-fds");
                push(&mut v, !e.cgroup.is_empty(), "--cgroup");
                push(&mut v, e.ignore_paused, "--ignore-paused");
            }
            Some(Command::Update(u)) => {
                push(&mut v, u.resources.is_some(), "--resources");
                push(&mut v, u.blkio_weight.is_some(), "--blkio-weight");
                push(&mut v, u.cpu_period.is_some(), "--cpu-period");
                push(&mut v, u.cpu_quota.is_some(), "--cpu-quota");
                push(&mut v, u.cpu_share.is_some(), "--cpu-share");
                push(&mut v, u.cpu_rt_period.is_some(), "--cpu-rt-period");
                push(&mut v, u.cpu_rt_runtime.is_some(), "--cpu-rt-runtime");
                push(&mut v, u.cpuset_cpus.is_some(), "--cpuset-cpus");
                push(&mut v, u.cpuset_mems.is_some(), "--cpuset-mems");
                push(&mut v, u.kernel_memory.is_some(), "--kernel-memory");
                push(&mut v, u.kernel_memory_tcp.is_some(), "--kernel-memory-tcp");
                push(&mut v, u.memory.is_some(), "--memory");
                push(
                    &mut v,
                    u.memory_reservation.is_some(),
                    "--memory-reservation",
                );
                push(&mut v, u.memory_swap.is_some(), "--memory-swap");
                push(&mut v, u.pids_limit.is_some(), "--pids-limit");
                push(&mut v, u.l3_cache_schema.is_some(), "--l3-cache-schema");
                push(&mut v, u.mem_bw_schema.is_some(), "--mem-bw-schema");
            }
            Some(Command::Events(e)) => push(&mut v, e.stats, "--stats"),
            Some(Command::Checkpoint(c)) => criu_flags(&mut v, &c.criu),
            Some(Command::Restore(r)) => criu_flags(&mut v, &r.criu),
            Some(
                Command::Start(_)
                | Command::State(_)
                | Command::Pause(_)
                | Command::Resume(_)
                | Command::Ps(_)
                | Command::Features,
            )
            | None => {}
        }
        v
    }

    /// The flags set on this command line that are in `not_implemented` (normally
    /// [`NOT_IMPLEMENTED`]); the runtime refuses the call when this is not empty.
    pub fn unsupported_flags(&self, not_implemented: &[&str]) -> Vec<&'static str> {
        let mut v = self.given_flags();
        v.retain(|f| not_implemented.contains(f));
        v
    }
}

fn create_flags(v: &mut Vec<&'static str>, c: &crate::CreateOpts) {
    push(v, c.console_socket.is_some(), "--console-socket");
    push(v, c.pid_file.is_some(), "--pid-file");
    push(v, c.no_pivot, "--no-pivot");
    push(v, c.no_new_keyring, "--no-new-keyring");
    push(v, c.preserve_fds != 0, "--preserve-fds");
}

fn criu_flags(v: &mut Vec<&'static str>, c: &CriuOpts) {
    push(v, c.image_path.is_some(), "--image-path");
    push(v, c.work_path.is_some(), "--work-path");
    push(v, c.tcp_established, "--tcp-established");
    push(v, c.ext_unix_sk, "--ext-unix-sk");
    push(v, c.shell_job, "--shell-job");
    push(v, c.lazy_pages, "--lazy-pages");
    push(v, c.file_locks, "--file-locks");
    push(v, c.manage_cgroups_mode.is_some(), "--manage-cgroups-mode");
    push(v, !c.empty_ns.is_empty(), "--empty-ns");
    push(v, c.auto_dedup, "--auto-dedup");
}
