//! Image signatures end to end against the testbed's loopback registry: gantry signs on push, verifies on pull,
//! and refuses unsigned, wrong-key, re-tagged and tampered images with one line naming the image, the scope and
//! the reason; skopeo copies gantry's signatures (reading and rewriting the `.sig` attachment with
//! `use-sigstore-attachments`) and gantry verifies the copy; policy scopes, gantry's default (reject when no
//! policy file exists) and `--insecure-skip-verify`; `gantry trust add/list/rm`; Sigstore bundles attached as OCI 1.1
//! referrers (cosign 3's layout on a registry without the referrers API). Run as root.
//!
//! Signing and verifying by sigstore-enabled skopeo, cosign and podman (not Debian 12's, built without sigstore)
//! are in trust_interop.rs.

use std::process::{Command, Output};

use base64::Engine as _;

mod common;
use common::stderr;
use common::trust_bed::{assert_refused, Bed, BUNDLE_TYPE};

/// A cosign-3-style bundle: a DSSE envelope over an in-toto statement naming `digest`, signed by `key`.
fn dsse_bundle(key: &p256::ecdsa::SigningKey, digest: &str) -> Vec<u8> {
    let statement = serde_json::json!({"_type": "https://in-toto.io/Statement/v1",
        "subject": [{"digest": {"sha256": &digest[7..]}}], "predicateType": "https://sigstore.dev/cosign/sign/v1"})
    .to_string();
    let ty = "application/vnd.in-toto+json";
    let sig = gantry_trust::sign::sign(key, &gantry_trust::bundle::pae(ty, statement.as_bytes()));
    serde_json::json!({"mediaType": BUNDLE_TYPE, "verificationMaterial": {"publicKey": {"hint": ""}},
        "dsseEnvelope": {"payload": base64::engine::general_purpose::STANDARD.encode(statement), "payloadType": ty,
                         "signatures": [{"sig": base64::engine::general_purpose::STANDARD.encode(sig), "keyid": ""}]}})
    .to_string()
    .into_bytes()
}

