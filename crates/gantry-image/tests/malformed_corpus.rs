//! The fuzz targets' entry points over hand-made malformed inputs, so CI exercises them:
//! every input must give Ok or a one-line Err, never a panic or a file outside the root.

mod common;

use gantry_image::manifest::{parse_document, select_platform, Document};
use gantry_image::unpack::{unpack_layer, LayerInfo, UnpackLimits, UnpackOptions, WhiteoutMode};
use gantry_image::{Digest, Platform};

fn documents() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        &b""[..],
        b"{",
        b"null",
        b"[]",
        b"{\"schemaVersion\":2}",
        b"{\"schemaVersion\":\"2\"}",
        b"{\"schemaVersion\":2,\"manifests\":null}",
        b"{\"schemaVersion\":2,\"manifests\":[{}]}",
        b"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:zz\",\"size\":-1}]}",
        b"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{},\"layers\":[]}",
        b"{\"schemaVersion\":2,\"mediaType\":\"text/html\",\"layers\":[]}",
        b"{\"schemaVersion\":18446744073709551617}",
        b"{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}",
        b"\xef\xbb\xbf{\"schemaVersion\":2}",
        b"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:../../x\"]}}",
        b"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"nope\",\"diff_ids\":[]}}",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    v.push(vec![b'['; 100_000]);
    let mut big = b"{\"schemaVersion\":2,\"x\":\"".to_vec();
    big.resize(5 << 20, b'a');
    big.extend_from_slice(b"\"}");
    v.push(big);
    let platforms = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":1,"platform":{"os":"","architecture":""}},
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":1}]}"#;
    v.push(platforms.to_vec());
    v
}

#[test]
fn malformed_documents_never_panic() {
    for d in documents() {
        for declared in [
            None,
            Some("application/vnd.oci.image.index.v1+json"),
            Some("application/vnd.docker.distribution.manifest.v2+json"),
        ] {
            match parse_document(&d, declared, "corpus") {
                Ok(Document::Index(idx)) => {
                    let _ = select_platform(&idx, &Platform::host(), "corpus");
                }
                Ok(Document::Manifest(_)) => {}
                Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
            }
        }
        if let Ok(cfg) = gantry_image::config::parse_image_config(&d, "corpus") {
            assert!(
                gantry_image::config::diff_ids(&cfg, "corpus").is_err()
                    || cfg.rootfs().diff_ids().is_empty()
            );
        }
    }
}

fn layers() -> Vec<Vec<u8>> {
    use common::{file, tar_bytes};
    let good = tar_bytes(&[file(b"a", b"hello")]);
    let mut v = vec![
        Vec::new(),
        vec![0u8; 512],
        vec![0xffu8; 1536],
        good[..700].to_vec(),
    ];
    // Bad checksum.
    let mut bad = good.clone();
    bad[150] ^= 0xff;
    v.push(bad);
    // Size field in base-256 claiming ~2^60 bytes.
    let mut huge = good.clone();
    huge[124] = 0x80;
    huge[125..136].fill(0x10);
    v.push(huge);
    // GNU long name claiming 1 GiB.
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    h.set_size(1 << 30);
    h.set_cksum();
    let mut ln = h.as_bytes().to_vec();
    ln.extend_from_slice(&[b'a'; 4096]);
    v.push(ln);
    // Malformed PAX record followed by a file.
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_path("pax").unwrap();
    let pax = b"99999 path=x\n";
    h.set_size(pax.len() as u64);
    h.set_cksum();
    let mut p = h.as_bytes().to_vec();
    p.extend_from_slice(pax);
    p.resize(1024, 0);
    p.extend_from_slice(&good);
    v.push(p);
    // A path 600 components deep.
    let deep = "d/".repeat(600) + "f";
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(0);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append_data(&mut h, &deep, &b""[..]).unwrap();
    v.push(b.into_inner().unwrap());
    // gzip / zstd magic followed by garbage.
    v.push(vec![0x1f, 0x8b, 8, 0, 1, 2, 3]);
    v.push(vec![0x28, 0xb5, 0x2f, 0xfd, 9, 9, 9, 9]);
    // A valid zstd layer.
    v.push(zstd::encode_all(good.as_slice(), 1).unwrap());
    v
}

#[test]
fn malformed_layers_never_panic_or_escape() {
    let base = tempfile::tempdir().unwrap();
    for (i, data) in layers().into_iter().enumerate() {
        for whiteouts in [WhiteoutMode::Flat, WhiteoutMode::Overlay] {
            let dest = base.path().join(format!("r{i}-{whiteouts:?}"));
            std::fs::create_dir(&dest).unwrap();
            let info = LayerInfo {
                digest: Digest::sha256_of(&data),
                media_type: "application/vnd.oci.image.layer.v1.tar".into(),
                diff_id: None,
            };
            let limits = UnpackLimits {
                max_total_bytes: 16 << 20,
                ..Default::default()
            };
            let opts = UnpackOptions {
                limits,
                whiteouts,
                preserve_ownership: false,
                create_devices: false,
            };
            match unpack_layer(data.as_slice(), &info, &dest, &opts) {
                Ok(_) => {}
                Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
            }
        }
    }
    let names = std::fs::read_dir(base.path()).unwrap().count();
    assert_eq!(names, layers().len() * 2);
}
