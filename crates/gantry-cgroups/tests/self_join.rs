//! `SelfJoin` on the real hybrid host: a single-threaded process that writes `0` to the `tasks` files the parent
//! opened is in the cgroup in every v1 hierarchy, and not yet in the unified one (the clone or `add_to_unified`
//! covers that); a pure v2 layout has no self join. Runs without a harness: the child is forked, which needs a
//! single-threaded process.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use common::{proc_cgroup, require_real_host, Guard};
use gantry_cgroups::{Layout, Mode};
use gantry_sys::clone::Cloned;

fn main() {
    require_real_host();
    hybrid_self_join_moves_the_writer_into_every_v1_hierarchy();
    v2_has_no_self_join();
    println!("self_join: 2 checks passed");
}

fn hybrid_self_join_moves_the_writer_into_every_v1_hierarchy() {
    let layout = Layout::detect().unwrap();
    assert_eq!(
        layout.mode(),
        Mode::Hybrid,
        "this host is documented as hybrid"
    );
    let guard = Guard::new(&layout);
    let path = guard.cgroup.path().to_owned();
    let own = guard
        .cgroup
        .open_self_join()
        .unwrap()
        .expect("on a hybrid host the v1 hierarchies are joined through tasks");
    assert_eq!(
        own.clone_into_dir(),
        guard.cgroup.unified_dir(),
        "the unified part is left to CLONE_INTO_CGROUP"
    );
    let (mut parent_end, mut child_end) = UnixStream::pair().unwrap();
    match gantry_sys::clone::fork(0, None).unwrap().0 {
        Cloned::Child => {
            drop(parent_end);
            let joined = own.join().map_err(|e| e.to_string());
            let _ = child_end.write_all(&[u8::from(joined.is_ok())]);
            // Stays until the parent kills it (it never returns into the test).
            loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
        }
        Cloned::Parent(pid) => {
            drop(child_end);
            let mut joined = [0u8];
            parent_end.read_exact(&mut joined).unwrap();
            let checked = std::panic::catch_unwind(|| {
                assert_eq!(joined[0], 1, "the child's join failed");
                for key in [
                    "memory",
                    "freezer",
                    "pids",
                    "cpuset",
                    "cpu",
                    "devices",
                    "name=systemd",
                ] {
                    assert_eq!(proc_cgroup(pid, key), path, "v1 hierarchy {key:?}");
                }
                assert_ne!(
                    proc_cgroup(pid, ""),
                    path,
                    "tasks files move only in v1 hierarchies"
                );
                own.add_to_unified(pid).unwrap();
                assert_eq!(
                    proc_cgroup(pid, ""),
                    path,
                    "then cgroup.procs of the unified one"
                );
                assert_eq!(guard.cgroup.procs().unwrap(), vec![pid]);
            });
            let child = rustix::process::Pid::from_raw(pid).unwrap();
            let _ = rustix::process::kill_process(child, rustix::process::Signal::KILL);
            let _ = rustix::process::waitpid(Some(child), rustix::process::WaitOptions::empty());
            if let Err(panic) = checked {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

fn v2_has_no_self_join() {
    let guard = Guard::new(&Layout::v2("/sys/fs/cgroup/unified".into()));
    assert!(guard.cgroup.open_self_join().unwrap().is_none());
}
