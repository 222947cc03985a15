//! load/save of OCI archives and docker-save tarballs.

mod common;

use std::io::Write;

use common::{dir, file, symlink, tar_bytes};
use gantry_image::layout::ImportOptions;
use gantry_image::{Digest, Store, StoreOptions, UnpackOptions, WhiteoutMode};

fn store() -> (tempfile::TempDir, Store) {
    let d = tempfile::tempdir().unwrap();
    let s = Store::open_with(
        d.path().join("store"),
        StoreOptions {
            gc_grace: std::time::Duration::ZERO,
        },
    )
    .unwrap();
    (d, s)
}

fn flat() -> UnpackOptions {
    UnpackOptions {
        whiteouts: WhiteoutMode::Flat,
        ..Default::default()
    }
}

fn member(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_ustar();
    h.set_path(name).unwrap();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// A `docker save` tarball in the legacy layout, with a duplicated layer stored as a symlink.
fn docker_save_tar() -> Vec<u8> {
    let l1 = tar_bytes(&[dir(b"etc/"), file(b"etc/hello", b"hi\n")]);
    let l2 = tar_bytes(&[file(b"etc/.wh.hello", b""), symlink(b"link", b"/etc")]);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["/bin/true"]}},"rootfs":{{"type":"layers","diff_ids":["{}","{}","{}"]}}}}"#,
        Digest::sha256_of(&l1),
        Digest::sha256_of(&l2),
        Digest::sha256_of(&l1)
    );
    let cfg_hex = Digest::sha256_of(config.as_bytes()).hex().to_owned();
    let mut b = tar::Builder::new(Vec::new());
    member(&mut b, &format!("{cfg_hex}.json"), config.as_bytes());
    member(&mut b, "aaa/layer.tar", &l1);
    member(&mut b, "bbb/layer.tar", &l2);
    let mut h = tar::Header::new_ustar();
    h.set_path("ccc/layer.tar").unwrap();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_link_name("../aaa/layer.tar").unwrap();
    h.set_size(0);
    h.set_cksum();
    b.append(&h, &b""[..]).unwrap();
    let manifest = format!(
        r#"[{{"Config":"{cfg_hex}.json","RepoTags":["example.com/app:v1"],"Layers":["aaa/layer.tar","bbb/layer.tar","ccc/layer.tar"]}}]"#
    );
    member(&mut b, "manifest.json", manifest.as_bytes());
    b.into_inner().unwrap()
}

#[test]
fn docker_save_tarball_loads_and_roundtrips() {
    let (d, s) = store();
    let imgs = s
        .load(docker_save_tar().as_slice(), &ImportOptions::default())
        .unwrap();
    assert_eq!(imgs.len(), 1);
    assert_eq!(imgs[0].name, "example.com/app:v1");
    let out = d.path().join("flat");
    std::fs::create_dir(&out).unwrap();
    s.flatten("example.com/app:v1", &out, &flat()).unwrap();
    // Layer 3 (= layer 1 again) re-creates the file that layer 2 whited out.
    assert_eq!(std::fs::read(out.join("etc/hello")).unwrap(), b"hi\n");
    assert_eq!(
        std::fs::read_link(out.join("link"))
            .unwrap()
            .to_str()
            .unwrap(),
        "/etc"
    );
    assert_eq!(
        s.image_config("example.com/app:v1")
            .unwrap()
            .config()
            .clone()
            .unwrap()
            .cmd()
            .clone()
            .unwrap(),
        ["/bin/true"]
    );

    // save → gzip → load into another store gives the same manifest.
    let mut saved = Vec::new();
    s.save(&["example.com/app:v1"], &mut saved).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&saved).unwrap();
    let gz = gz.finish().unwrap();
    let (_d2, s2) = store();
    let again = s2.load(gz.as_slice(), &ImportOptions::default()).unwrap();
    assert_eq!(again[0].manifest, imgs[0].manifest);
    // The saved archive's manifest.json alone (docker load path) also works.
    let mut only_docker = tar::Builder::new(Vec::new());
    let mut ar = tar::Archive::new(saved.as_slice());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        if name == "index.json" || name == "oci-layout" {
            continue;
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        member(&mut only_docker, &name, &data);
    }
    let (_d3, s3) = store();
    let third = s3
        .load(
            only_docker.into_inner().unwrap().as_slice(),
            &ImportOptions::default(),
        )
        .unwrap();
    assert_eq!(third[0].name, "example.com/app:v1");
}

#[test]
fn tag_adds_a_name_that_outlives_the_source_name() {
    let (_d, s) = store();
    let imgs = s
        .load(docker_save_tar().as_slice(), &ImportOptions::default())
        .unwrap();
    let t = s
        .tag_image("example.com/app:v1", "example.com/app:v2")
        .unwrap();
    assert_eq!(
        (&t.target, &t.manifest),
        (&imgs[0].target, &imgs[0].manifest)
    );
    assert!(s.tag_image("example.com/nope:v1", "x:y").is_err());
    assert!(s.tag_image("example.com/app:v1", "bad name").is_err());
    s.remove_image("example.com/app:v1").unwrap();
    let report = s.gc().unwrap();
    assert!(report.blobs.is_empty(), "{report}");
    assert!(s.image_config("example.com/app:v2").is_ok());
}

#[test]
fn archive_member_escaping_is_refused() {
    let (_d, s) = store();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..12].copy_from_slice(b"../../x.json");
    h.set_size(2);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, &b"{}"[..]).unwrap();
    let e = s
        .load(
            b.into_inner().unwrap().as_slice(),
            &ImportOptions::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("escapes"), "{e}");
}

#[test]
fn testbed_oci_archives_load() {
    let imgs = common::images_dir();
    let (d, s) = store();
    for tag in ["busybox", "layers", "pause"] {
        let f = std::fs::File::open(imgs.join(format!("archives/{tag}.oci.tar"))).unwrap();
        let got = s.load(f, &ImportOptions::default()).unwrap();
        assert_eq!(got[0].name, format!("localhost/testbed/{tag}:latest"));
    }
    let cfg = s.image_config("localhost/testbed/pause:latest").unwrap();
    assert_eq!(
        cfg.config().clone().unwrap().entrypoint().clone().unwrap(),
        ["/catatonit", "-P"]
    );
    let f = std::fs::File::open(imgs.join("archives/multiarch.oci.tar")).unwrap();
    let opts = ImportOptions {
        platform: gantry_image::Platform::parse("linux/arm64").unwrap(),
        ..Default::default()
    };
    s.load(f, &opts).unwrap();
    let out = d.path().join("m");
    std::fs::create_dir(&out).unwrap();
    s.flatten("localhost/testbed/multiarch:latest", &out, &flat())
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("etc/platform")).unwrap(),
        "linux/arm64\n"
    );
    let rc = gantry_image::bundle::run_config(
        &s.image_config("localhost/testbed/multiarch:latest")
            .unwrap(),
        &Default::default(),
        &out,
    )
    .unwrap();
    assert_eq!(
        rc.process.args().clone().unwrap(),
        ["/bin/cat", "/etc/platform"]
    );
}
