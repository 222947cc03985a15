//! eBPF program loading and cgroup attachment (for the cgroup v2 device controller).
//!
//! A thin wrapper over the `bpf(2)` commands a device filter needs: `BPF_PROG_LOAD` of a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program, `BPF_PROG_ATTACH`/`BPF_PROG_DETACH` on a cgroup directory,
//! `BPF_PROG_QUERY` and `BPF_PROG_GET_FD_BY_ID` (to replace a previously attached filter). Building the program is
//! the caller's business; only [`Insn`] is defined here.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `BPF_PROG_TYPE_CGROUP_DEVICE`.
pub const PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `BPF_CGROUP_DEVICE` attach type.
pub const ATTACH_CGROUP_DEVICE: u32 = 6;
/// `BPF_F_ALLOW_MULTI`: several programs may be attached to the same cgroup; all must allow.
pub const F_ALLOW_MULTI: u32 = 2;

const CMD_PROG_LOAD: libc::c_int = 5;
const CMD_PROG_ATTACH: libc::c_int = 8;
const CMD_PROG_DETACH: libc::c_int = 9;
const CMD_PROG_GET_FD_BY_ID: libc::c_int = 13;
const CMD_PROG_QUERY: libc::c_int = 16;
/// Size of the verifier log requested when a load fails.
const LOG_SIZE: usize = 64 * 1024;

/// One eBPF instruction (`struct bpf_insn`): opcode, destination and source registers, offset, immediate.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    /// Opcode (class | size/op | mode/source).
    pub code: u8,
    /// Destination register in the low nibble, source register in the high nibble.
    pub regs: u8,
    /// Signed offset (memory access or jump distance).
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

impl Insn {
    /// Builds an instruction from its fields.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }

    /// The destination register.
    pub const fn dst(&self) -> u8 {
        self.regs & 0x0f
    }

    /// The source register.
    pub const fn src(&self) -> u8 {
        self.regs >> 4
    }
}

/// A zeroed `union bpf_attr`, larger than any field this module sets (and than the kernel writes back), filled by
/// offset so no layout of the kernel union has to be mirrored.
#[repr(C, align(8))]
struct Attr([u8; 160]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 160])
    }

    fn u32_at(&mut self, offset: usize, value: u32) -> &mut Attr {
        self.0[offset..offset + 4].copy_from_slice(&value.to_ne_bytes());
        self
    }

    fn u64_at(&mut self, offset: usize, value: u64) -> &mut Attr {
        self.0[offset..offset + 8].copy_from_slice(&value.to_ne_bytes());
        self
    }

    fn read_u32(&self, offset: usize) -> u32 {
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(&self.0[offset..offset + 4]);
        u32::from_ne_bytes(bytes)
    }
}

/// Issues `bpf(cmd, attr, sizeof attr)`.
fn bpf(cmd: libc::c_int, attr: &mut Attr) -> io::Result<libc::c_long> {
    let size = std::mem::size_of::<Attr>() as libc::c_uint;
    // SAFETY: `attr` is a live, writable buffer of `size` bytes for the whole call; every pointer stored in it by the
    // callers of this function (instructions, license, log, id array) refers to memory borrowed by that caller for
    // at least as long as this call, and the kernel writes back only within the buffer or into those arrays within
    // the lengths given alongside them.
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut Attr, size) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned_fd(ret: libc::c_long) -> io::Result<OwnedFd> {
    let fd = libc::c_int::try_from(ret)
        .map_err(|_| io::Error::other("bpf returned an out-of-range fd"))?;
    // SAFETY: `fd` was just returned by a successful bpf() call that creates a new file descriptor (close-on-exec
    // by kernel default for BPF fds); nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Loads a `BPF_PROG_TYPE_CGROUP_DEVICE` program. On failure the load is retried once with a verifier log, whose
/// text is appended to the error.
pub fn prog_load_cgroup_device(insns: &[Insn], license: &CStr) -> io::Result<OwnedFd> {
    let count =
        u32::try_from(insns.len()).map_err(|_| io::Error::other("eBPF program too long"))?;
    let mut attr = Attr::new();
    attr.u32_at(0, PROG_TYPE_CGROUP_DEVICE)
        .u32_at(4, count)
        .u64_at(8, insns.as_ptr() as u64)
        .u64_at(16, license.as_ptr() as u64)
        .u32_at(68, ATTACH_CGROUP_DEVICE);
    attr.0[48..48 + 10].copy_from_slice(b"gantry_dev");
    match bpf(CMD_PROG_LOAD, &mut attr) {
        Ok(fd) => owned_fd(fd),
        Err(first) => {
            let mut log = vec![0u8; LOG_SIZE];
            attr.u32_at(24, 1)
                .u32_at(28, LOG_SIZE as u32)
                .u64_at(32, log.as_mut_ptr() as u64);
            match bpf(CMD_PROG_LOAD, &mut attr) {
                Ok(fd) => owned_fd(fd),
                Err(_) => {
                    let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
                    let text = String::from_utf8_lossy(&log[..end]);
                    let text = text.trim();
                    if text.is_empty() {
                        Err(first)
                    } else {
                        Err(io::Error::new(
                            first.kind(),
                            format!("{first}; verifier log: {text}"),
                        ))
                    }
                }
            }
        }
    }
}

/// Attaches program `prog` to the cgroup directory `cgroup` as `attach_type` with `flags`.
pub fn prog_attach(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> io::Result<()> {
    let mut attr = Attr::new();
    attr.u32_at(0, cgroup.as_raw_fd() as u32)
        .u32_at(4, prog.as_raw_fd() as u32)
        .u32_at(8, attach_type)
        .u32_at(12, flags);
    bpf(CMD_PROG_ATTACH, &mut attr).map(drop)
}

/// Detaches program `prog` of type `attach_type` from the cgroup directory `cgroup`.
pub fn prog_detach(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
) -> io::Result<()> {
    let mut attr = Attr::new();
    attr.u32_at(0, cgroup.as_raw_fd() as u32)
        .u32_at(4, prog.as_raw_fd() as u32)
        .u32_at(8, attach_type);
    bpf(CMD_PROG_DETACH, &mut attr).map(drop)
}

/// The ids of the programs of `attach_type` attached directly to `cgroup` (at most 64).
pub fn prog_query(cgroup: BorrowedFd<'_>, attach_type: u32) -> io::Result<Vec<u32>> {
    let mut ids = [0u32; 64];
    let mut attr = Attr::new();
    attr.u32_at(0, cgroup.as_raw_fd() as u32)
        .u32_at(4, attach_type)
        .u64_at(16, ids.as_mut_ptr() as u64)
        .u32_at(24, ids.len() as u32);
    bpf(CMD_PROG_QUERY, &mut attr)?;
    let count = (attr.read_u32(24) as usize).min(ids.len());
    Ok(ids[..count].to_vec())
}

/// Opens the loaded program with id `id`.
pub fn prog_get_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = Attr::new();
    attr.u32_at(0, id);
    owned_fd(bpf(CMD_PROG_GET_FD_BY_ID, &mut attr)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insn_layout_matches_the_kernel() {
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        let insn = Insn::new(0x61, 2, 1, 4, -1);
        assert_eq!((insn.dst(), insn.src(), insn.regs), (2, 1, 0x12));
    }

    #[test]
    fn attr_fields_land_at_their_offsets() {
        let mut attr = Attr::new();
        attr.u32_at(4, 7).u64_at(8, 0x0102_0304_0506_0708);
        assert_eq!(attr.read_u32(4), 7);
        assert_eq!(attr.0[8..16], 0x0102_0304_0506_0708u64.to_ne_bytes());
    }
}
