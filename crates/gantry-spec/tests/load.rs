//! `Bundle::load` on real directories: one-line errors naming the field.

use std::fs;
use std::path::Path;

use gantry_spec::{Bundle, Problem, SpecError};

const MINIMAL: &str = r#"{
  "ociVersion": "1.2.0",
  "root": {"path": "rootfs"},
  "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0}},
  "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]}
}"#;

fn bundle(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("rootfs")).unwrap();
    fs::write(dir.path().join("config.json"), config).unwrap();
    dir
}

fn load_err(config: &str) -> SpecError {
    let dir = bundle(config);
    let err = Bundle::load(dir.path()).unwrap_err();
    assert!(!err.to_string().contains('\n'), "multi-line error: {err}");
    err
}

#[test]
fn loads_minimal_bundle() {
    let dir = bundle(MINIMAL);
    let b = Bundle::load(dir.path()).unwrap();
    assert!(b.dir.is_absolute());
    assert_eq!(b.rootfs, dir.path().join("rootfs"));
    assert_eq!(b.spec.version(), "1.2.0");
}

#[test]
fn relative_bundle_dir_is_made_absolute() {
    let dir = bundle(MINIMAL);
    let parent = dir.path().parent().unwrap();
    let name = dir.path().file_name().unwrap();
    // No chdir (process-global): build a relative path from the cwd instead.
    let cwd = std::env::current_dir().unwrap();
    let rel = pathdiff(parent, &cwd).join(name);
    let b = Bundle::load(&rel).unwrap();
    assert!(b.dir.is_absolute() && b.rootfs.is_absolute());
}

fn pathdiff(target: &Path, from: &Path) -> std::path::PathBuf {
    let ups = from.components().count() - 1;
    let mut p = std::path::PathBuf::new();
    for _ in 0..ups {
        p.push("..");
    }
    p.join(target.strip_prefix("/").unwrap())
}

#[test]
fn missing_config_and_dir() {
    let dir = tempfile::tempdir().unwrap();
    let err = Bundle::load(dir.path()).unwrap_err();
    assert!(matches!(err, SpecError::ConfigMissing { .. }), "{err}");
    assert!(err.to_string().contains("config.json"));
    let err = Bundle::load(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, SpecError::BundleDir { .. }), "{err}");
}

#[test]
fn not_json_reports_position() {
    let err = load_err("{\n  \"ociVersion\": \"1.2.0\",\n  oops\n}");
    assert!(matches!(err, SpecError::Syntax { line: 3, .. }), "{err}");
    assert!(err.to_string().starts_with("config.json:3:"), "{err}");
    assert!(matches!(
        load_err("[1]"),
        SpecError::NotObject { found: "an array" }
    ));
}

#[test]
fn rootfs_problems() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("config.json"), MINIMAL).unwrap();
    let err = Bundle::load(dir.path()).unwrap_err();
    assert_eq!(err.field(), Some("root.path"));
    assert!(matches!(
        err,
        SpecError::Invalid {
            problem: Problem::RootfsMissing { .. },
            ..
        }
    ));
    fs::write(dir.path().join("rootfs"), "").unwrap();
    let err = Bundle::load(dir.path()).unwrap_err();
    assert!(matches!(
        err,
        SpecError::Invalid {
            problem: Problem::RootfsNotDirectory { .. },
            ..
        }
    ));

    let err = load_err(&MINIMAL.replace("\"rootfs\"", "\"../x\""));
    assert_eq!(
        err.to_string(),
        "root.path: \"../x\" resolves outside the bundle: use an absolute path, or a path inside the bundle directory"
    );
    let err = load_err(&MINIMAL.replace(r#""root": {"path": "rootfs"},"#, ""));
    assert_eq!(err.field(), Some("root"));
}

#[test]
fn absolute_rootfs_is_kept() {
    let dir = bundle(MINIMAL);
    let abs = dir.path().join("rootfs");
    let cfg = MINIMAL.replace("\"rootfs\"", &format!("{:?}", abs.to_str().unwrap()));
    fs::write(dir.path().join("config.json"), cfg).unwrap();
    assert_eq!(Bundle::load(dir.path()).unwrap().rootfs, abs);
}

#[test]
fn too_large_is_refused() {
    let dir = bundle(MINIMAL);
    let f = fs::File::create(dir.path().join("config.json")).unwrap();
    f.set_len(gantry_spec::MAX_CONFIG_SIZE + 1).unwrap();
    assert!(matches!(
        Bundle::load(dir.path()).unwrap_err(),
        SpecError::TooLarge { .. }
    ));
}

#[test]
fn fifo_config_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("config.json");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let err = Bundle::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
}
