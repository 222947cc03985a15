//! Pull and push against the testbed's real registry (docker-registry on loopback).

mod common;

use common::testbed::Registry;
use common::{assert_blob_ok, opts};
use gantry_registry::manifest::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use gantry_registry::{pull, push, DirSink, Platform, PushOptions, Reference, RegistryError};

fn sink() -> (tempfile::TempDir, DirSink) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = DirSink::new(dir.path()).expect("sink");
    (dir, s)
}

fn config_of(sink: &DirSink, img: &gantry_registry::PulledImage) -> serde_json::Value {
    serde_json::from_slice(&sink.read_blob(&img.image.config.digest).expect("config"))
        .expect("config json")
}

/// Pulls `tag` in both flavours, checks media types and every blob.
fn pull_both(reg: &Registry, name: &str, layers: usize) {
    for (tag, media_type) in [("latest", OCI_MANIFEST), ("docker", DOCKER_MANIFEST)] {
        let (_d, s) = sink();
        let img = pull(&opts(&format!("{}/testbed/{name}:{tag}", reg.addr)), &s)
            .unwrap_or_else(|e| panic!("pull {name}:{tag}: {e}"));
        assert_eq!(img.manifest.media_type, media_type, "{name}:{tag}");
        assert_eq!(img.image.layers.len(), layers, "{name}:{tag}");
        assert!(img.index.is_none());
        assert_blob_ok(&s, &img.manifest);
        assert_blob_ok(&s, &img.image.config);
        for l in &img.image.layers {
            assert_blob_ok(&s, l);
        }
        assert_eq!(img.skipped.len(), 0);
        assert_eq!(img.fetched.len(), layers + 1);
        if tag == "latest" {
            assert_eq!(
                img.digest.to_string(),
                Registry::layout_digest(name),
                "{name}: digest as built"
            );
        }
        assert_eq!(config_of(&s, &img)["architecture"], "amd64");
    }
}

#[test]
fn pulls_busybox_both_flavours() {
    let reg = Registry::acquire();
    pull_both(&reg, "busybox", 1);
}

#[test]
fn pulls_layers_both_flavours() {
    let reg = Registry::acquire();
    pull_both(&reg, "layers", 3);
}

#[test]
fn pulls_multiarch_each_platform_both_flavours() {
    let reg = Registry::acquire();
    for (tag, index_type) in [("latest", OCI_INDEX), ("docker", DOCKER_MANIFEST_LIST)] {
        for arch in ["amd64", "arm64"] {
            let (_d, s) = sink();
            let mut o = opts(&format!("{}/testbed/multiarch:{tag}", reg.addr));
            o.platform = Some(Platform::parse(&format!("linux/{arch}")).unwrap());
            let img = pull(&o, &s).unwrap_or_else(|e| panic!("multiarch:{tag} {arch}: {e}"));
            let index = img.index.clone().expect("index descriptor");
            assert_eq!(index.media_type, index_type);
            assert_eq!(index.digest, img.digest);
            assert_blob_ok(&s, &index);
            assert_blob_ok(&s, &img.manifest);
            assert_eq!(
                img.platform.as_ref().map(|p| p.architecture.as_str()),
                Some(arch)
            );
            assert_eq!(config_of(&s, &img)["architecture"], arch, "{tag} {arch}");
            assert_eq!(img.image.layers.len(), 2);
            for l in &img.image.layers {
                assert_blob_ok(&s, l);
            }
            if tag == "latest" {
                assert_eq!(img.digest.to_string(), Registry::layout_digest("multiarch"));
                assert_eq!(
                    img.manifest.digest.to_string(),
                    Registry::layout_digest(&format!("multiarch-{arch}"))
                );
            }
        }
    }
}

