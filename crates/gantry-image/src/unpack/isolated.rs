//! The privilege-separated unpacker: a layer is decompressed, parsed and written by a forked
//! child confined to its snapshot directory, so a bug in the tar, gzip or zstd code is not
//! host root.
//!
//! The child (one `clone3` with a new network namespace, so it has no network) closes every
//! descriptor but the layer blob and its result pipe, `chroot`s into the snapshot directory,
//! keeps only the capabilities writing a layer needs (chown, mknod, file capabilities, and
//! `CAP_SYS_ADMIN` only for `trusted.overlay.*` whiteout xattrs), sets no_new_privs and loads
//! a seccomp allow-list of file-writing syscalls (no `chroot`, `mount`, `open_by_handle_at`,
//! `ptrace`, sockets, ...). Without `CAP_SYS_CHROOT`, a descriptor outside, `/proc` or the
//! syscalls to make one, it cannot reach anything outside the snapshot.
//!
//! Forking is only safe single-threaded: [`unpack_layer_confined`] confines the unpack when
//! this process has one thread (the engine, after the registry client's threads are gone) and
//! unpacks in-process otherwise (library callers with threads, e.g. test harnesses).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::{unpack_layer, LayerInfo, UnpackOptions, UnpackStats, WhiteoutMode};
use crate::digest::Digest;
use crate::error::{ImageError, Result};

/// Set to `off` to unpack in-process (for measuring the cost of the confinement only).
pub const ISOLATION_ENV: &str = "GANTRY_UNPACK_ISOLATION";

/// Unpacks `blob` into `dest` in a confined child when this process is single-threaded (and
/// [`ISOLATION_ENV`] is not `off`), otherwise in-process.
pub fn unpack_layer_confined(
    blob: File,
    layer: &LayerInfo,
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats> {
    let off = std::env::var_os(ISOLATION_ENV).is_some_and(|v| v == "off");
    if off || !single_threaded() {
        if !off {
            tracing::debug!("several threads alive: unpacking in-process");
        }
        return unpack_layer(std::io::BufReader::new(blob), layer, dest, opts);
    }
    unpack_isolated(blob, layer, dest, opts)
}

fn single_threaded() -> bool {
    gantry_sys::clone::thread_count().is_ok_and(|n| n == 1)
}

/// The confinement prepared in the parent (nothing to compute after the fork).
struct Confinement {
    caps: gantry_security::caps::CapPlan,
    bpf: &'static [u8],
}

/// Forks the confined child (refused unless single-threaded) and collects its result.
pub(crate) fn unpack_isolated(
    blob: File,
    layer: &LayerInfo,
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats> {
    let conf = Confinement {
        caps: cap_plan(opts.whiteouts)?,
        bpf: seccomp_program()?,
    };
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| ImageError::errno("pipe", dest, e))?;
    // The child ends in `_exit` (gantry_sys::clone::fork's contract).
    let parent = Some(rustix::process::getpid());
    let cloned = fork_child();
    match cloned {
        Err(e) => Err(ImageError::io("fork the unpacker", dest, e)),
        Ok(gantry_sys::clone::Cloned::Child) => {
            drop(rd);
            let code = child(blob, wr, layer, dest, opts, &conf, parent);
            gantry_sys::clone::exit_immediately(code)
        }
        Ok(gantry_sys::clone::Cloned::Parent(pid)) => {
            drop(wr);
            drop(blob);
            let mut out = Vec::new();
            let read = File::from(rd).read_to_end(&mut out);
            let status = wait(pid, dest)?;
            read.map_err(|e| ImageError::io("read unpacker result", dest, e))?;
            decode(&out, status, layer, dest)
        }
    }
}

fn fork_child() -> std::io::Result<gantry_sys::clone::Cloned> {
    gantry_sys::clone::fork(rustix::thread::UnshareFlags::NEWNET.bits() as u64, None)
        .map(|(c, _)| c)
}

fn wait(pid: i32, dest: &Path) -> Result<rustix::process::WaitStatus> {
    let pid = rustix::process::Pid::from_raw(pid)
        .ok_or_else(|| ImageError::io("waitpid", dest, std::io::Error::other("bad pid")))?;
    loop {
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
            Ok(Some((_, st))) => return Ok(st),
            Ok(None) => continue,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(ImageError::errno("waitpid (unpacker)", dest, e)),
        }
    }
}

