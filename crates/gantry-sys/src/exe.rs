//! Sealing the running executable against CVE-2019-5736: afterwards `/proc/self/exe`, and every mapping of the
//! program, name a detached **read-only** bind mount of the same file, so a container process that reaches the
//! binary (through `/proc/PID/exe`, or by executing `/proc/self/exe` as its entrypoint or `#!` interpreter) can
//! only open it read-only (`EROFS`). No copy of the binary is made.
//!
//! [`seal`] does it without starting the program again whenever it can: it maps every segment of the running
//! image afresh from the read-only bind (text and read-only data as they are; the written data and RELRO pages
//! copied into anonymous memory), after which the kernel accepts the bind as the process's executable (`prctl(PR_SET_MM_MAP)` with an
//! `exe_fd`: it refuses only while the old path is still mapped). That takes a few syscalls and a copy of the
//! writable segment (~0.2 MiB), against a whole second start of the binary for the classic re-exec, which stays
//! the fallback (kernels or sandboxes that refuse a step, a non-ELF layout) and gives the same protection.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

use rustix::fs::{Mode, OFlags, StatVfsMountFlags};
use rustix::mount::OpenTreeFlags;

/// How the running executable came to be safe from a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    /// It is installed on a read-only mount already; nothing was done (one `statfs`).
    ReadOnlyInstall,
    /// Its mappings and `/proc/self/exe` now name a detached read-only bind mount of itself.
    InPlace,
    /// This process may not make mounts (rootless): it can only run a binary its own user could overwrite anyway.
    Unprivileged,
}

/// Makes the running executable impossible to open for writing through `/proc/self/exe` or `/proc/PID/exe`, in
/// this process and every process it forks afterwards. Call it first thing in `main`: the in-place remap needs the
/// process to have one thread (it checks, as it copies data other threads could be writing). When the remap is
/// refused for that or any other reason, the program is executed again through the read-only bind with the same
/// arguments and environment (this call then does not return; in the new image it returns
/// [`Sealed::ReadOnlyInstall`]). It fails only when the bind itself cannot be made or executed.
///
/// After an in-place seal, `readlink /proc/self/exe` gives `/` (the root of the detached bind), so
/// `std::env::current_exe()` no longer finds the installed path; start the program again through `/proc/self/exe`.
pub fn seal() -> io::Result<Sealed> {
    let tree = match read_only_bind()? {
        Ok(tree) => tree,
        Err(done) => return Ok(done),
    };
    match remap_onto(tree.as_fd()) {
        Ok(()) => Ok(Sealed::InPlace),
        Err(_) => Err(reexec_through(tree.as_fd())),
    }
}

/// [`seal`]'s fallback on its own: executes the program again through a read-only bind of itself (returns only
/// when there is nothing to do, or on failure). For tests of that path.
#[doc(hidden)]
pub fn seal_by_reexec() -> io::Result<Sealed> {
    match read_only_bind()? {
        Ok(tree) => Err(reexec_through(tree.as_fd())),
        Err(done) => Ok(done),
    }
}

/// A detached read-only bind mount of the running executable, or why none is needed.
fn read_only_bind() -> io::Result<Result<OwnedFd, Sealed>> {
    let st = rustix::fs::statvfs("/proc/self/exe")?;
    if st.f_flag.contains(StatVfsMountFlags::RDONLY) {
        return Ok(Err(Sealed::ReadOnlyInstall));
    }
    let tree = match rustix::mount::open_tree(
        rustix::fs::CWD,
        "/proc/self/exe",
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    ) {
        Ok(t) => t,
        Err(rustix::io::Errno::PERM) => return Ok(Err(Sealed::Unprivileged)),
        Err(e) => return Err(context("open_tree /proc/self/exe", e.into())),
    };
    crate::mount::mount_setattr(tree.as_fd(), false, crate::mount::MOUNT_ATTR_RDONLY, 0, 0)
        .map_err(|e| context("make the bind of /proc/self/exe read-only", e))?;
    Ok(Ok(tree))
}

fn context(what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("seal the running binary: {what}: {e}"))
}

