//! Network deadlines: a registry that stalls mid-blob fails the pull within the idle deadline,
//! naming the phase; a dropped connection and a closed port name theirs too.

mod common;

use std::time::{Duration, Instant};

use common::fake::{Fake, Route};
use common::opts;
use gantry_registry::manifest::OCI_MANIFEST;
use gantry_registry::{pull, push, Descriptor, Digest, DirSink, Phase, PushOptions, RegistryError};

/// Serves a one-layer image whose layer route is `layer_route` applied to the layer bytes.
fn serve(fake: &Fake, layer_route: impl Fn(Vec<u8>) -> Route) -> Descriptor {
    let layer_bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let config_bytes =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let desc = |mt: &str, b: &[u8]| Descriptor {
        media_type: mt.into(),
        digest: Digest::sha256_of(b),
        size: b.len() as u64,
    };
    let config = desc("application/vnd.oci.image.config.v1+json", &config_bytes);
    let layer = desc("application/vnd.oci.image.layer.v1.tar", &layer_bytes);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer],
    }))
    .unwrap();
    fake.route("/v2/t/img/manifests/v1", Route::ok(manifest, OCI_MANIFEST));
    fake.route(
        &format!("/v2/t/img/blobs/{}", config.digest),
        Route::ok(config_bytes, "application/octet-stream"),
    );
    fake.route(
        &format!("/v2/t/img/blobs/{}", layer.digest),
        layer_route(layer_bytes),
    );
    layer
}

#[test]
fn a_stalled_registry_fails_within_the_idle_deadline_naming_the_phase() {
    let fake = Fake::start();
    serve(&fake, |b| {
        let mut r = Route::ok(b, "application/octet-stream");
        r.stall_after = Some(50_000);
        r.stall_ms = 3_000;
        r
    });
    let dir = tempfile::tempdir().unwrap();
    let sink = DirSink::new(dir.path()).unwrap();
    let mut o = opts(&format!("{}/t/img:v1", fake.addr));
    o.config.timeouts.idle = 1;
    let started = Instant::now();
    let e = pull(&o, &sink).expect_err("a stalled blob must fail");
    let took = started.elapsed();
    assert!(
        matches!(
            e,
            RegistryError::Network {
                phase: Phase::Idle,
                ..
            }
        ),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("idle deadline") && text.contains("stopped sending"),
        "{text}"
    );
    assert!(!text.contains("registry is running"), "{text}");
    // One idle deadline (a stall is not retried), with slack for a loaded machine.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(took >= Duration::from_secs(1), "took {took:?}");
}

#[test]
fn the_total_deadline_bounds_the_whole_pull() {
    let fake = Fake::start();
    serve(&fake, |b| {
        let mut r = Route::ok(b, "application/octet-stream");
        r.delay_ms = 3_000;
        r
    });
    let dir = tempfile::tempdir().unwrap();
    let sink = DirSink::new(dir.path()).unwrap();
    let mut o = opts(&format!("{}/t/img:v1", fake.addr));
    o.config.timeouts.total = 1;
    let started = Instant::now();
    let e = pull(&o, &sink).expect_err("past the total deadline");
    assert!(
        matches!(e, RegistryError::Deadline { secs: 1, .. }),
        "{e:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_total_deadline_bounds_the_whole_push() {
    let fake = Fake::start();
    // The registry answers its ping only after 3 s.
    let mut ping = Route::ok(b"{}".to_vec(), "application/json");
    ping.delay_ms = 3_000;
    fake.route("/v2/", ping);
    let dir = tempfile::tempdir().unwrap();
    let source = DirSink::new(dir.path()).unwrap();
    let pull_opts = opts(&format!("{}/t/img:v1", fake.addr));
    let mut o = PushOptions::new(pull_opts.reference.clone());
    o.auth = pull_opts.auth;
    o.progress = pull_opts.progress;
    o.retry = pull_opts.retry;
    o.config.timeouts.total = 1;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest::sha256_of(b"{}").to_string(), "size": 2},
        "layers": [],
    }))
    .unwrap();
    let started = Instant::now();
    let e = push(&o, &manifest, &source).expect_err("past the total deadline");
    assert!(
        matches!(e, RegistryError::Deadline { secs: 1, .. }),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.starts_with("push ") && text.contains("total deadline of 1 s"),
        "{text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn dropped_and_refused_connections_name_their_phase() {
    let fake = Fake::start();
    serve(&fake, |b| {
        let mut r = Route::ok(b, "application/octet-stream");
        r.ranges = false;
        r.cut_after = Some(10_000);
        r.fail_first = vec![];
        r
    });
    let dir = tempfile::tempdir().unwrap();
    let sink = DirSink::new(dir.path()).unwrap();
    let mut o = opts(&format!("{}/t/img:v1", fake.addr));
    o.retry.attempts = 1;
    let e = pull(&o, &sink).expect_err("dropped mid-blob");
    assert!(
        matches!(
            e,
            RegistryError::Network {
                phase: Phase::Read,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.to_string().contains("registry is running"), "{e}");

    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut o = opts(&format!("127.0.0.1:{port}/t/img:v1"));
    o.retry.attempts = 1;
    let e = pull(&o, &sink).expect_err("refused");
    assert!(
        matches!(
            e,
            RegistryError::Network {
                phase: Phase::Connect,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("connect failed"), "{e}");
}
