//! Fault injection against an in-process fake registry: corrupt and oversized blobs, dropped
//! connections, registries that ignore Range, transient errors, auth challenges, hostile manifests.

mod common;

use base64::Engine as _;
use common::fake::{Fake, Route};
use common::{assert_blob_ok, opts};
use gantry_registry::manifest::OCI_MANIFEST;
use gantry_registry::{pull, AuthFiles, Descriptor, Digest, DirSink, RegistryError};

const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

struct Image {
    manifest: Vec<u8>,
    config: Descriptor,
    layer: Descriptor,
    layer_bytes: Vec<u8>,
}

/// Serves a one-layer image at `repo:tag` with a ~300 KiB layer.
fn serve_image(fake: &Fake, repo: &str, tag: &str) -> Image {
    let layer_bytes: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let config_bytes =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let config = Descriptor {
        media_type: "application/vnd.oci.image.config.v1+json".into(),
        digest: Digest::sha256_of(&config_bytes),
        size: config_bytes.len() as u64,
    };
    let layer = Descriptor {
        media_type: LAYER_TYPE.into(),
        digest: Digest::sha256_of(&layer_bytes),
        size: layer_bytes.len() as u64,
    };
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": config, "layers": [layer],
    }))
    .unwrap();
    fake.route(
        &format!("/v2/{repo}/manifests/{tag}"),
        Route::ok(manifest.clone(), OCI_MANIFEST),
    );
    fake.route(
        &format!("/v2/{repo}/blobs/{}", config.digest),
        Route::ok(config_bytes, "application/octet-stream"),
    );
    fake.route(
        &format!("/v2/{repo}/blobs/{}", layer.digest),
        Route::ok(layer_bytes.clone(), "application/octet-stream"),
    );
    Image {
        manifest,
        config,
        layer,
        layer_bytes,
    }
}

fn sink() -> (tempfile::TempDir, DirSink) {
    let d = tempfile::tempdir().unwrap();
    let s = DirSink::new(d.path()).unwrap();
    (d, s)
}

fn layer_path(img: &Image) -> String {
    format!("/v2/t/img/blobs/{}", img.layer.digest)
}

#[test]
fn wrong_bytes_are_refused_and_nothing_is_committed() {
    let fake = Fake::start();
    let img = serve_image(&fake, "t/img", "v1");
    let mut evil = img.layer_bytes.clone();
    evil[1000] ^= 0xff;
    fake.route(&layer_path(&img), Route::ok(evil, LAYER_TYPE));
    let (_d, s) = sink();
    let e = pull(&opts(&format!("{}/t/img:v1", fake.addr)), &s).expect_err("corrupt layer");
    assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e}");
    assert!(e.to_string().contains(&img.layer.digest.to_string()), "{e}");
    assert!(
        !s.blob_path(&img.layer.digest).exists(),
        "corrupt blob must not be committed"
    );
    let partial_len = std::fs::metadata(s.partial_path(&img.layer.digest)).map_or(0, |m| m.len());
    assert_eq!(
        partial_len, 0,
        "corrupt bytes must not be kept for resuming"
    );
    assert_eq!(
        fake.requests_to(&layer_path(&img)).len(),
        1,
        "a digest mismatch is not retried"
    );
}

#[test]
fn oversized_blob_is_cut_off() {
    let fake = Fake::start();
    let img = serve_image(&fake, "t/img", "v1");
    let mut big = img.layer_bytes.clone();
    big.extend_from_slice(&[0u8; 4096]);
    fake.route(&layer_path(&img), Route::ok(big, LAYER_TYPE));
    let (_d, s) = sink();
    let e = pull(&opts(&format!("{}/t/img:v1", fake.addr)), &s).expect_err("oversized layer");
    assert!(matches!(e, RegistryError::SizeMismatch { .. }), "{e}");
    assert!(!s.blob_path(&img.layer.digest).exists());
}

#[test]
fn dropped_connection_resumes_with_range() {
    let fake = Fake::start();
    let img = serve_image(&fake, "t/img", "v1");
    let cut = 100_000;
    let mut r = Route::ok(img.layer_bytes.clone(), LAYER_TYPE);
    r.cut_after = Some(cut);
    fake.route(&layer_path(&img), r);
    let (_d, s) = sink();
    let pulled = pull(&opts(&format!("{}/t/img:v1", fake.addr)), &s)
        .expect("pull survives a dropped connection");
    assert_blob_ok(&s, &img.layer);
    let reqs = fake.requests_to(&layer_path(&img));
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].range, None);
    assert_eq!(
        reqs[1].range.as_deref(),
        Some(format!("bytes={cut}-").as_str())
    );
    assert_eq!(reqs[1].status, 206);
    let served: usize = reqs.iter().map(|r| r.body_bytes).sum();
    assert_eq!(served as u64, img.layer.size, "no byte sent twice");
    assert_eq!(pulled.bytes_downloaded, img.layer.size + img.config.size);
}