#[test]
fn multiarch_defaults_to_host_and_refuses_unknown_platform() {
    let reg = Registry::acquire();
    let (_d, s) = sink();
    let img =
        pull(&opts(&format!("{}/testbed/multiarch:latest", reg.addr)), &s).expect("host platform");
    assert_eq!(
        config_of(&s, &img)["architecture"],
        Platform::host().architecture
    );

    let mut o = opts(&format!("{}/testbed/multiarch:latest", reg.addr));
    o.platform = Some(Platform::parse("linux/s390x").unwrap());
    let e = pull(&o, &s).expect_err("no s390x image");
    assert!(matches!(e, RegistryError::NoMatchingPlatform { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("linux/amd64") && msg.contains("linux/arm64"),
        "{msg}"
    );
}

#[test]
fn pull_by_digest_and_skip_existing_blobs() {
    let reg = Registry::acquire();
    let digest = Registry::layout_digest("layers");
    let (_d, s) = sink();
    let r = format!("{}/testbed/layers@{digest}", reg.addr);
    let first = pull(&opts(&r), &s).expect("pull by digest");
    assert_eq!(first.digest.to_string(), digest);
    assert_eq!(first.fetched.len(), 4);
    let second = pull(&opts(&r), &s).expect("pull again");
    assert!(
        second.fetched.is_empty(),
        "nothing to fetch the second time"
    );
    assert_eq!(second.skipped.len(), 4);
    assert_eq!(second.bytes_downloaded, 0);

    // tag + digest: the digest wins and is verified.
    let both = format!("{}/testbed/layers:latest@{digest}", reg.addr);
    pull(&opts(&both), &s).expect("tag+digest");
    let wrong = format!("{}/testbed/busybox:latest@{digest}", reg.addr);
    let e = pull(&opts(&wrong), &s).expect_err("digest of another repository");
    assert!(matches!(e, RegistryError::ManifestNotFound { .. }), "{e}");
}

#[test]
fn resumes_a_partial_blob_with_a_range_request() {
    let reg = Registry::acquire();
    let r = format!("{}/testbed/busybox:latest", reg.addr);
    // Learn the layer, then start over with half of it already on disk.
    let (_d0, s0) = sink();
    let full = pull(&opts(&r), &s0).expect("reference pull");
    let layer = full.image.layers[0].clone();
    let bytes = s0.read_blob(&layer.digest).expect("layer");
    let half = bytes.len() / 2;

    let (_d, s) = sink();
    std::fs::write(s.partial_path(&layer.digest), &bytes[..half]).expect("seed partial");
    let img = pull(&opts(&r), &s).expect("resumed pull");
    assert_blob_ok(&s, &layer);
    let others: u64 = std::iter::once(&img.image.config).map(|d| d.size).sum();
    assert_eq!(
        img.bytes_downloaded,
        others + (layer.size - half as u64),
        "only the missing half of the layer (plus the config) is downloaded"
    );
    assert!(full.bytes_downloaded > img.bytes_downloaded + half as u64 - 1);
    assert!(!s.partial_path(&layer.digest).exists());
}

#[test]
fn corrupt_partial_is_discarded_and_refetched() {
    let reg = Registry::acquire();
    let r = format!("{}/testbed/pause:latest", reg.addr);
    let (_d0, s0) = sink();
    let full = pull(&opts(&r), &s0).expect("reference pull");
    let layer = full.image.layers[0].clone();
    let (_d, s) = sink();
    std::fs::write(
        s.partial_path(&layer.digest),
        vec![0xAAu8; (layer.size / 2) as usize],
    )
    .expect("seed");
    pull(&opts(&r), &s).expect("a bad prefix costs one more download, not a failure");
    assert_blob_ok(&s, &layer);
}

#[test]
fn missing_tag_and_repository_are_clean_errors() {
    let reg = Registry::acquire();
    let (_d, s) = sink();
    let e = pull(&opts(&format!("{}/testbed/busybox:nope", reg.addr)), &s).expect_err("404 tag");
    let msg = e.to_string();
    assert!(matches!(e, RegistryError::ManifestNotFound { .. }), "{msg}");
    assert!(
        msg.contains(&reg.addr) && msg.contains("testbed/busybox") && msg.contains("nope"),
        "{msg}"
    );
    let e = pull(
        &opts(&format!("{}/testbed/no-such-repo:latest", reg.addr)),
        &s,
    )
    .expect_err("404 repo");
    assert!(matches!(e, RegistryError::ManifestNotFound { .. }), "{e}");
    // Nothing was stored for failed pulls.
    assert_eq!(
        std::fs::read_dir(
            s.blob_path(&gantry_registry::Digest::sha256_of(b""))
                .parent()
                .unwrap()
        )
        .unwrap()
        .count(),
        0
    );
}

/// This machine's host name, which must resolve to 127.0.0.1 (Debian's /etc/hosts does): a name for the
/// loopback registry that is not on the built-in loopback list.
fn non_loopback_name() -> String {
    use std::net::ToSocketAddrs;
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("hostname")
        .trim()
        .to_string();
    let addrs: Vec<_> = (name.as_str(), 0)
        .to_socket_addrs()
        .map(|a| a.collect())
        .unwrap_or_default();
    assert!(
        addrs.iter().any(|a: &std::net::SocketAddr| a.ip() == std::net::Ipv4Addr::LOCALHOST),
        "this test needs the host name {name:?} to resolve to 127.0.0.1 (it resolves to {addrs:?}); add it to /etc/hosts"
    );
    name
}

#[test]
fn plain_http_only_for_loopback_and_listed_registries() {
    let reg = Registry::acquire();
    let (_d, s) = sink();
    let port = reg.addr.rsplit(':').next().unwrap();
    pull(&opts(&format!("localhost:{port}/testbed/pause:latest")), &s)
        .expect("localhost is insecure by default");

    // Same registry under a name that is not loopback by rule: HTTPS is tried and fails (the registry
    // speaks plain HTTP), with a hint to list it as insecure.
    let host = non_loopback_name();
    let r = format!("{host}:{port}/testbed/pause:latest");
    let mut o = opts(&r);
    o.retry.attempts = 1;
    let e = pull(&o, &s).expect_err("TLS to a plain-HTTP registry");
    assert!(
        matches!(
            e,
            RegistryError::Network {
                phase: gantry_registry::Phase::Tls | gantry_registry::Phase::Connect,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("https://") && e.to_string().contains("insecure"),
        "{e}"
    );

    // Listed as insecure by host:port, or by host alone: plain HTTP works.
    for entry in [format!("{host}:{port}"), host.clone()] {
        o.config = gantry_registry::RegistryConfig {
            timeouts: Default::default(),
            insecure: vec![entry],
        };
        pull(&o, &s).expect("insecure registry from the config");
    }
}

#[test]
fn push_round_trip_monolithic_and_chunked() {
    let reg = Registry::acquire();
    for (i, chunked) in [false, true].into_iter().enumerate() {
        for src_tag in ["layers:docker", "multiarch:latest"] {
            let (_d, s) = sink();
            let mut o = opts(&format!("{}/testbed/{src_tag}", reg.addr));
            // Pull both platforms so the source holds everything an index names.
            let mut last = None;
            for arch in ["amd64", "arm64"] {
                o.platform = Some(Platform::parse(&format!("linux/{arch}")).unwrap());
                last = Some(pull(&o, &s).expect("pull source"));
            }
            let src = last.unwrap();
            let top_digest = src
                .index
                .as_ref()
                .map_or(src.manifest.digest.clone(), |d| d.digest.clone());
            let top = s.read_blob(&top_digest).expect("top manifest");

            let dest = format!("{}/gantry-push-{i}/{}", reg.addr, src_tag.replace(':', "-"));
            let mut p = PushOptions::new(Reference::parse(&format!("{dest}:v1")).unwrap());
            p.auth = gantry_registry::AuthFiles::new(vec![]);
            p.progress = gantry_registry::ProgressMode::Quiet;
            p.chunked = chunked;
            let pushed = push(&p, &top, &s)
                .unwrap_or_else(|e| panic!("push {src_tag} chunked={chunked}: {e}"));
            assert_eq!(pushed.digest, top_digest);
            assert!(!pushed.uploaded.is_empty());
            let again = push(&p, &top, &s).expect("second push");
            assert!(
                again.uploaded.is_empty(),
                "everything exists the second time"
            );

            let (_d2, s2) = sink();
            let mut back = opts(&format!("{dest}:v1"));
            back.platform = Some(Platform::parse("linux/arm64").unwrap());
            let img = pull(&back, &s2).expect("pull pushed image");
            assert_eq!(img.digest, top_digest, "same digest after the round trip");
            for l in &img.image.layers {
                assert_blob_ok(&s2, l);
            }
        }
    }
}

#[test]
fn push_mounts_blobs_from_another_repository() {
    let reg = Registry::acquire();
    let (_d, s) = sink();
    let src = pull(&opts(&format!("{}/testbed/busybox:latest", reg.addr)), &s).expect("pull");
    let mut p = PushOptions::new(
        Reference::parse(&format!("{}/gantry-mount/busybox:v1", reg.addr)).unwrap(),
    );
    p.auth = gantry_registry::AuthFiles::new(vec![]);
    p.progress = gantry_registry::ProgressMode::Quiet;
    p.mount_from = Some("testbed/busybox".into());
    let pushed = push(&p, &src.manifest_bytes, &s).expect("push with mount");
    assert_eq!(
        pushed.mounted.len() + pushed.existing.len(),
        2,
        "{pushed:?}"
    );
    assert!(pushed.uploaded.is_empty(), "{pushed:?}");
}
