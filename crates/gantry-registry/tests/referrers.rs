//! Sigstore bundles found as OCI 1.1 referrers, against an in-process fake registry: through the referrers API
//! (`GET /v2/<name>/referrers/<digest>?artifactType=…`) when the registry serves it, and through the
//! `sha256-<hex>` fallback tag when it answers 404 (the testbed registry's case is covered by the engine's
//! trust tests).

mod common;

use common::fake::{Fake, Route};
use common::opts;
use gantry_registry::attachments::BUNDLE_ARTIFACT_TYPE;
use gantry_registry::manifest::OCI_MANIFEST;
use gantry_registry::{fetch_signatures, Digest};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// What the fake serves: the image's digest and the bundle attached to it.
struct Served {
    digest: Digest,
    bundle: Vec<u8>,
    /// The referrers index listing the bundle (and an unrelated SBOM).
    index: Vec<u8>,
}

/// Serves image `t/img:v1` and a bundle artifact referring to it (manifest and blobs; no index route yet).
fn serve(fake: &Fake) -> Served {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let image = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest::sha256_of(config).to_string(), "size": config.len()},
        "layers": [],
    }))
    .unwrap();
    let digest = Digest::sha256_of(&image);
    fake.route(
        "/v2/t/img/manifests/v1",
        Route::ok(image.clone(), OCI_MANIFEST),
    );
    fake.route(
        &format!("/v2/t/img/manifests/{digest}"),
        Route::ok(image.clone(), OCI_MANIFEST),
    );
    let bundle = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#.to_vec();
    let artifact = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE_ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY, "digest": Digest::sha256_of(b"{}").to_string(), "size": 2},
        "layers": [{"mediaType": BUNDLE_ARTIFACT_TYPE,
                    "digest": Digest::sha256_of(&bundle).to_string(), "size": bundle.len()}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": digest.to_string(), "size": image.len()},
    }))
    .unwrap();
    let artifact_digest = Digest::sha256_of(&artifact);
    fake.route(
        &format!("/v2/t/img/manifests/{artifact_digest}"),
        Route::ok(artifact.clone(), OCI_MANIFEST),
    );
    fake.route(
        &format!("/v2/t/img/blobs/{}", Digest::sha256_of(&bundle)),
        Route::ok(bundle.clone(), "application/octet-stream"),
    );
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": artifact_digest.to_string(), "size": artifact.len(),
             "artifactType": BUNDLE_ARTIFACT_TYPE},
            // Not a bundle: never fetched (it has no route, so fetching it would fail the lookup).
            {"mediaType": OCI_MANIFEST, "digest": Digest::sha256_of(b"sbom").to_string(), "size": 4,
             "artifactType": "application/spdx+json"},
        ],
    }))
    .unwrap();
    Served {
        digest,
        bundle,
        index,
    }
}

#[test]
fn bundles_come_from_the_referrers_api_when_the_registry_has_it() {
    let fake = Fake::start();
    let s = serve(&fake);
    let api = format!("/v2/t/img/referrers/{}", s.digest);
    fake.route(&api, Route::ok(s.index.clone(), INDEX));
    let found = fetch_signatures(&opts(&format!("{}/t/img:v1", fake.addr))).unwrap();
    assert_eq!(found.digest, s.digest);
    assert_eq!(found.bundles, vec![s.bundle.clone()]);
    assert!(!found.tag_found, "no .sig tag is served");
    let calls = fake.requests_to(&api);
    assert_eq!(
        calls.len(),
        1,
        "one query serves bundles and cosign signatures: {:?}",
        fake.log()
    );
    assert_eq!(
        calls[0].query, None,
        "not filtered on the registry (both artifact types are wanted)"
    );
    let fallback = format!("/v2/t/img/manifests/{}-{}", "sha256", s.digest.hex());
    assert!(
        fake.requests_to(&fallback).is_empty(),
        "the fallback tag is not read when the API answers"
    );
}

#[test]
fn bundles_come_from_the_fallback_tag_when_the_api_answers_404() {
    let fake = Fake::start();
    let s = serve(&fake);
    let fallback = format!("/v2/t/img/manifests/sha256-{}", s.digest.hex());
    fake.route(&fallback, Route::ok(s.index.clone(), INDEX));
    let found = fetch_signatures(&opts(&format!("{}/t/img:v1", fake.addr))).unwrap();
    assert_eq!(found.bundles, vec![s.bundle.clone()]);
    let api = format!("/v2/t/img/referrers/{}", s.digest);
    let calls = fake.requests_to(&api);
    assert_eq!(calls.len(), 1, "the API is tried first: {:?}", fake.log());
    assert_eq!(calls[0].status, 404);
    assert_eq!(
        fake.requests_to(&fallback).len(),
        1,
        "the fallback tag is read once: {:?}",
        fake.log()
    );
}

#[test]
fn no_referrers_at_all_is_not_an_error() {
    let fake = Fake::start();
    let s = serve(&fake);
    let found = fetch_signatures(&opts(&format!("{}/t/img:v1", fake.addr))).unwrap();
    assert_eq!(found.digest, s.digest);
    assert!(found.bundles.is_empty() && found.signatures.is_empty());
}