/// Rebuilds the child's outcome in the parent.
fn decode(
    out: &[u8],
    status: rustix::process::WaitStatus,
    layer: &LayerInfo,
    dest: &Path,
) -> Result<UnpackStats> {
    let v: Value = serde_json::from_slice(out).map_err(|_| ImageError::UnsafeEntry {
        layer: layer.digest.to_string(),
        path: String::new(),
        reason: format!(
            "the unpacker process died without a result ({status:?}); the layer may be hostile"
        ),
    })?;
    if let Some(err) = v.get("error").and_then(Value::as_str) {
        if v.get("no_space").and_then(Value::as_bool) == Some(true) {
            return Err(ImageError::NoSpace {
                path: dest.to_owned(),
                needed: None,
            });
        }
        return Err(ImageError::Unpacker(err.to_owned()));
    }
    let num = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    Ok(UnpackStats {
        entries: num("entries"),
        bytes: num("bytes"),
        diff_id: v
            .get("diff_id")
            .and_then(Value::as_str)
            .and_then(|d| Digest::parse(d).ok()),
        warnings: v
            .get("warnings")
            .and_then(Value::as_array)
            .map(|w| {
                w.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The child: confine, unpack, report. Returns the exit code.
fn child(
    blob: File,
    wr: OwnedFd,
    layer: &LayerInfo,
    dest: &Path,
    opts: &UnpackOptions,
    conf: &Confinement,
    parent: Option<rustix::process::Pid>,
) -> i32 {
    let result = confine(&blob, &wr, dest, conf, parent).and_then(|()| {
        #[cfg(feature = "test-hooks")]
        escape_hook();
        // The blob's descriptor survived `confine` (it keeps only this one and the pipe).
        let blob = File::from(
            rustix::io::fcntl_dupfd_cloexec(blob.as_fd(), 0)
                .map_err(|e| ImageError::errno("dup", dest, e))?,
        );
        unpack_layer(std::io::BufReader::new(blob), layer, Path::new("/"), opts)
    });
    let v = match result {
        Ok(s) => json!({
            "entries": s.entries, "bytes": s.bytes,
            "diff_id": s.diff_id.map(|d| d.to_string()), "warnings": s.warnings,
        }),
        Err(e) => {
            json!({ "error": e.to_string(), "no_space": e.is_no_space() })
        }
    };
    let mut out = File::from(wr);
    match out.write_all(v.to_string().as_bytes()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Closes every other descriptor, enters the snapshot for good, drops privileges.
fn confine(
    blob: &File,
    wr: &OwnedFd,
    dest: &Path,
    conf: &Confinement,
    parent: Option<rustix::process::Pid>,
) -> Result<()> {
    let err = |op: &'static str, e: std::io::Error| ImageError::io(op, dest, e);
    // Die with the engine: a killed pull must not leave an unpacker writing into a directory
    // whose lock (held by the engine) is gone and that the next sweep removes.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| err("prctl(PR_SET_PDEATHSIG)", e.into()))?;
    if rustix::process::getppid() != parent {
        return Err(err(
            "start unpacker",
            std::io::Error::other("the engine exited"),
        ));
    }
    let keep = [0, 1, 2, blob.as_raw_fd(), wr.as_raw_fd()];
    let open: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| err("read /proc/self/fd", e))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in open.into_iter().filter(|fd| !keep.contains(fd)) {
        gantry_sys::fd::close(fd);
    }
    rustix::process::chroot(dest).map_err(|e| err("chroot", e.into()))?;
    rustix::process::chdir("/").map_err(|e| err("chdir", e.into()))?;
    let cap_err = |e: gantry_security::SecurityError| {
        err("drop capabilities", std::io::Error::other(e.to_string()))
    };
    conf.caps.drop_bounding().map_err(cap_err)?;
    conf.caps.apply().map_err(cap_err)?;
    rustix::thread::set_no_new_privs(true).map_err(|e| err("no_new_privs", e.into()))?;
    gantry_sys::seccomp::set_mode_filter(conf.bpf, 0).map_err(|e| err("seccomp", e))?;
    Ok(())
}

/// The capabilities the child keeps.
fn cap_plan(mode: WhiteoutMode) -> Result<gantry_security::caps::CapPlan> {
    let mut keep = vec![
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_MKNOD",
        "CAP_SETFCAP",
    ];
    if mode == WhiteoutMode::Overlay {
        // trusted.overlay.opaque; mount & co. stay refused by the seccomp filter.
        keep.push("CAP_SYS_ADMIN");
    }
    let caps: oci_spec::runtime::LinuxCapabilities = serde_json::from_value(json!({
        "bounding": keep, "effective": keep, "permitted": keep,
    }))
    .map_err(|e| internal(format!("capability set: {e}")))?;
    gantry_security::caps::plan(&caps).map_err(|e| internal(e.to_string()))
}

/// Syscalls an unpack makes; everything else fails with EPERM.
const ALLOWED_SYSCALLS: &[&str] = &[
    "read",
    "readv",
    "pread64",
    "write",
    "writev",
    "pwrite64",
    "openat",
    "openat2",
    "close",
    "fstat",
    "newfstatat",
    "statx",
    "lseek",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "brk",
    "madvise",
    "mkdirat",
    "mknodat",
    "symlinkat",
    "linkat",
    "unlinkat",
    "renameat",
    "renameat2",
    "fchownat",
    "fchown",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "utimensat",
    "fsetxattr",
    "setxattr",
    "lsetxattr",
    "fgetxattr",
    "getxattr",
    "lgetxattr",
    "flistxattr",
    "listxattr",
    "llistxattr",
    "fremovexattr",
    "removexattr",
    "lremovexattr",
    "getdents64",
    "readlinkat",
    "fcntl",
    "dup",
    "dup3",
    "ftruncate",
    "fallocate",
    "fsync",
    "fdatasync",
    "exit",
    "exit_group",
    "rt_sigreturn",
    "rt_sigprocmask",
    "rt_sigaction",
    "sigaltstack",
    "futex",
    "getrandom",
    "clock_gettime",
    "nanosleep",
    "clock_nanosleep",
    "sched_yield",
    "getpid",
    "gettid",
    "tgkill",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "faccessat",
    "faccessat2",
    "umask",
    "fchdir",
    "getcwd",
    "fstatfs",
    "statfs",
    "set_robust_list",
    "rseq",
    "capget",
    // Legacy x86_64 forms some wrappers still use (unknown names are skipped elsewhere).
    "open",
    "stat",
    "lstat",
    "mkdir",
    "mknod",
    "symlink",
    "link",
    "unlink",
    "rmdir",
    "rename",
    "chmod",
    "chown",
    "lchown",
    "readlink",
    "access",
    "dup2",
    "getdents",
    "utimes",
    "futimesat",
];

/// The allow-list as a BPF program, generated once per process (before any fork).
fn seccomp_program() -> Result<&'static [u8]> {
    static BPF: OnceLock<std::result::Result<Vec<u8>, String>> = OnceLock::new();
    let r = BPF.get_or_init(|| {
        let profile: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "syscalls": [{ "names": ALLOWED_SYSCALLS, "action": "SCMP_ACT_ALLOW" }],
        }))
        .map_err(|e| e.to_string())?;
        let filter = gantry_security::seccomp::compile(&profile).map_err(|e| e.to_string())?;
        Ok(filter.program().map_err(|e| e.to_string())?.bpf().to_vec())
    });
    r.as_deref()
        .map_err(|e| internal(format!("unpacker seccomp filter: {e}")))
}

fn internal(reason: String) -> ImageError {
    ImageError::RunConfig {
        field: "unpacker confinement",
        reason,
    }
}

/// Test builds only (feature `test-hooks`): with `GANTRY_TEST_UNPACK_ESCAPE=PATH`, the
/// confined child first tries to write `PATH` (a host path outside the snapshot) in several
/// ways and records what each attempt gave in `/escape-attempts` inside the snapshot.
#[cfg(feature = "test-hooks")]
fn escape_hook() {
    let Some(target) = std::env::var_os("GANTRY_TEST_UNPACK_ESCAPE").map(std::path::PathBuf::from)
    else {
        return;
    };
    let mut seen = Vec::new();
    // 1. The host path itself: inside the chroot it does not exist.
    seen.push(format!(
        "write {}: {:?}",
        target.display(),
        std::fs::write(&target, b"escaped").map_err(|e| e.kind())
    ));
    // 2. Walking up: ".." of the new root is the root itself.
    let up = Path::new("../../../../../../..").join(target.strip_prefix("/").unwrap_or(&target));
    seen.push(format!(
        "write {}: {:?}",
        up.display(),
        std::fs::write(&up, b"escaped").map_err(|e| e.kind())
    ));
    // 3. The classic chroot escape: a nested chroot, then walk up.
    let _ = std::fs::create_dir("/nest");
    seen.push(format!(
        "chroot /nest: {:?}",
        rustix::process::chroot("/nest")
    ));
    // 4. Mounting the host's root over the snapshot.
    seen.push(format!(
        "mount: {:?}",
        rustix::mount::mount("/", "/nest", "", rustix::mount::MountFlags::BIND, None)
    ));
    // 5. The network.
    seen.push(format!(
        "connect: {:?}",
        std::net::TcpStream::connect("127.0.0.1:22").map_err(|e| e.kind())
    ));
    // 6. The host's /proc.
    seen.push(format!(
        "open /proc/1/root: {:?}",
        std::fs::read_dir("/proc/1/root")
            .map(|_| ())
            .map_err(|e| e.kind())
    ));
    let _ = std::fs::write("/escape-attempts", seen.join("\n"));
}
