//! Crash safety of blob ingestion: an interrupted writer leaves only ingest state, resuming
//! completes, nothing is counted twice, concurrent writers of one blob are serialised.

use std::io::Write;

use gantry_image::{BlobSink, Digest, ImageError, Store, StoreOptions};

fn store(grace_secs: u64) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_with(
        dir.path().join("store"),
        StoreOptions {
            gc_grace: std::time::Duration::from_secs(grace_secs),
        },
    )
    .unwrap();
    (dir, s)
}

fn ingest_files(s: &Store) -> Vec<String> {
    std::fs::read_dir(s.root().join("ingest"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

#[test]
fn dropped_writer_resumes_and_commits_once() {
    let (_d, s) = store(3600);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let d = Digest::sha256_of(&data);
    {
        let mut w = s.begin_blob(&d, data.len() as u64).unwrap();
        assert_eq!(w.offset(), 0);
        w.write_all(&data[..123_457]).unwrap();
        // Dropped without commit: simulates a crash or a broken connection.
    }
    assert!(!s.has_blob(&d).unwrap());
    assert!(!s.blob_path(&d).exists());
    assert_eq!(ingest_files(&s).len(), 1);
    // A second writer (another process, in real life) resumes where the first stopped.
    let mut w = s.begin_blob(&d, data.len() as u64).unwrap();
    assert_eq!(w.offset(), 123_457);
    let off = w.offset() as usize;
    w.write_all(&data[off..]).unwrap();
    // Writing beyond the declared size is an error, not silently accepted.
    assert!(w.write(b"x").is_err());
    let info = w.commit().unwrap();
    assert_eq!(info.size, data.len() as u64);
    assert_eq!(std::fs::read(&info.path).unwrap(), data);
    assert!(ingest_files(&s).is_empty());
    // Beginning again finds it present; commit is a no-op and nothing is rewritten.
    let w = s.begin_blob(&d, data.len() as u64).unwrap();
    assert!(w.is_present());
    assert_eq!(w.offset(), data.len() as u64);
    w.commit().unwrap();
    assert!(ingest_files(&s).is_empty());
    let blobs: Vec<_> = std::fs::read_dir(s.root().join("blobs/sha256"))
        .unwrap()
        .collect();
    assert_eq!(blobs.len(), 1);
}

#[test]
fn corrupt_partial_is_discarded_on_commit() {
    let (_d, s) = store(3600);
    let data = b"the real content".to_vec();
    let d = Digest::sha256_of(&data);
    let mut w = s.begin_blob(&d, data.len() as u64).unwrap();
    w.write_all(b"the fake content").unwrap();
    let e = w.commit().unwrap_err();
    assert!(matches!(e, ImageError::DigestMismatch { .. }), "{e}");
    assert!(
        ingest_files(&s).is_empty(),
        "a partial that can never verify must go"
    );
    let mut w = s.begin_blob(&d, data.len() as u64).unwrap();
    assert_eq!(w.offset(), 0);
    w.write_all(&data).unwrap();
    w.commit().unwrap();
    assert!(s.has_blob(&d).unwrap());
}

#[test]
fn one_writer_per_blob_and_restart() {
    let (_d, s) = store(3600);
    let data = b"abcdef".to_vec();
    let d = Digest::sha256_of(&data);
    let mut w1 = s.begin_blob(&d, 6).unwrap();
    w1.write_all(b"abc").unwrap();
    match s.begin_blob(&d, 6) {
        Err(ImageError::IngestBusy(x)) => assert_eq!(x, d.to_string()),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("second writer admitted"),
    }
    // Server ignored the Range request: restart from zero.
    w1.reset().unwrap();
    assert_eq!(w1.offset(), 0);
    w1.write_all(&data).unwrap();
    w1.commit().unwrap();
}

#[test]
fn gc_respects_grace_and_active_writers() {
    let (_d, s) = store(0);
    let d1 = Digest::sha256_of(b"one");
    let d2 = Digest::sha256_of(b"two");
    let mut active = s.begin_blob(&d1, 3).unwrap();
    active.write_all(b"o").unwrap();
    {
        let mut stale = s.begin_blob(&d2, 3).unwrap();
        stale.write_all(b"t").unwrap();
    }
    let orphan = s.put_blob(b"orphan", None).unwrap();
    std::fs::create_dir_all(s.root().join("containers/crashed/upper")).unwrap();
    let r = s.gc().unwrap();
    assert!(!s.root().join("containers/crashed").exists());
    assert!(
        r.to_string().starts_with("removed 1 blobs (6 bytes)"),
        "{r}"
    );
    assert_eq!(r.blobs, vec![orphan.digest.clone()]);
    assert_eq!(r.bytes_freed, 6);
    assert_eq!(
        r.temporary.len(),
        2,
        "the abandoned partial and the crashed container dir go, not the active partial: {r:?}"
    );
    assert_eq!(ingest_files(&s).len(), 1);
    active.write_all(b"ne").unwrap();
    active.commit().unwrap();
    // Nothing references it yet: with zero grace the next gc removes it.
    let r = s.gc().unwrap();
    assert_eq!(r.blobs, vec![d1]);
    let (_d2, s2) = store(3600);
    s2.put_blob(b"young", None).unwrap();
    assert!(
        s2.gc().unwrap().blobs.is_empty(),
        "blobs younger than the grace period survive"
    );
}

#[test]
fn registry_style_pull_put_manifest_then_blobs_then_register() {
    let (_d, s) = store(3600);
    let layer = b"not really a tar".to_vec();
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]}}"#;
    let (ld, cd) = (Digest::sha256_of(&layer), Digest::sha256_of(config));
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{ld}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let md = Digest::sha256_of(manifest.as_bytes());
    let bytes = gantry_image::manifest::read_document(manifest.as_bytes(), "m").unwrap();
    // Wrong digest for the bytes: refused before anything is stored.
    assert!(s.put_manifest(&bytes, &cd, None).is_err());
    let doc = s
        .put_manifest(
            &bytes,
            &md,
            Some("application/vnd.oci.image.manifest.v1+json"),
        )
        .unwrap();
    assert!(matches!(doc, gantry_image::manifest::Document::Manifest(_)));
    // Registering before the blobs are there names the missing one.
    let e = s
        .register_image("r/x:1", &md, &gantry_image::Platform::host())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&cd.to_string()), "{e}");
    for (d, data) in [(&cd, &config[..]), (&ld, &layer[..])] {
        let mut w = s.begin_blob(d, data.len() as u64).unwrap();
        w.write_all(data).unwrap();
        w.commit().unwrap();
    }
    let img = s
        .register_image("r/x:1", &md, &gantry_image::Platform::host())
        .unwrap();
    assert_eq!(img.manifest, md);
    assert_eq!(s.images().unwrap().len(), 1);
    let big = vec![b' '; (4 << 20) + 1];
    assert!(gantry_image::manifest::read_document(big.as_slice(), "big").is_err());
}
