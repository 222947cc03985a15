//! Rootless unpacking for real: the test re-runs itself as `nobody` (via setpriv) and unpacks
//! the testbed `layers` image into rootless overlay snapshots and a flat tree.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use gantry_image::layout::ImportOptions;
use gantry_image::{Store, StoreOptions, UnpackOptions, WhiteoutMode};

#[test]
fn unpack_as_an_unprivileged_user() {
    let imgs = common::images_dir();
    common::require_root("to drop to nobody");
    assert!(
        std::path::Path::new("/usr/bin/setpriv").exists(),
        "this test needs /usr/bin/setpriv: apt-get install util-linux"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = std::process::Command::new("/usr/bin/setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "rootless_inner",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GANTRY_ROOTLESS_DIR", dir.path())
        .env("GANTRY_TEST_IMAGES", &imgs)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("1 passed"),
        "inner test as nobody failed:\n{text}"
    );
}

/// Runs only when started by `unpack_as_an_unprivileged_user`.
#[test]
#[ignore = "started as nobody by unpack_as_an_unprivileged_user"]
fn rootless_inner() {
    let base = std::env::var_os("GANTRY_ROOTLESS_DIR")
        .expect("GANTRY_ROOTLESS_DIR unset: this test is started by unpack_as_an_unprivileged_user; run that one");
    assert!(!common::is_root(), "must run unprivileged");
    let base = std::path::PathBuf::from(base);
    let imgs = common::images_dir();
    let s = Store::open_with(
        base.join("store"),
        StoreOptions {
            gc_grace: std::time::Duration::ZERO,
        },
    )
    .unwrap();
    s.import_oci_layout(
        &imgs.join("oci"),
        &ImportOptions {
            refs: Some(vec!["layers".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    let opts = UnpackOptions::default();
    assert_eq!(opts.whiteouts, WhiteoutMode::OverlayUserXattr);
    assert!(!opts.preserve_ownership);
    let snaps = s.prepare_snapshots("layers", &opts).unwrap();
    let top = &snaps[2];
    let wh = std::fs::symlink_metadata(top.join("data/gone")).unwrap();
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "whiteout device"
    );
    assert!(std::fs::symlink_metadata(top.join("delme"))
        .unwrap()
        .file_type()
        .is_char_device());
    let mut buf = [0u8; 4];
    let n = rustix::fs::getxattr(top.join("opaque"), "user.overlay.opaque", &mut buf).unwrap();
    assert_eq!(&buf[..n], b"y");
    // Flat: same tree as umoci's, minus ownership (everything is ours).
    let flat = base.join("flat");
    std::fs::create_dir(&flat).unwrap();
    s.flatten("layers", &flat, &opts).unwrap();
    let strip = |l: &str| {
        let (head, rest) = l.split_once(" links=").unwrap();
        let mut parts: Vec<&str> = head.rsplitn(2, ' ').collect();
        parts.reverse();
        let _owner = parts.pop();
        format!(
            "{} {}",
            parts.join(" "),
            rest.split_once(" size=")
                .map(|(links, _)| links)
                .unwrap_or(rest)
        )
    };
    let got: Vec<String> = common::listing(&flat, true)
        .iter()
        .map(|l| strip(l))
        .collect();
    let want: Vec<String> = std::fs::read_to_string(imgs.join("expected/layers.txt"))
        .unwrap()
        .lines()
        .map(strip)
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        std::fs::metadata(flat.join("data/file1")).unwrap().mode() & 0o7777,
        0o4755
    );
}
