//! Per-process execution attributes rustix does not wrap: `personality(2)`, `ioprio_set(2)`, `sched_setattr(2)`
//! and `set_mempolicy(2)`. Each acts on the calling thread (the container's single-threaded init or exec child).

use std::io;

/// `PER_LINUX`.
pub const PER_LINUX: u64 = 0x0000;
/// `PER_LINUX32`.
pub const PER_LINUX32: u64 = 0x0008;
/// `ADDR_NO_RANDOMIZE`.
pub const ADDR_NO_RANDOMIZE: u64 = 0x0004_0000;
/// `ADDR_COMPAT_LAYOUT`.
pub const ADDR_COMPAT_LAYOUT: u64 = 0x0020_0000;
/// `READ_IMPLIES_EXEC`.
pub const READ_IMPLIES_EXEC: u64 = 0x0040_0000;
/// `ADDR_LIMIT_32BIT`.
pub const ADDR_LIMIT_32BIT: u64 = 0x0080_0000;
/// `SHORT_INODE`.
pub const SHORT_INODE: u64 = 0x0100_0000;
/// `WHOLE_SECONDS`.
pub const WHOLE_SECONDS: u64 = 0x0200_0000;
/// `STICKY_TIMEOUTS`.
pub const STICKY_TIMEOUTS: u64 = 0x0400_0000;
/// `ADDR_LIMIT_3GB`.
pub const ADDR_LIMIT_3GB: u64 = 0x0800_0000;
/// `FDPIC_FUNCPTRS`.
pub const FDPIC_FUNCPTRS: u64 = 0x0008_0000;
/// `MMAP_PAGE_ZERO`.
pub const MMAP_PAGE_ZERO: u64 = 0x0010_0000;
/// `UNAME26`.
pub const UNAME26: u64 = 0x0002_0000;

/// Sets the calling process's execution domain and flags (`personality(2)`).
pub fn set_personality(persona: u64) -> io::Result<()> {
    // SAFETY: personality takes an integer and touches no memory of ours.
    let ret = unsafe { libc::personality(persona as libc::c_ulong) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `IOPRIO_CLASS_RT`.
pub const IOPRIO_CLASS_RT: u32 = 1;
/// `IOPRIO_CLASS_BE`.
pub const IOPRIO_CLASS_BE: u32 = 2;
/// `IOPRIO_CLASS_IDLE`.
pub const IOPRIO_CLASS_IDLE: u32 = 3;
const IOPRIO_CLASS_SHIFT: u32 = 13;
const IOPRIO_WHO_PROCESS: libc::c_int = 1;

/// Sets the calling process's I/O scheduling class and priority (`ioprio_set(IOPRIO_WHO_PROCESS, 0, ...)`).
pub fn ioprio_set_self(class: u32, priority: u32) -> io::Result<()> {
    let value = (class << IOPRIO_CLASS_SHIFT) | (priority & 0x1fff);
    // SAFETY: ioprio_set takes three integers and touches no memory of ours.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            value as libc::c_int,
        )
    };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `struct sched_attr` (SCHED_ATTR_SIZE_VER1, with the utilisation clamps).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SchedAttr {
    /// Size of this structure (set by [`sched_setattr_self`]).
    pub size: u32,
    /// `SCHED_*` policy.
    pub policy: u32,
    /// `SCHED_FLAG_*`.
    pub flags: u64,
    /// Nice value (SCHED_OTHER, SCHED_BATCH).
    pub nice: i32,
    /// Static priority (SCHED_FIFO, SCHED_RR).
    pub priority: u32,
    /// SCHED_DEADLINE runtime, ns.
    pub runtime: u64,
    /// SCHED_DEADLINE deadline, ns.
    pub deadline: u64,
    /// SCHED_DEADLINE period, ns.
    pub period: u64,
    /// Utilisation clamp minimum.
    pub util_min: u32,
    /// Utilisation clamp maximum.
    pub util_max: u32,
}

/// Sets the calling thread's scheduling policy and attributes (`sched_setattr(0, attr, 0)`).
pub fn sched_setattr_self(attr: &SchedAttr) -> io::Result<()> {
    let mut a = *attr;
    a.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: `a` is a fully initialised sched_attr whose size field matches its layout; the kernel only reads it.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &a as *const SchedAttr, 0) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the calling thread's NUMA memory policy: `mode` (`MPOL_*` with `MPOL_F_*` flags or-ed in) over the node
/// bitmask `nodes` (bit n of word n/64 is node n; empty for policies without nodes).
pub fn set_mempolicy(mode: i32, nodes: &[u64]) -> io::Result<()> {
    let (ptr, maxnode) = if nodes.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // maxnode counts bits; the kernel ignores the last one (historic off-by-one), so pass one more.
        (nodes.as_ptr(), nodes.len() as libc::c_ulong * 64 + 1)
    };
    // SAFETY: `ptr` is null or points to `nodes`, which holds at least maxnode-1 bits and outlives the call.
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sched_attr_has_the_kernels_ver1_size() {
        // SCHED_ATTR_SIZE_VER1: the layout the kernel reads, util clamps included.
        assert_eq!(std::mem::size_of::<SchedAttr>(), 56);
    }

    #[test]
    fn io_priority_of_this_process_can_be_set_to_its_default() {
        // Best effort, priority 4: what a process without an explicit priority gets (nice 0).
        ioprio_set_self(IOPRIO_CLASS_BE, 4).unwrap();
    }
}