#[test]
fn preseeded_partial_requests_only_the_rest() {
    let fake = Fake::start();
    let img = serve_image(&fake, "t/img", "v1");
    let (_d, s) = sink();
    let half = img.layer_bytes.len() / 2;
    std::fs::write(s.partial_path(&img.layer.digest), &img.layer_bytes[..half]).unwrap();
    pull(&opts(&format!("{}/t/img:v1", fake.addr)), &s).expect("resumed pull");
    assert_blob_ok(&s, &img.layer);
    let reqs = fake.requests_to(&layer_path(&img));
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].range.as_deref(),
        Some(format!("bytes={half}-").as_str())
    );
    assert_eq!(
        reqs[0].body_bytes,
        img.layer_bytes.len() - half,
        "only the remaining bytes were sent"
    );
}

#[test]
fn complete_partial_is_committed_without_a_request() {
    let fake = Fake::start();
    let img = serve_image(&fake, "t/img", "v1");
    let (_d, s) = sink();
    std::fs::write(s.partial_path(&img.layer.digest), &img.layer_bytes).unwrap();
    let pulled = pull(&opts(&format!("{}/t/img:v1", fake.addr)), &s).expect("pull");
    assert_blob_ok(&s, &img.layer);
    assert!(fake.requests_to(&layer_path(&img)).is_empty());
    assert_eq!(pulled.bytes_downloaded, img.config.size);
}

#[test]
fn unsatisfiable_range_restarts_the_blob() {
    let fake = Fake::start();
    let img = serve_image(&fake, "t/img", "v1");
    let mut r = Route::ok(img.layer_bytes.clone(), LAYER_TYPE);
    r.fail_first = vec![416];
    fake.route(&layer_path(&img), r);
    let (_d, s) = sink();
    std::fs::write(s.partial_path(&img.layer.digest), &img.layer_bytes[..1000]).unwrap();
    pull(&opts(&format!("{}/t/img:v1", fake.addr)), &s).expect("pull");
    assert_blob_ok(&s, &img.layer);
    let reqs = fake.requests_to(&layer_path(&img));
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[1].range, None);
}

#[test]
fn registry_ignoring_range_gets_a_full_restart() {
    let fake = Fake::start();
    let img = serve_image(&fake, "t/img", "v1");
    let mut r = Route::ok(img.layer_bytes.clone(), LAYER_TYPE);
    r.ranges = false;
    fake.route(&layer_path(&img), r);
    let (_d, s) = sink();
    std::fs::write(s.partial_path(&img.layer.digest), &img.layer_bytes[..1000]).unwrap();
    pull(&opts(&format!("{}/t/img:v1", fake.addr)), &s).expect("pull");
    assert_blob_ok(&s, &img.layer);
    let reqs = fake.requests_to(&layer_path(&img));
    assert_eq!(reqs[0].status, 200);
    assert_eq!(reqs[0].body_bytes, img.layer_bytes.len());
}

#[test]
fn transient_errors_are_retried_client_errors_are_not() {
    let fake = Fake::start();
    let img = serve_image(&fake, "t/img", "v1");
    let mp = "/v2/t/img/manifests/v1";
    let mut r = Route::ok(img.manifest.clone(), OCI_MANIFEST);
    r.fail_first = vec![503, 429];
    fake.route(mp, r);
    let mut r = Route::ok(img.layer_bytes.clone(), LAYER_TYPE);
    r.fail_first = vec![500];
    fake.route(&layer_path(&img), r);
    let (_d, s) = sink();
    pull(&opts(&format!("{}/t/img:v1", fake.addr)), &s).expect("retries get through");
    assert_eq!(fake.requests_to(mp).len(), 3);
    assert_eq!(fake.requests_to(&layer_path(&img)).len(), 2);

    let mut r = Route::ok(img.manifest.clone(), OCI_MANIFEST);
    r.fail_first = vec![400];
    fake.route("/v2/t/img/manifests/v2", r);
    let (_d, s) = sink();
    let e = pull(&opts(&format!("{}/t/img:v2", fake.addr)), &s).expect_err("400");
    assert!(matches!(e, RegistryError::Http { status: 400, .. }), "{e}");
    assert_eq!(
        fake.requests_to("/v2/t/img/manifests/v2").len(),
        1,
        "4xx is not retried"
    );

    let mut r = Route::ok(img.manifest.clone(), OCI_MANIFEST);
    r.fail_first = vec![503; 10];
    fake.route("/v2/t/img/manifests/v3", r);
    let e = pull(&opts(&format!("{}/t/img:v3", fake.addr)), &s).expect_err("persistent 503");
    assert!(matches!(e, RegistryError::Http { status: 503, .. }), "{e}");
    assert_eq!(
        fake.requests_to("/v2/t/img/manifests/v3").len(),
        3,
        "attempts are bounded"
    );
}