/// Executes the program again from the read-only bind `tree`, with this process's arguments and environment.
fn reexec_through(tree: BorrowedFd<'_>) -> io::Error {
    let args: Vec<OsString> = std::env::args_os().collect();
    let env: Vec<OsString> = std::env::vars_os()
        .map(|(mut k, v)| {
            k.push("=");
            k.push(v);
            k
        })
        .collect();
    let (argv, envp) = match (to_c(args), to_c(env)) {
        (Ok(a), Ok(e)) => (a, e),
        _ => {
            return io::Error::new(
                io::ErrorKind::InvalidInput,
                "seal the running binary: an argument or variable holds a NUL byte",
            )
        }
    };
    context(
        "re-execute through the read-only bind",
        crate::exec::execveat_fd(tree, &argv, &envp),
    )
}

fn to_c(items: Vec<OsString>) -> Result<crate::exec::CStringArray, std::ffi::NulError> {
    let owned: Vec<CString> = items
        .into_iter()
        .map(|s| CString::new(s.into_vec()))
        .collect::<Result<_, _>>()?;
    Ok(crate::exec::CStringArray::from_cstrings(owned))
}

/// Maps every segment of the running program from `tree` (a read-only bind of the executable) in place of the
/// original mappings, then makes `tree`'s file the process's executable.
fn remap_onto(tree: BorrowedFd<'_>) -> io::Result<()> {
    let file = rustix::fs::open(
        format!("/proc/self/fd/{}", tree.as_raw_fd()),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let stat = read_small("/proc/self/stat")?;
    let fields = StatFields::parse(&stat)?;
    if fields.threads != 1 {
        return Err(io::Error::new(
            io::ErrorKind::ResourceBusy,
            format!("{} threads alive", fields.threads),
        ));
    }
    let st = rustix::fs::fstat(&file)?;
    let maps = read_small("/proc/self/maps")?;
    let writable = writable_segments()?;
    let segments: Vec<Segment> = maps
        .split(|&b| b == b'\n')
        .filter_map(Segment::parse)
        .filter(|s| {
            s.ino == st.st_ino
                && s.dev == (rustix::fs::major(st.st_dev), rustix::fs::minor(st.st_dev))
        })
        .collect();
    if segments.is_empty() {
        return Err(io::Error::other("no mapping of the executable found"));
    }
    // From here to the last remap nothing may allocate or write static data: the copies of the writable segments
    // are taken one at a time right before each replaces its original.
    for s in &segments {
        let copy = writable.iter().any(|&(a, b)| s.start < b && a < s.end);
        remap(s, file.as_fd(), copy)?;
    }
    set_exe(&fields, file.as_fd())
}

/// One line of `/proc/self/maps` that maps a file.
#[derive(Debug, PartialEq, Eq)]
struct Segment {
    start: usize,
    end: usize,
    prot: libc::c_int,
    offset: u64,
    dev: (u32, u32),
    ino: u64,
}

impl Segment {
    /// Parses `start-end perms offset maj:min inode [path]`.
    fn parse(line: &[u8]) -> Option<Segment> {
        let line = std::str::from_utf8(line).ok()?;
        let mut f = line.split_ascii_whitespace();
        let (start, end) = f.next()?.split_once('-')?;
        let perms = f.next()?.as_bytes();
        let offset = u64::from_str_radix(f.next()?, 16).ok()?;
        let (maj, min) = f.next()?.split_once(':')?;
        let ino: u64 = f.next()?.parse().ok()?;
        if perms.len() < 4 || ino == 0 {
            return None;
        }
        let mut prot = 0;
        for (i, bit) in [libc::PROT_READ, libc::PROT_WRITE, libc::PROT_EXEC]
            .into_iter()
            .enumerate()
        {
            if perms[i] != b'-' {
                prot |= bit;
            }
        }
        Some(Segment {
            start: usize::from_str_radix(start, 16).ok()?,
            end: usize::from_str_radix(end, 16).ok()?,
            prot,
            offset,
            dev: (
                u32::from_str_radix(maj, 16).ok()?,
                u32::from_str_radix(min, 16).ok()?,
            ),
            ino,
        })
    }
}

/// `PF_W` of `<elf.h>`: a writable segment.
const PF_W: u32 = 2;

/// The address ranges of the program's writable `PT_LOAD` segments (data, and the RELRO part made read-only after
/// relocation), whose pages may differ from the file's.
fn writable_segments() -> io::Result<Vec<(usize, usize)>> {
    // SAFETY: getauxval reads the auxiliary vector the kernel gave this process; it has no preconditions.
    let (phdr, phnum) = unsafe {
        (
            libc::getauxval(libc::AT_PHDR),
            libc::getauxval(libc::AT_PHNUM),
        )
    };
    if phdr == 0 || phnum == 0 {
        return Err(io::Error::other(
            "no program headers in the auxiliary vector",
        ));
    }
    // SAFETY: AT_PHDR/AT_PHNUM describe this program's own program header table, mapped (read-only) for the whole
    // life of the process; Elf64_Phdr is plain data.
    let headers =
        unsafe { std::slice::from_raw_parts(phdr as *const libc::Elf64_Phdr, phnum as usize) };
    let bias = headers
        .iter()
        .find(|h| h.p_type == libc::PT_PHDR)
        .map(|h| phdr as usize - h.p_vaddr as usize)
        .ok_or_else(|| io::Error::other("no PT_PHDR program header"))?;
    Ok(headers
        .iter()
        .filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & PF_W != 0)
        .map(|h| {
            (
                bias + h.p_vaddr as usize,
                bias + (h.p_vaddr + h.p_memsz) as usize,
            )
        })
        .collect())
}

