//! `clone::fork` falls back to `clone(2)` when `clone3` fails with ENOSYS (old kernels, seccomp sandboxes), also
//! when a cgroup to be born in was asked for (the child is then not placed). Runs without a harness (no test
//! threads: `fork` refuses a multi-threaded caller) and without root: the seccomp filter that hides `clone3` is
//! loaded under no_new_privs in a forked child, which reports through its exit status.

use gantry_sys::clone::{fork, Cloned};

/// A classic BPF program: `clone3` → ERRNO(ENOSYS), everything else allowed.
fn hide_clone3() -> Vec<u8> {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    const RET_ERRNO: u32 = 0x0005_0000;
    const RET_ALLOW: u32 = 0x7fff_0000;
    let insn = |code: u16, jt: u8, jf: u8, k: u32| {
        let mut b = Vec::with_capacity(8);
        b.extend_from_slice(&code.to_ne_bytes());
        b.push(jt);
        b.push(jf);
        b.extend_from_slice(&k.to_ne_bytes());
        b
    };
    [
        insn(LD_W_ABS, 0, 0, 0), // seccomp_data.nr
        insn(JEQ_K, 0, 1, libc::SYS_clone3 as u32),
        insn(RET_K, 0, 0, RET_ERRNO | libc::ENOSYS as u32),
        insn(RET_K, 0, 0, RET_ALLOW),
    ]
    .concat()
}

/// Exit codes of the checking child.
const OK: i32 = 0;
const FILTER_NOT_LOADED: i32 = 10;
const CLONE3_STILL_THERE: i32 = 11;
const FORK_FAILED: i32 = 12;
const CLAIMED_PLACED: i32 = 13;
const GRANDCHILD_BAD: i32 = 14;
const NEWTIME_ACCEPTED: i32 = 15;
const PLAIN_FORK_FAILED: i32 = 16;

fn wait(pid: i32) -> i32 {
    let pid = rustix::process::Pid::from_raw(pid).expect("a positive pid");
    let (_, status) = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
        .expect("waitpid")
        .expect("a status");
    status.exit_status().unwrap_or(-1)
}

/// In the child: hide clone3, then fork twice through the wrapper.
fn check_fallback() -> i32 {
    if rustix::thread::set_no_new_privs(true).is_err()
        || gantry_sys::seccomp::set_mode_filter(&hide_clone3(), 0).is_err()
    {
        return FILTER_NOT_LOADED;
    }
    // SAFETY: a clone3 with a null argument of size 0 does nothing: the kernel (or here the filter) refuses it.
    let probe = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) };
    if probe != -1 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS) {
        return CLONE3_STILL_THERE;
    }
    // Any directory does as the cgroup: clone3 never sees it.
    let dir = std::fs::File::open("/").expect("open /");
    let forked = fork(0, Some(std::os::fd::AsFd::as_fd(&dir)));
    match forked {
        Ok((Cloned::Child, _)) => gantry_sys::clone::exit_immediately(42),
        Ok((Cloned::Parent(_), true)) => return CLAIMED_PLACED,
        Ok((Cloned::Parent(pid), false)) if wait(pid) == 42 => {}
        Ok((Cloned::Parent(_), false)) => return GRANDCHILD_BAD,
        Err(_) => return FORK_FAILED,
    }
    match fork(0, None) {
        Ok((Cloned::Child, _)) => gantry_sys::clone::exit_immediately(43),
        Ok((Cloned::Parent(pid), false)) if wait(pid) == 43 => {}
        _ => return PLAIN_FORK_FAILED,
    }
    match fork(libc::CLONE_NEWTIME as u64, None) {
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => OK,
        Ok((Cloned::Child, _)) => gantry_sys::clone::exit_immediately(0),
        _ => NEWTIME_ACCEPTED,
    }
}

fn main() {
    let threads = std::fs::read_dir("/proc/self/task").unwrap().count();
    assert_eq!(threads, 1, "this test must run without a harness");
    let pid = match fork(0, None).expect("fork the checking child") {
        (Cloned::Child, _) => gantry_sys::clone::exit_immediately(check_fallback()),
        (Cloned::Parent(pid), _) => pid,
    };
    let code = wait(pid);
    assert_eq!(
        code, OK,
        "fallback check failed with code {code} (see the constants in this file)"
    );
    // A caller with threads is refused.
    let t = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(500)));
    let refused = fork(0, None).map(|(c, _)| c).unwrap_err();
    assert_eq!(
        refused.kind(),
        std::io::ErrorKind::ResourceBusy,
        "{refused}"
    );
    t.join().unwrap();
    println!("clone_fallback: 5 checks passed");
}