#[test]
fn hostile_manifests_are_refused() {
    let fake = Fake::start();
    let img = serve_image(&fake, "t/img", "v1");
    let mut huge = b"{\"schemaVersion\":2,\"x\":\"".to_vec();
    huge.resize(5 * 1024 * 1024, b'a');
    fake.route("/v2/t/img/manifests/huge", Route::ok(huge, OCI_MANIFEST));
    let mut lying = Route::ok(img.manifest.clone(), OCI_MANIFEST);
    lying.headers.push((
        "Docker-Content-Digest".into(),
        Digest::sha256_of(b"other").to_string(),
    ));
    fake.route("/v2/t/img/manifests/lying", lying);
    fake.route(
        "/v2/t/img/manifests/junk",
        Route::ok(b"{\"schemaVersion\":2}".to_vec(), "text/html"),
    );
    let (_d, s) = sink();
    let e = pull(&opts(&format!("{}/t/img:huge", fake.addr)), &s).expect_err("huge");
    assert!(matches!(e, RegistryError::ManifestTooLarge { .. }), "{e}");
    let e =
        pull(&opts(&format!("{}/t/img:lying", fake.addr)), &s).expect_err("lying digest header");
    assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e}");
    let e = pull(&opts(&format!("{}/t/img:junk", fake.addr)), &s).expect_err("junk");
    assert!(matches!(e, RegistryError::ManifestInvalid { .. }), "{e}");
    let pinned = format!("{}/t/img@{}", fake.addr, Digest::sha256_of(b"x"));
    fake.route(
        &format!("/v2/t/img/manifests/{}", Digest::sha256_of(b"x")),
        Route::ok(img.manifest.clone(), OCI_MANIFEST),
    );
    let e = pull(&opts(&pinned), &s).expect_err("manifest not matching the pinned digest");
    assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e}");
    assert_eq!(
        std::fs::read_dir(s.blob_path(&img.layer.digest).parent().unwrap())
            .unwrap()
            .count(),
        0
    );
}

fn auth_file(dir: &std::path::Path, registry: &str, user: &str, pass: &str) -> AuthFiles {
    let p = dir.join("auth.json");
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    std::fs::write(
        &p,
        format!(r#"{{"auths":{{"{registry}":{{"auth":"{b64}"}}}}}}"#),
    )
    .unwrap();
    AuthFiles::new(vec![p])
}

#[test]
fn basic_auth_from_auth_file() {
    let fake = Fake::start();
    let img = serve_image(&fake, "t/img", "v1");
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
    );
    let challenge = "Basic realm=\"fake\"";
    let mut paths = vec!["/v2/".to_string(), "/v2/t/img/manifests/v1".to_string()];
    paths.push(layer_path(&img));
    paths.push(format!("/v2/t/img/blobs/{}", img.config.digest));
    for p in &paths {
        let body = if p.contains("manifests") {
            (img.manifest.clone(), OCI_MANIFEST)
        } else if p.ends_with(&img.config.digest.to_string()) {
            (Vec::new(), "")
        } else if p == "/v2/" {
            (b"{}".to_vec(), "application/json")
        } else {
            (img.layer_bytes.clone(), LAYER_TYPE)
        };
        if body.1.is_empty() {
            continue;
        }
        let mut r = Route::ok(body.0, body.1);
        r.require_auth = Some((want.clone(), challenge.to_string()));
        fake.route(p, r);
    }
    let (d, s) = sink();
    let e = pull(&opts(&format!("{}/t/img:v1", fake.addr)), &s).expect_err("no credentials");
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            RegistryError::Unauthorized {
                had_credentials: false,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains(&fake.addr) && msg.contains("t/img") && msg.contains("config.json"),
        "{msg}"
    );

    let mut o = opts(&format!("{}/t/img:v1", fake.addr));
    o.auth = auth_file(d.path(), &fake.addr, "alice", "wrong");
    let e = pull(&o, &s).expect_err("wrong password");
    assert!(
        matches!(
            e,
            RegistryError::Unauthorized {
                had_credentials: true,
                ..
            }
        ),
        "{e}"
    );

    o.auth = auth_file(d.path(), &fake.addr, "alice", "s3cret");
    pull(&o, &s).expect("basic auth");
    assert_blob_ok(&s, &img.layer);
}

