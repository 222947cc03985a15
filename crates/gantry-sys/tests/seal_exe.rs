//! `exe::seal` leaves a process whose executable (`/proc/self/exe`, and the same for a child it forks) is a
//! read-only file, and which still runs correctly: data written before the seal is intact, relocated pointers in
//! statics still point right, allocation and formatting work. Both ways: in place, and the re-exec fallback (run
//! in a re-executed copy of this test, marked by an argument). Runs without a harness (the seal refuses a
//! multi-threaded process) and as root (a bind mount is made; without the right to make one `seal` answers
//! `Unprivileged`, which fails this test).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use gantry_sys::exe::{seal, seal_by_reexec, Sealed};

static WRITTEN_BEFORE: AtomicUsize = AtomicUsize::new(0);
static NAMES: [&str; 3] = ["alpha", "beta", "gamma"];
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Panics unless the running executable is read-only (by mount) and cannot be opened for writing.
fn assert_exe_read_only(who: &str) {
    let st = rustix::fs::statvfs("/proc/self/exe").expect("statvfs /proc/self/exe");
    assert!(
        st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
        "{who}: /proc/self/exe is not on a read-only mount"
    );
    let w = rustix::fs::open(
        "/proc/self/exe",
        rustix::fs::OFlags::WRONLY,
        rustix::fs::Mode::empty(),
    );
    assert!(w.is_err(), "{who}: /proc/self/exe opened for writing");
}

fn check_still_works() {
    assert_eq!(
        WRITTEN_BEFORE.load(Ordering::SeqCst),
        42,
        "a static written before the seal lost its value"
    );
    assert_eq!(
        NAMES.join(","),
        "alpha,beta,gamma",
        "relocated pointers in a static broke"
    );
    LOG.lock()
        .unwrap()
        .push(format!("{:?}", (1..200).map(|i| i * 3).sum::<i32>()));
    assert_eq!(
        LOG.lock().unwrap().last().map(String::as_str),
        Some("59700")
    );
    let v: Vec<Box<u64>> = (0..10_000).map(Box::new).collect();
    assert_eq!(*v[9_999], 9_999);
}

/// Waits for the child `pid` and returns its exit status.
fn exit_code(pid: i32) -> Option<i32> {
    let pid = rustix::process::Pid::from_raw(pid).unwrap();
    let (_, status) = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
        .unwrap()
        .unwrap();
    status.exit_status()
}

fn check_child_inherits() {
    match gantry_sys::clone::fork(0, None).expect("fork") {
        (gantry_sys::clone::Cloned::Child, _) => {
            let ok = std::panic::catch_unwind(|| assert_exe_read_only("child")).is_ok();
            gantry_sys::clone::exit_immediately(if ok { 0 } else { 1 });
        }
        (gantry_sys::clone::Cloned::Parent(pid), _) => {
            assert_eq!(
                exit_code(pid),
                Some(0),
                "a forked child's executable is writable"
            );
        }
    }
}

fn main() {
    WRITTEN_BEFORE.store(42, Ordering::SeqCst);
    if std::env::args().any(|a| a == "--fallback") {
        // Started from the installed (writable) path: the first call re-executes through the read-only bind and
        // does not return; in the new image it finds the binary read-only.
        assert_eq!(
            seal_by_reexec().expect("seal_by_reexec"),
            Sealed::ReadOnlyInstall
        );
        assert_eq!(
            std::fs::read_link("/proc/self/exe").unwrap(),
            std::path::Path::new("/"),
            "not re-executed through the detached bind"
        );
        assert_exe_read_only("re-executed");
        check_still_works();
        check_child_inherits();
        println!("seal_exe: re-exec fallback ok");
        return;
    }
    let before = std::fs::read("/proc/self/exe").expect("read /proc/self/exe");
    assert_eq!(
        seal().expect("seal"),
        Sealed::InPlace,
        "expected an in-place seal (run as root)"
    );
    assert_exe_read_only("sealed in place");
    assert_eq!(
        std::fs::read_link("/proc/self/exe").unwrap(),
        std::path::Path::new("/")
    );
    assert_eq!(
        std::fs::read("/proc/self/exe").unwrap(),
        before,
        "the sealed file is not this program"
    );
    check_still_works();
    check_child_inherits();
    // A second seal finds the executable read-only already.
    assert_eq!(seal().expect("second seal"), Sealed::ReadOnlyInstall);
    println!("seal_exe: in place ok");

    // The fallback, in a child that starts this test again from its installed path.
    match gantry_sys::clone::fork(0, None).expect("fork") {
        (gantry_sys::clone::Cloned::Child, _) => {
            let path = std::env::args().next().unwrap();
            let argv = gantry_sys::exec::CStringArray::new([path.as_str(), "--fallback"]).unwrap();
            let env: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
            let envp = gantry_sys::exec::CStringArray::new(&env).unwrap();
            let e = gantry_sys::exec::execve(
                &std::ffi::CString::new(path.clone()).unwrap(),
                &argv,
                &envp,
            );
            eprintln!("execve {path}: {e}");
            gantry_sys::clone::exit_immediately(2);
        }
        (gantry_sys::clone::Cloned::Parent(pid), _) => {
            assert_eq!(exit_code(pid), Some(0), "the re-exec fallback failed");
        }
    }
}
