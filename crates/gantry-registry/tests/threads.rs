//! The blocking API leaves no thread behind: the engine clones containers right after a pull.

mod common;

use common::fake::{Fake, Route};
use gantry_registry::manifest::OCI_MANIFEST;
use gantry_registry::{pull, Descriptor, Digest, DirSink};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .count()
}

#[test]
fn pull_returns_with_no_extra_threads() {
    let fake = Fake::start();
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let layer = vec![7u8; 50_000];
    let cd = Descriptor {
        media_type: "application/vnd.oci.image.config.v1+json".into(),
        digest: Digest::sha256_of(&config),
        size: config.len() as u64,
    };
    let ld = Descriptor {
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        digest: Digest::sha256_of(&layer),
        size: layer.len() as u64,
    };
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cd, "layers": [ld]
    }))
    .unwrap();
    fake.route("/v2/t/x/manifests/v1", Route::ok(manifest, OCI_MANIFEST));
    fake.route(
        &format!("/v2/t/x/blobs/{}", cd.digest),
        Route::ok(config, "application/octet-stream"),
    );
    fake.route(
        &format!("/v2/t/x/blobs/{}", ld.digest),
        Route::ok(layer, "application/octet-stream"),
    );
    let dir = tempfile::tempdir().unwrap();
    let sink = DirSink::new(dir.path()).unwrap();

    // By name, so the resolver's blocking-pool thread is exercised too.
    let port = fake.addr.rsplit(':').next().expect("port");
    let before = threads();
    pull(&common::opts(&format!("localhost:{port}/t/x:v1")), &sink).expect("pull");
    assert_eq!(
        threads(),
        before,
        "pull() must join every thread it started"
    );
    // And a failing pull too.
    pull(&common::opts(&format!("{}/t/x:missing", fake.addr)), &sink).expect_err("404");
    assert_eq!(threads(), before);
}
