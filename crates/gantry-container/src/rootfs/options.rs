//! Mount options (config.md "Mounts", runc's option table) parsed into `mount(2)` flags and data. Pure.

/// What one mount entry's `options` mean.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// `MS_*` flags to set.
    pub flags: u64,
    /// `MS_*` flags explicitly cleared (e.g. `rw`, `suid`): used when remounting a bind mount.
    pub cleared: u64,
    /// Propagation flags (`MS_SHARED`/`MS_SLAVE`/`MS_PRIVATE`/`MS_UNBINDABLE`, maybe with `MS_REC`).
    pub propagation: Vec<u64>,
    /// `MOUNT_ATTR_*` flags to set recursively (`rro`, `rnosuid`, ...).
    pub rec_set: u64,
    /// `MOUNT_ATTR_*` flags to clear recursively (`rrw`, `rsuid`, ...).
    pub rec_clear: u64,
    /// Filesystem-specific options, comma-joined (e.g. `size=65536k,mode=755`).
    pub data: String,
    /// A bind mount (`bind` or `rbind`).
    pub bind: bool,
    /// A recursive bind mount (`rbind`).
    pub recursive: bool,
    /// `idmap`/`ridmap`: an id-mapped mount (issue #3).
    pub idmap: bool,
    /// `tmpcopyup`: copy the image's content into a new tmpfs.
    pub tmpcopyup: bool,
}

impl MountOptions {
    /// Parses `options`; unknown words become filesystem data, as in runc.
    pub fn parse<S: AsRef<str>>(options: &[S]) -> MountOptions {
        use gantry_sys::mount::*;
        let mut o = MountOptions::default();
        for opt in options {
            let opt = opt.as_ref();
            let set = |o: &mut MountOptions, f: libc::c_ulong| {
                o.flags |= f;
                o.cleared &= !f;
            };
            let clear = |o: &mut MountOptions, f: libc::c_ulong| {
                o.flags &= !f;
                o.cleared |= f;
            };
            match opt {
                "ro" => set(&mut o, libc::MS_RDONLY),
                "rw" => clear(&mut o, libc::MS_RDONLY),
                "nosuid" => set(&mut o, libc::MS_NOSUID),
                "suid" => clear(&mut o, libc::MS_NOSUID),
                "nodev" => set(&mut o, libc::MS_NODEV),
                "dev" => clear(&mut o, libc::MS_NODEV),
                "noexec" => set(&mut o, libc::MS_NOEXEC),
                "exec" => clear(&mut o, libc::MS_NOEXEC),
                "sync" => set(&mut o, libc::MS_SYNCHRONOUS),
                "async" => clear(&mut o, libc::MS_SYNCHRONOUS),
                "dirsync" => set(&mut o, libc::MS_DIRSYNC),
                "remount" => set(&mut o, libc::MS_REMOUNT),
                "mand" => set(&mut o, libc::MS_MANDLOCK),
                "nomand" => clear(&mut o, libc::MS_MANDLOCK),
                "atime" => clear(&mut o, libc::MS_NOATIME),
                "noatime" => set(&mut o, libc::MS_NOATIME),
                "diratime" => clear(&mut o, libc::MS_NODIRATIME),
                "nodiratime" => set(&mut o, libc::MS_NODIRATIME),
                "relatime" => set(&mut o, libc::MS_RELATIME),
                "norelatime" => clear(&mut o, libc::MS_RELATIME),
                "strictatime" => set(&mut o, libc::MS_STRICTATIME),
                "nostrictatime" => clear(&mut o, libc::MS_STRICTATIME),
                "silent" => set(&mut o, libc::MS_SILENT),
                "loud" => clear(&mut o, libc::MS_SILENT),
                "defaults" => {}
                "bind" => o.bind = true,
                "rbind" => {
                    o.bind = true;
                    o.recursive = true;
                }
                "private" => o.propagation.push(libc::MS_PRIVATE),
                "rprivate" => o.propagation.push(libc::MS_PRIVATE | libc::MS_REC),
                "shared" => o.propagation.push(libc::MS_SHARED),
                "rshared" => o.propagation.push(libc::MS_SHARED | libc::MS_REC),
                "slave" => o.propagation.push(libc::MS_SLAVE),
                "rslave" => o.propagation.push(libc::MS_SLAVE | libc::MS_REC),
                "unbindable" => o.propagation.push(libc::MS_UNBINDABLE),
                "runbindable" => o.propagation.push(libc::MS_UNBINDABLE | libc::MS_REC),
                "rro" => o.rec_set |= MOUNT_ATTR_RDONLY,
                "rrw" => o.rec_clear |= MOUNT_ATTR_RDONLY,
                "rnosuid" => o.rec_set |= MOUNT_ATTR_NOSUID,
                "rsuid" => o.rec_clear |= MOUNT_ATTR_NOSUID,
                "rnodev" => o.rec_set |= MOUNT_ATTR_NODEV,
                "rdev" => o.rec_clear |= MOUNT_ATTR_NODEV,
                "rnoexec" => o.rec_set |= MOUNT_ATTR_NOEXEC,
                "rexec" => o.rec_clear |= MOUNT_ATTR_NOEXEC,
                "rnodiratime" => o.rec_set |= MOUNT_ATTR_NODIRATIME,
                "rdiratime" => o.rec_clear |= MOUNT_ATTR_NODIRATIME,
                "rnosymfollow" => o.rec_set |= MOUNT_ATTR_NOSYMFOLLOW,
                "rsymfollow" => o.rec_clear |= MOUNT_ATTR_NOSYMFOLLOW,
                // The access-time mode is one value: clearing the mask and setting the new value replaces it.
                "ratime" | "rrelatime" | "rnostrictatime" => o.rec_atime(MOUNT_ATTR_RELATIME),
                "rnoatime" => o.rec_atime(MOUNT_ATTR_NOATIME),
                "rstrictatime" | "rnorelatime" => o.rec_atime(MOUNT_ATTR_STRICTATIME),
                "nosymfollow" => set(&mut o, libc::MS_NOSYMFOLLOW),
                "symfollow" => clear(&mut o, libc::MS_NOSYMFOLLOW),
                "idmap" | "ridmap" => o.idmap = true,
                "tmpcopyup" => o.tmpcopyup = true,
                other => {
                    if !o.data.is_empty() {
                        o.data.push(',');
                    }
                    o.data.push_str(other);
                }
            }
        }
        o
    }

