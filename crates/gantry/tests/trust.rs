//! Image signatures end to end against the testbed's loopback registry: gantry signs on push, verifies on pull,
//! and refuses unsigned, wrong-key, re-tagged and tampered images with one line naming the image, the scope and
//! the reason; skopeo copies gantry's signatures (reading and rewriting the `.sig` attachment with
//! `use-sigstore-attachments`) and gantry verifies the copy; policy scopes, gantry's default (reject when no
//! policy file exists) and `--insecure-skip-verify`; `gantry trust add/list/rm`; Sigstore bundles attached as OCI 1.1
//! referrers (cosign 3's layout on a registry without the referrers API). Run as root.
//!
//! Debian 12's skopeo 1.9 and podman 4.3 are built with sigstore disabled ("Debian-local change: sigstore
//! disabled"): they can neither sign nor verify sigstore signatures, so the signing and verifying on the other
//! side of these interop checks cannot be Debian's tools; skopeo still moves the attachments.

use std::path::PathBuf;
use std::process::{Command, Output};

use base64::Engine as _;
use sha2::Digest as _;

mod common;
use common::{run_logged, sh, stop_registry};

/// A scratch directory with a built image layout and a running loopback registry; all removed on drop.
struct Bed {
    dir: PathBuf,
    addr: String,
}

impl Bed {
    fn new(what: &str) -> Bed {
        let dir = std::env::temp_dir().join(format!("gantry-trust-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("registries.d")).unwrap();
        sh(
            "images.sh",
            &[dir.join("imgs").to_str().unwrap()],
            &dir.join("state"),
        );
        let addr = sh("registry.sh", &["start"], &dir.join("state"))
            .trim()
            .to_string();
        assert!(!addr.is_empty());
        let bed = Bed { dir, addr };
        sh(
            "registry.sh",
            &["push", bed.dir.join("imgs/oci").to_str().unwrap()],
            &bed.dir.join("state"),
        );
        std::fs::write(
            bed.dir.join("registries.d/loopback.yaml"),
            format!(
                "docker:\n  {}:\n    use-sigstore-attachments: true\n",
                bed.addr
            ),
        )
        .unwrap();
        std::fs::write(
            bed.dir.join("accept.json"),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        bed
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    /// `gantry --root DIR/ROOT --policy DIR/POLICY ARGS`.
    fn gantry(&self, root: &str, policy: Option<&str>, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gantry"));
        c.arg("--root").arg(self.path(root));
        if let Some(p) = policy {
            c.arg("--policy").arg(self.path(p));
        }
        c.args(args)
            .env("GANTRY_REGISTRIES_CONF", "/nonexistent/registries.toml")
            .env_remove("GANTRY_POLICY");
        run_logged(&mut c, args)
    }

    fn ok(&self, root: &str, policy: Option<&str>, args: &[&str]) -> Output {
        let out = self.gantry(root, policy, args);
        assert!(out.status.success(), "gantry {args:?} failed");
        out
    }

    /// `skopeo copy` with the attachments config and an accept-anything policy.
    fn skopeo_copy(&self, from: &str, to: &str) -> String {
        let out = Command::new("skopeo")
            .arg("--policy")
            .arg(self.path("accept.json"))
            .arg("--registries.d")
            .arg(self.path("registries.d"))
            .args([
                "copy",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                from,
                to,
            ])
            .output()
            .expect("skopeo must be installed (scripts/test.sh installs it)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "skopeo copy {from} {to}: {text}");
        text
    }

    /// Digest of a reference's manifest in the registry (via skopeo).
    fn digest(&self, image: &str) -> String {
        let out = Command::new("skopeo")
            .args([
                "inspect",
                "--raw",
                "--tls-verify=false",
                &format!("docker://{image}"),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "skopeo inspect {image}");
        format!("sha256:{:x}", sha2::Sha256::digest(&out.stdout))
    }

    /// Pushes a one-layer signature image (payload + annotation) as `repo:tag` through an OCI layout and skopeo.
    fn push_signature_image(&self, repo: &str, tag: &str, payload: &[u8], signature: &[u8]) {
        let layout = self.path(&format!("layout-{tag}"));
        let blobs = layout.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        let put = |b: &[u8]| -> (String, usize) {
            let hex = format!("{:x}", sha2::Sha256::digest(b));
            std::fs::write(blobs.join(&hex), b).unwrap();
            (format!("sha256:{hex}"), b.len())
        };
        let (pd, ps) = put(payload);
        let (cd, cs) = put(format!(r#"{{"architecture":"","os":"","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{pd}"]}}}}"#).as_bytes());
        let manifest = serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
            "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": pd, "size": ps,
                        "annotations": {"dev.cosignproject.cosign/signature": base64::engine::general_purpose::STANDARD.encode(signature)}}],
        });
        let (md, ms) = put(manifest.to_string().as_bytes());
        std::fs::write(
            layout.join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "sig"}}]});
        std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
        let dest = format!("docker://{}/{repo}:{tag}", self.addr);
        self.skopeo_copy(&format!("oci:{}:sig", layout.display()), &dest);
    }
}