#[test]
fn bearer_token_challenge() {
    let fake = Fake::start();
    let img = serve_image(&fake, "t/img", "v1");
    let challenge = format!(
        "Bearer realm=\"http://{}/token\",service=\"fake\"",
        fake.addr
    );
    let want = "Bearer tok-123".to_string();
    let protected = [
        ("/v2/".to_string(), b"{}".to_vec(), "application/json"),
        (
            "/v2/t/img/manifests/v1".to_string(),
            img.manifest.clone(),
            OCI_MANIFEST,
        ),
        (layer_path(&img), img.layer_bytes.clone(), LAYER_TYPE),
    ];
    for (p, body, ct) in protected {
        let mut r = Route::ok(body, ct);
        r.require_auth = Some((want.clone(), challenge.clone()));
        fake.route(&p, r);
    }
    fake.route(
        "/token",
        Route::ok(
            br#"{"token":"tok-123","expires_in":300}"#.to_vec(),
            "application/json",
        ),
    );
    let (_d, s) = sink();
    pull(&opts(&format!("{}/t/img:v1", fake.addr)), &s).expect("bearer pull");
    assert_blob_ok(&s, &img.layer);
    assert!(
        !fake.requests_to("/token").is_empty(),
        "a token was requested"
    );
    let layer_reqs = fake.requests_to(&layer_path(&img));
    assert!(
        layer_reqs
            .iter()
            .any(|r| r.authorization.as_deref() == Some("Bearer tok-123")),
        "{layer_reqs:?}"
    );

    // A token service that wants the user's credentials (sent as Basic to the realm).
    let mut token = Route::ok(br#"{"token":"tok-123"}"#.to_vec(), "application/json");
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("bob:pw")
    );
    token.require_auth = Some((basic, "Basic realm=\"token\"".into()));
    fake.route("/token", token);
    let (d, s) = sink();
    let e = pull(&opts(&format!("{}/t/img:v1", fake.addr)), &s)
        .expect_err("token service wants credentials");
    assert!(
        matches!(
            e,
            RegistryError::Unauthorized {
                had_credentials: false,
                ..
            }
        ),
        "{e}"
    );
    let mut o = opts(&format!("{}/t/img:v1", fake.addr));
    o.auth = auth_file(d.path(), &fake.addr, "bob", "pw");
    pull(&o, &s).expect("token obtained with credentials");
    assert_blob_ok(&s, &img.layer);
}

#[test]
fn layers_are_fetched_in_parallel_up_to_the_bound() {
    let fake = Fake::start_threaded();
    let config_bytes = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let config = Descriptor {
        media_type: "application/vnd.oci.image.config.v1+json".into(),
        digest: Digest::sha256_of(&config_bytes),
        size: config_bytes.len() as u64,
    };
    fake.route(
        &format!("/v2/t/par/blobs/{}", config.digest),
        Route::ok(config_bytes, "application/octet-stream"),
    );
    let mut layers = Vec::new();
    for i in 0..7u8 {
        let bytes = vec![i; 10_000];
        let d = Descriptor {
            media_type: LAYER_TYPE.into(),
            digest: Digest::sha256_of(&bytes),
            size: bytes.len() as u64,
        };
        let mut r = Route::ok(bytes, LAYER_TYPE);
        r.delay_ms = 150;
        fake.route(&format!("/v2/t/par/blobs/{}", d.digest), r);
        layers.push(d);
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers,
    }))
    .unwrap();
    fake.route("/v2/t/par/manifests/v1", Route::ok(manifest, OCI_MANIFEST));
    let (_d, s) = sink();
    let mut o = opts(&format!("{}/t/par:v1", fake.addr));
    o.concurrency = 3;
    o.progress = gantry_registry::ProgressMode::Bars;
    let pulled = pull(&o, &s).expect("parallel pull");
    assert_eq!(pulled.fetched.len(), 8);
    for l in &layers {
        assert_blob_ok(&s, l);
    }
    let max = fake.max_in_flight.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (2..=3).contains(&max),
        "{max} requests in flight at most; want parallel but at most 3"
    );
}