#[test]
fn sign_verify_refuse_and_skopeo_interop() {
    let bed = Bed::new("interop");
    let r = bed.addr.clone();
    std::fs::write(bed.path("pass"), "correct horse\n").unwrap();
    bed.ok(
        "root",
        None,
        &[
            "trust",
            "generate-key",
            "--passphrase-file",
            bed.path("pass").to_str().unwrap(),
            bed.path("trusted").to_str().unwrap(),
        ],
    );
    bed.ok(
        "root",
        None,
        &["trust", "generate-key", bed.path("other").to_str().unwrap()],
    );
    let key = std::fs::read_to_string(bed.path("trusted.key")).unwrap();
    assert!(
        key.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"),
        "{key}"
    );
    let pubkey = bed.path("trusted.pub");
    std::fs::write(
        bed.path("policy.json"),
        serde_json::json!({
            "default": [{"type": "reject"}],
            "transports": {"docker": {
                format!("{r}/testbed"): [{"type": "sigstoreSigned", "keyPath": pubkey}],
                format!("{r}/mirror"): [{"type": "sigstoreSigned", "keyPath": pubkey,
                    "signedIdentity": {"type": "remapIdentity", "prefix": format!("{r}/mirror"), "signedPrefix": format!("{r}/testbed")}}],
            }}
        })
        .to_string(),
    )
    .unwrap();

    // Source images come in unverified, loudly.
    let o = bed.ok(
        "src",
        Some("policy.json"),
        &[
            "pull",
            "--insecure-skip-verify",
            &format!("{r}/testbed/busybox:latest"),
        ],
    );
    assert!(
        stderr(&o).contains("WARNING: --insecure-skip-verify: NOT checking the signature"),
        "{}",
        stderr(&o)
    );
    bed.ok(
        "src",
        Some("policy.json"),
        &[
            "-q",
            "pull",
            "--insecure-skip-verify",
            &format!("{r}/testbed/layers:latest"),
        ],
    );

    // A wrong passphrase fails before anything is pushed.
    std::fs::write(bed.path("badpass"), "wrong\n").unwrap();
    let o = bed.gantry(
        "src",
        Some("policy.json"),
        &[
            "push",
            "--sign-by-sigstore-private-key",
            bed.path("trusted.key").to_str().unwrap(),
            "--passphrase-file",
            bed.path("badpass").to_str().unwrap(),
            &format!("{r}/testbed/busybox:latest"),
            &format!("{r}/testbed/never:v1"),
        ],
    );
    assert!(
        !o.status.success() && stderr(&o).contains("wrong passphrase"),
        "{}",
        stderr(&o)
    );

    // gantry signs on push; gantry verifies on pull.
    let signed = format!("{r}/testbed/signed:v1");
    bed.ok(
        "src",
        Some("policy.json"),
        &[
            "-q",
            "push",
            "--sign-by-sigstore-private-key",
            bed.path("trusted.key").to_str().unwrap(),
            "--passphrase-file",
            bed.path("pass").to_str().unwrap(),
            &format!("{r}/testbed/busybox:latest"),
            &signed,
        ],
    );
    let d = bed.digest(&signed);
    let o = bed.ok("a", Some("policy.json"), &["pull", &signed]);
    assert!(
        stderr(&o).contains("signature verified for"),
        "{}",
        stderr(&o)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), d);

    // skopeo reads gantry's .sig attachment and writes its own copy beside the mirrored image; gantry verifies that.
    let mirrored = format!("{r}/mirror/signed:v1");
    let text = bed.skopeo_copy(
        &format!("docker://{signed}"),
        &format!("docker://{mirrored}"),
    );
    assert!(text.contains("Storing signatures"), "{text}");
    let sig_tag = format!("{r}/mirror/signed:sha256-{}.sig", &d["sha256:".len()..]);
    assert_ne!(bed.digest(&sig_tag), "", "skopeo wrote the .sig tag");
    bed.ok("b", Some("policy.json"), &["-q", "pull", &mirrored]);

    // Unsigned.
    let scope = format!("\"{r}/testbed\"");
    assert_refused(
        &bed,
        "c",
        "policy.json",
        &format!("{r}/testbed/busybox:latest"),
        &scope,
        "no signature found",
    );

    // Signed by a key the policy does not name.
    let wrong = format!("{r}/testbed/wrongkey:v1");
    bed.ok(
        "src",
        Some("policy.json"),
        &[
            "-q",
            "push",
            "--sign-by-sigstore-private-key",
            bed.path("other.key").to_str().unwrap(),
            &format!("{r}/testbed/busybox:latest"),
            &wrong,
        ],
    );
    assert_refused(
        &bed,
        "c",
        "policy.json",
        &wrong,
        &scope,
        "not signed by a trusted key",
    );

    // Re-tagged: a valid signature of busybox's digest placed as the signature of another image.
    let retag = format!("{r}/testbed/retag:v1");
    bed.ok(
        "src",
        Some("policy.json"),
        &["-q", "push", &format!("{r}/testbed/layers:latest"), &retag],
    );
    let other = bed.digest(&retag);
    let sk =
        gantry_trust::cosign_key::decrypt(key.as_bytes(), b"correct horse", "trusted.key").unwrap();
    let payload = gantry_trust::payload::build(&retag, &d, 1);
    bed.push_signature_image(
        "testbed/retag",
        &format!("sha256-{}.sig", &other["sha256:".len()..]),
        &payload,
        &gantry_trust::sign::sign(&sk, &payload),
    );
    assert_refused(
        &bed,
        "c",
        "policy.json",
        &retag,
        &scope,
        &format!("the signature is for manifest {d} but {other} was pulled"),
    );

    // Tampered: the payload was changed after signing.
    let tampered = format!("{r}/testbed/tampered:v1");
    bed.ok(
        "src",
        Some("policy.json"),
        &[
            "-q",
            "push",
            &format!("{r}/testbed/busybox:latest"),
            &tampered,
        ],
    );
    let good = gantry_trust::payload::build(&tampered, &d, 1);
    let evil = gantry_trust::payload::build(&tampered, &d, 2);
    bed.push_signature_image(
        "testbed/tampered",
        &format!("sha256-{}.sig", &d["sha256:".len()..]),
        &evil,
        &gantry_trust::sign::sign(&sk, &good),
    );
    assert_refused(
        &bed,
        "c",
        "policy.json",
        &tampered,
        &scope,
        "not signed by a trusted key",
    );

    // Signed for another tag of the same repository: matchRepoDigestOrExact refuses it by tag...
    let moved = format!("{r}/testbed/signed:v2");
    bed.skopeo_copy(&format!("docker://{signed}"), &format!("docker://{moved}"));
    assert_refused(
        &bed,
        "c",
        "policy.json",
        &moved,
        &scope,
        &format!("the signature is for {signed} but {moved} was pulled"),
    );
    // ...and accepts it by digest.
    bed.ok(
        "c",
        Some("policy.json"),
        &["-q", "pull", &format!("{r}/testbed/signed@{d}")],
    );

    // Sigstore bundles attached as OCI 1.1 referrers (cosign 3's layout, fallback tag schema): accepted when
    // signed by the trusted key, refused when signed by another.
    let bundled = format!("{r}/testbed/bundled:v1");
    bed.ok(
        "src",
        Some("policy.json"),
        &[
            "-q",
            "push",
            &format!("{r}/testbed/busybox:latest"),
            &bundled,
        ],
    );
    bed.attach_bundle("testbed/bundled", &d, &dsse_bundle(&sk, &d));
    let o = bed.ok("e", Some("policy.json"), &["pull", &bundled]);
    assert!(
        stderr(&o).contains("signature verified for"),
        "{}",
        stderr(&o)
    );
    let forged = format!("{r}/testbed/forged:v1");
    bed.ok(
        "src",
        Some("policy.json"),
        &[
            "-q",
            "push",
            &format!("{r}/testbed/busybox:latest"),
            &forged,
        ],
    );
    let stranger = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    bed.attach_bundle("testbed/forged", &d, &dsse_bundle(&stranger, &d));
    assert_refused(
        &bed,
        "f",
        "policy.json",
        &forged,
        &scope,
        "Sigstore bundle: not signed by a trusted key",
    );
}