/// Replaces the mapping `s` by the same bytes at the same address with the same protection (`mmap` elsewhere,
/// fill, `mremap` over the original: the range is never left unmapped, so this is safe even for the code that is
/// running). Unwritten segments are mapped from `file`; with `copy` (data, relocated RELRO: pages the process
/// wrote) the bytes are copied into anonymous memory instead, allocated in one go (`MAP_POPULATE`) rather than
/// by a fault per page, so that segment no longer names any file at all.
fn remap(s: &Segment, file: BorrowedFd<'_>, copy: bool) -> io::Result<()> {
    let len = s.end - s.start;
    // SAFETY: a fresh private mapping (of `file`, or anonymous) at an address the kernel picks; it overlaps
    // nothing of ours.
    let tmp = unsafe {
        if copy {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        } else {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                s.prot,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                s.offset as libc::off_t,
            )
        }
    };
    if tmp == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    if copy {
        // SAFETY: `s.start..s.end` is a readable mapping of this process (from /proc/self/maps, single-threaded, not
        // unmapped since); `tmp` is a fresh writable mapping of the same length; they do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(s.start as *const u8, tmp as *mut u8, len) };
        // SAFETY: `tmp..tmp+len` is the mapping made above.
        if unsafe { libc::mprotect(tmp, len, s.prot) } != 0 {
            let e = io::Error::last_os_error();
            // SAFETY: unmapping only the mapping made above.
            unsafe { libc::munmap(tmp, len) };
            return Err(e);
        }
    }
    // SAFETY: moves the mapping made above onto `s.start..s.end`, which holds the same bytes (the same file pages,
    // or the copy just taken with nothing written in between), so code and data at those addresses read the same
    // before and after; MREMAP_FIXED replaces the old mapping in one step.
    let moved = unsafe {
        libc::mremap(
            tmp,
            len,
            len,
            libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
            s.start as *mut libc::c_void,
        )
    };
    if moved == libc::MAP_FAILED {
        let e = io::Error::last_os_error();
        // SAFETY: the move failed, so the mapping made above is still at `tmp`; unmap only it.
        unsafe { libc::munmap(tmp, len) };
        return Err(e);
    }
    Ok(())
}

/// The fields of `/proc/self/stat` that `PR_SET_MM_MAP` needs to leave unchanged, and the thread count.
#[derive(Debug, Default, PartialEq, Eq)]
struct StatFields {
    threads: u64,
    start_code: u64,
    end_code: u64,
    start_stack: u64,
    start_data: u64,
    end_data: u64,
    start_brk: u64,
    arg_start: u64,
    arg_end: u64,
    env_start: u64,
    env_end: u64,
}

impl StatFields {
    /// Parses `/proc/PID/stat` (fields counted from 1 as in proc(5); the command name may hold spaces and
    /// parentheses, so counting starts after its last `)`).
    fn parse(stat: &[u8]) -> io::Result<StatFields> {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/self/stat");
        let close = stat.iter().rposition(|&b| b == b')').ok_or_else(bad)?;
        let rest = std::str::from_utf8(&stat[close + 1..]).map_err(|_| bad())?;
        let mut v = [0u64; 53];
        // The first field after the name is field 3 (state), which is not a number.
        for (i, w) in rest.split_ascii_whitespace().enumerate().skip(1).take(49) {
            // Some fields (tpgid, priority, nice) can be negative, rsslim is u64::MAX: none of those is read here.
            v[i + 3] = w
                .parse::<u64>()
                .or_else(|_| w.parse::<i64>().map(|n| n as u64))
                .map_err(|_| bad())?;
        }
        if v[51] == 0 {
            return Err(bad());
        }
        Ok(StatFields {
            threads: v[20],
            start_code: v[26],
            end_code: v[27],
            start_stack: v[28],
            start_data: v[45],
            end_data: v[46],
            start_brk: v[47],
            arg_start: v[48],
            arg_end: v[49],
            env_start: v[50],
            env_end: v[51],
        })
    }
}