    /// Makes the recursive access-time mode `value` (`MOUNT_ATTR_RELATIME`, `_NOATIME` or `_STRICTATIME`).
    fn rec_atime(&mut self, value: u64) {
        use gantry_sys::mount::MOUNT_ATTR_ATIME_MASK;
        self.rec_set = (self.rec_set & !MOUNT_ATTR_ATIME_MASK) | value;
        self.rec_clear |= MOUNT_ATTR_ATIME_MASK;
    }

    /// Whether there are recursive attributes to apply with `mount_setattr(AT_RECURSIVE)`.
    pub fn has_recursive_attrs(&self) -> bool {
        self.rec_set | self.rec_clear != 0
    }

    /// The `MOUNT_ATTR_*` equivalent of the per-mount flags, for `mount_setattr` on a bind mount.
    pub fn attr_flags(&self) -> (u64, u64) {
        // Access-time words stay as they were for binds (flags of a mount locked in a user namespace cannot change).
        (attr_bits(self.flags), attr_bits(self.cleared))
    }
}

/// The `MOUNT_ATTR_*` bits of `MS_*` flags `f`.
fn attr_bits(f: u64) -> u64 {
    use gantry_sys::mount::*;
    [
        (libc::MS_RDONLY, MOUNT_ATTR_RDONLY),
        (libc::MS_NOSUID, MOUNT_ATTR_NOSUID),
        (libc::MS_NODEV, MOUNT_ATTR_NODEV),
        (libc::MS_NOEXEC, MOUNT_ATTR_NOEXEC),
        (libc::MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW),
    ]
    .iter()
    .filter(|(ms, _)| f & ms != 0)
    .fold(0, |a, (_, attr)| a | attr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_options() {
        let o = MountOptions::parse(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, (libc::MS_NOSUID | libc::MS_STRICTATIME));
        assert_eq!(o.data, "mode=755,size=65536k");
        assert!(!o.bind);
    }

    #[test]
    fn later_words_win() {
        let o = MountOptions::parse(&["ro", "rw"]);
        assert_eq!(o.flags & libc::MS_RDONLY, 0);
        assert_ne!(o.cleared & libc::MS_RDONLY, 0);
    }

    #[test]
    fn recursive_atime_and_symfollow_are_attributes_not_data() {
        use gantry_sys::mount::*;
        let o = MountOptions::parse(&[
            "rbind",
            "rstrictatime",
            "rnoatime",
            "rnodiratime",
            "rnosymfollow",
        ]);
        assert_eq!(o.data, "");
        assert_eq!(
            o.rec_set,
            MOUNT_ATTR_NOATIME | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW
        );
        assert_eq!(o.rec_clear, MOUNT_ATTR_ATIME_MASK);
        let o = MountOptions::parse(&["rnoatime", "ratime", "rdiratime", "rsymfollow"]);
        assert_eq!(o.rec_set, MOUNT_ATTR_RELATIME);
        assert_eq!(
            o.rec_clear,
            MOUNT_ATTR_ATIME_MASK | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW
        );
        let o = MountOptions::parse(&["bind", "nosymfollow"]);
        assert_eq!(o.data, "");
        assert_eq!(o.flags, libc::MS_NOSYMFOLLOW);
        assert_eq!(o.attr_flags(), (MOUNT_ATTR_NOSYMFOLLOW, 0));
    }

    #[test]
    fn bind_and_propagation() {
        let o = MountOptions::parse(&["rbind", "ro", "rslave", "rro"]);
        assert!(o.bind && o.recursive);
        assert_eq!(o.propagation, vec![(libc::MS_SLAVE | libc::MS_REC)]);
        assert_eq!(o.rec_set, gantry_sys::mount::MOUNT_ATTR_RDONLY);
        assert_eq!(o.attr_flags().0, gantry_sys::mount::MOUNT_ATTR_RDONLY);
    }
}
