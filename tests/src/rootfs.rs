//! A minimal busybox-static root filesystem for test bundles.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// Host path of the static busybox copied into every rootfs (Debian's busybox-static).
pub const BUSYBOX: &str = "/bin/busybox";

/// UID/GID of the unprivileged user in the test rootfs's /etc/passwd.
pub const TEST_USER_ID: u32 = 1000;

fn applets() -> &'static [String] {
    static LIST: OnceLock<Vec<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        let out = Command::new(BUSYBOX)
            .arg("--list")
            .output()
            .unwrap_or_else(|e| {
                panic!("{BUSYBOX} is needed for test rootfs (apt-get install busybox-static): {e}")
            });
        let list: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty() && !l.contains('/'))
            .collect();
        assert!(list.contains(&"sh".to_string()), "busybox has no sh applet");
        list
    })
}

/// Fills `root` with a busybox rootfs: /bin/busybox plus applet symlinks, the usual
/// mount-point directories, and /etc/passwd and /etc/group with root and `user` (uid 1000).
pub fn build(root: &Path) {
    for d in [
        "bin",
        "proc",
        "sys",
        "dev",
        "tmp",
        "etc",
        "root",
        "home/user",
        "run",
        "mnt",
    ] {
        std::fs::create_dir_all(root.join(d)).expect("creating rootfs dir");
    }
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))
        .expect("chmod rootfs /tmp");
    let bb = root.join("bin/busybox");
    std::fs::copy(BUSYBOX, &bb).expect("copying busybox into rootfs");
    for a in applets() {
        if a != "busybox" {
            symlink("busybox", root.join("bin").join(a)).expect("applet symlink");
        }
    }
    // Some tools expect /usr/bin and /sbin; point them at /bin.
    symlink("bin", root.join("sbin")).expect("sbin symlink");
    std::fs::create_dir_all(root.join("usr")).expect("creating /usr");
    symlink("../bin", root.join("usr/bin")).expect("usr/bin symlink");
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:test user:/home/user:/bin/sh\n",
    )
    .expect("writing /etc/passwd");
    std::fs::write(
        root.join("etc/group"),
        "root:x:0:\nuser:x:1000:\nextra:x:2000:user\n",
    )
    .expect("writing /etc/group");
    std::os::unix::fs::chown(root.join("home/user"), Some(1000), Some(1000))
        .expect("chown /home/user");
}