/// `sh -c script sh ARGS…` (add the ARGS) in a private mount namespace.
fn in_private_mounts(script: &str) -> Command {
    let mut c = Command::new("unshare");
    c.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
    ]);
    c
}

#[test]
fn scopes_default_reject_skip_and_trust_commands() {
    let bed = Bed::new("scopes");
    let r = bed.addr.clone();
    std::fs::write(
        bed.path("scopes.json"),
        serde_json::json!({
            "default": [{"type": "insecureAcceptAnything"}],
            "transports": {"docker": {
                r.clone(): [{"type": "reject"}],
                format!("{r}/testbed/busybox"): [{"type": "insecureAcceptAnything"}],
                format!("{r}/testbed/layers:latest"): [{"type": "reject"}],
                format!("{r}/testbed/layers"): [{"type": "insecureAcceptAnything"}],
            }}
        })
        .to_string(),
    )
    .unwrap();
    // Most specific scope wins: repository over registry, tag over repository.
    bed.ok(
        "s",
        Some("scopes.json"),
        &["-q", "pull", &format!("{r}/testbed/busybox:latest")],
    );
    assert_refused(
        &bed,
        "s",
        "scopes.json",
        &format!("{r}/testbed/layers:latest"),
        &format!("\"{r}/testbed/layers:latest\""),
        "rejects this scope",
    );
    bed.ok(
        "s",
        Some("scopes.json"),
        &["-q", "pull", &format!("{r}/testbed/layers:docker")],
    );
    assert_refused(
        &bed,
        "s",
        "scopes.json",
        &format!("{r}/testbed/multiarch:latest"),
        &format!("\"{r}\""),
        "rejects this scope",
    );

    // No policy file anywhere: gantry refuses remote images; --insecure-skip-verify overrides once, loudly.
    let hidden = |args: &[&str]| -> Output {
        let script = "set -e; for d in /etc/containers /etc/gantry; do if [ -d $d ]; then mount -t tmpfs none $d; fi; done; exec \"$@\"";
        let out = in_private_mounts(script)
            .args([env!("CARGO_BIN_EXE_gantry"), "--root"])
            .arg(bed.path("d"))
            .args(args)
            .env("GANTRY_REGISTRIES_CONF", "/nonexistent/registries.toml")
            .env_remove("GANTRY_POLICY")
            .output()
            .unwrap();
        eprintln!(
            "$ (no policy files) gantry {args:?} -> {:?}\n{}",
            out.status.code(),
            stderr(&out)
        );
        out
    };
    let image = format!("{r}/testbed/busybox:latest");
    let o = hidden(&["-q", "pull", &image]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains(&image)
            && e.contains("built-in default (no policy file)")
            && e.contains("gantry trust add"),
        "{e}"
    );
    let o = hidden(&["-q", "pull", "--insecure-skip-verify", &image]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("WARNING: --insecure-skip-verify: NOT checking the signature of")
            && stderr(&o).contains("would refuse")
    );
    // The skipped pull recorded the image.
    let o = hidden(&["images"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("busybox"));

    // trust add / list / rm edit a policy file that pull then obeys.
    bed.ok(
        "t",
        None,
        &["trust", "generate-key", bed.path("k").to_str().unwrap()],
    );

    // With no gantry policy, `trust add` starts /etc/gantry/policy.json from gantry's reject default, not from a
    // permissive /etc/containers/policy.json (run over an overlay of /etc in a private mount namespace).
    let upper = bed.path("etc-overlay");
    let script = "set -e; t=$1; shift; mkdir -p $t/u $t/w; \
        mount -t overlay overlay -o lowerdir=/etc,upperdir=$t/u,workdir=$t/w /etc; \
        rm -f /etc/gantry/policy.json; mkdir -p /etc/containers; \
        echo '{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}' > /etc/containers/policy.json; \
        \"$@\"; cat /etc/gantry/policy.json";
    let out = in_private_mounts(script)
        .arg(&upper)
        .arg(env!("CARGO_BIN_EXE_gantry"))
        .args(["trust", "add", "--key", bed.path("k.pub").to_str().unwrap()])
        .arg(format!("{r}/testbed"))
        .env_remove("GANTRY_POLICY")
        .output()
        .unwrap();
    let (doc, e) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(out.status.success(), "{e}");
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(
        doc["default"],
        serde_json::json!([{"type": "reject"}]),
        "{doc}"
    );
    assert!(
        doc["transports"]["docker"][format!("{r}/testbed")].is_array(),
        "{doc}"
    );
    assert!(
        e.contains("/etc/containers/policy.json stops applying to gantry"),
        "{e}"
    );
    std::fs::write(bed.path("edit.json"), r#"{"default":[{"type":"reject"}],"transports":{"oci-archive":{"":[{"type":"insecureAcceptAnything"}]}}}"#).unwrap();
    bed.ok(
        "t",
        Some("edit.json"),
        &[
            "trust",
            "add",
            "--key",
            bed.path("k.pub").to_str().unwrap(),
            &format!("{r}/testbed"),
        ],
    );
    bed.ok(
        "t",
        Some("edit.json"),
        &[
            "trust",
            "add",
            "--accept-anything",
            &format!("{r}/testbed/layers"),
        ],
    );
    let o = bed.ok("t", Some("edit.json"), &["trust", "list"]);
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(
        list.contains(&format!("{r}/testbed "))
            && list.contains("sigstoreSigned")
            && list.contains("k.pub"),
        "{list}"
    );
    let doc = std::fs::read_to_string(bed.path("edit.json")).unwrap();
    assert!(
        doc.contains("oci-archive"),
        "unknown transports are kept: {doc}"
    );
    bed.ok(
        "s",
        Some("edit.json"),
        &[
            "-q",
            "push",
            "--sign-by-sigstore-private-key",
            bed.path("k.key").to_str().unwrap(),
            &image,
            &format!("{r}/testbed/app:v1"),
        ],
    );
    bed.ok(
        "t2",
        Some("edit.json"),
        &["-q", "pull", &format!("{r}/testbed/app:v1")],
    );
    bed.ok(
        "t2",
        Some("edit.json"),
        &["-q", "pull", &format!("{r}/testbed/layers:latest")],
    );
    bed.ok(
        "t",
        Some("edit.json"),
        &["trust", "rm", &format!("{r}/testbed")],
    );
    assert_refused(
        &bed,
        "t3",
        "edit.json",
        &format!("{r}/testbed/app:v1"),
        "policy default",
        "rejects this scope",
    );
    let o = bed.gantry(
        "t",
        Some("edit.json"),
        &["trust", "rm", &format!("{r}/testbed")],
    );
    assert!(!o.status.success() && stderr(&o).contains("no docker scope"));
    let o = bed.gantry(
        "t",
        Some("edit.json"),
        &["trust", "add", "--accept-anything", "busybox"],
    );
    assert!(
        !o.status.success() && stderr(&o).contains("must start with a registry host"),
        "{}",
        stderr(&o)
    );
}
