//! `exec`: runc's flags mapped onto the library's exec options.

use gantry_container::verbs::exec::{ExecOptions, ProcessSource};
use gantry_container::verbs::exec_process::ProcessFlags;
use gantry_container::StateRoot;

/// Runs a process in the container; returns its exit status (0 with `--detach`).
pub fn run(root: &StateRoot, e: &gantry_oci_cli::Exec) -> anyhow::Result<i32> {
    let process = match &e.process {
        Some(p) => ProcessSource::File(p.clone()),
        None => ProcessSource::Flags(ProcessFlags {
            args: e.command.clone(),
            env: e.env.clone(),
            cwd: e.cwd.clone(),
            user: e.user.as_ref().map(|u| (u.uid, u.gid)),
            additional_gids: e.additional_gids.clone(),
            tty: e.tty,
            no_new_privs: e.no_new_privs,
        }),
    };
    let opts = ExecOptions {
        id: e.id.clone(),
        process,
        caps: e.cap.clone(),
        apparmor: e.apparmor.clone(),
        process_label: e.process_label.clone(),
        console_socket: e.console_socket.clone(),
        detach: e.detach,
        pid_file: e.pid_file.clone(),
        preserve_fds: e.preserve_fds,
        cgroups: e.cgroup.clone(),
        ignore_paused: e.ignore_paused,
    };
    Ok(gantry_container::verbs::exec::exec(root, &opts)?)
}