/// `struct prctl_mm_map` of `<linux/prctl.h>`.
#[repr(C)]
struct PrctlMmMap {
    start_code: u64,
    end_code: u64,
    start_data: u64,
    end_data: u64,
    start_brk: u64,
    brk: u64,
    start_stack: u64,
    arg_start: u64,
    arg_end: u64,
    env_start: u64,
    env_end: u64,
    auxv: u64,
    auxv_size: u32,
    exe_fd: u32,
}

/// Makes `file` the process's executable with `PR_SET_MM_MAP` (needs `CAP_SYS_ADMIN` or `CAP_CHECKPOINT_RESTORE`),
/// every other field given its current value.
fn set_exe(f: &StatFields, file: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: brk(0) changes nothing and returns the current program break.
    let brk = unsafe { libc::syscall(libc::SYS_brk, 0) } as u64;
    let map = PrctlMmMap {
        start_code: f.start_code,
        end_code: f.end_code,
        start_data: f.start_data,
        end_data: f.end_data,
        start_brk: f.start_brk,
        brk,
        start_stack: f.start_stack,
        arg_start: f.arg_start,
        arg_end: f.arg_end,
        env_start: f.env_start,
        env_end: f.env_end,
        auxv: 0,
        auxv_size: 0,
        exe_fd: file.as_raw_fd() as u32,
    };
    // SAFETY: `map` is a valid prctl_mm_map of the size passed and outlives the call; `file` is open.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_MM,
            libc::PR_SET_MM_MAP,
            &map as *const PrctlMmMap,
            std::mem::size_of::<PrctlMmMap>(),
            0,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads a small procfs file whole.
fn read_small(path: &str) -> io::Result<Vec<u8>> {
    let fd: OwnedFd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut buf = Vec::with_capacity(4096);
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(4096);
        }
        let n = rustix::io::read(&fd, buf.spare_capacity_mut())?.0.len();
        if n == 0 {
            return Ok(buf);
        }
        // SAFETY: `read` initialised the next `n` bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines_parse() {
        let s =
            Segment::parse(b"55d0c0a00000-55d0c0b00000 r-xp 00152000 fd:01 1234567  /usr/bin/x")
                .unwrap();
        assert_eq!(
            s,
            Segment {
                start: 0x55d0c0a00000,
                end: 0x55d0c0b00000,
                prot: libc::PROT_READ | libc::PROT_EXEC,
                offset: 0x152000,
                dev: (0xfd, 1),
                ino: 1234567
            }
        );
        assert!(Segment::parse(b"7ffd1000-7ffd2000 rw-p 00000000 00:00 0  [stack]").is_none());
        assert!(Segment::parse(b"garbage").is_none());
    }

    #[test]
    fn stat_fields_parse_after_a_name_with_parentheses() {
        // Fields 4..=52 (proc(5) numbering) hold their number times ten, except a few real-life oddities.
        let mut line = String::from("42 (a) b) S");
        for i in 4..=52u64 {
            let v = match i {
                8 | 19 => "-1".to_string(),
                20 => "1".to_string(),
                25 => u64::MAX.to_string(),
                _ => (i * 10).to_string(),
            };
            line.push(' ');
            line.push_str(&v);
        }
        let f = StatFields::parse(line.as_bytes()).unwrap();
        assert_eq!(f.threads, 1);
        assert_eq!(f.start_code, 260);
        assert_eq!(f.env_end, 510);
        assert!(StatFields::parse(b"42 (x) S 1 2").is_err());
    }

    #[test]
    fn this_process_has_a_phdr_and_writable_segments() {
        assert!(!writable_segments().unwrap().is_empty());
        let f = StatFields::parse(&read_small("/proc/self/stat").unwrap()).unwrap();
        assert!(f.start_code < f.end_code && f.arg_start <= f.arg_end);
    }
}