const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

impl Bed {
    /// `curl` against the registry API; returns (HTTP status, headers + body).
    fn curl(&self, args: &[&str]) -> String {
        let out = Command::new("curl")
            .args(["-s", "-i"])
            .args(args)
            .output()
            .expect("curl is installed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Uploads a blob to `repo`; returns its digest.
    fn put_blob(&self, repo: &str, data: &[u8]) -> String {
        let d = format!("sha256:{:x}", sha2::Sha256::digest(data));
        let file = self.path(&format!("blob-{}", &d[7..19]));
        std::fs::write(&file, data).unwrap();
        let head = self.curl(&[
            "-X",
            "POST",
            &format!("http://{}/v2/{repo}/blobs/uploads/", self.addr),
        ]);
        let loc = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("Location: ")
                    .or_else(|| l.strip_prefix("location: "))
            })
            .expect("upload location")
            .trim()
            .to_string();
        let loc = if loc.starts_with("http") {
            loc
        } else {
            format!("http://{}{loc}", self.addr)
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let put = self.curl(&[
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &format!("@{}", file.display()),
            &format!("{loc}{sep}digest={d}"),
        ]);
        assert!(put.starts_with("HTTP/1.1 201"), "blob upload: {put}");
        d
    }

    /// Puts a manifest of `media_type` under `reference` (tag or digest) in `repo`.
    fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, body: &str) {
        let out = self.curl(&[
            "-X",
            "PUT",
            "-H",
            &format!("Content-Type: {media_type}"),
            "--data-binary",
            body,
            &format!("http://{}/v2/{repo}/manifests/{reference}", self.addr),
        ]);
        assert!(out.starts_with("HTTP/1.1 201"), "manifest upload: {out}");
    }

    /// Attaches a Sigstore bundle to `subject` in `repo` as an OCI 1.1 referrer, the way cosign 3 does on a
    /// registry without the referrers API: the artifact manifest, then the index under the `sha256-<hex>` tag.
    fn attach_bundle(&self, repo: &str, subject: &str, bundle: &[u8]) {
        let empty = self.put_blob(repo, b"{}");
        let layer = self.put_blob(repo, bundle);
        let manifest = serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": BUNDLE_TYPE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": BUNDLE_TYPE, "digest": layer, "size": bundle.len()}],
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject, "size": 0},
        })
        .to_string();
        let md = format!("sha256:{:x}", sha2::Sha256::digest(manifest.as_bytes()));
        self.put_manifest(
            repo,
            &md,
            "application/vnd.oci.image.manifest.v1+json",
            &manifest,
        );
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
                           "size": manifest.len(), "artifactType": BUNDLE_TYPE}]})
        .to_string();
        self.put_manifest(
            repo,
            &format!("sha256-{}", &subject[7..]),
            "application/vnd.oci.image.index.v1+json",
            &index,
        );
    }
}

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

impl Drop for Bed {
    fn drop(&mut self) {
        stop_registry(&self.dir.join("state"));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a refused pull: failure, a single stderr line naming image, scope and reason, and nothing recorded.
fn assert_refused(bed: &Bed, root: &str, policy: &str, image: &str, scope: &str, reason: &str) {
    let o = bed.gantry(root, Some(policy), &["-q", "pull", image]);
    assert!(!o.status.success(), "pull of {image} must be refused");
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "one line: {e}");
    for want in [image, scope, reason, "refused by the signature policy"] {
        assert!(e.contains(want), "{e:?} should contain {want:?}");
    }
    let images = bed.ok(root, Some(policy), &["images"]);
    let name = image.rsplit_once(':').unwrap().0;
    assert!(
        !String::from_utf8_lossy(&images.stdout).contains(name),
        "refused image must not be listed"
    );
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
