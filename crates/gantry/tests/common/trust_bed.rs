//! The signature tests' bed: a scratch directory with the testbed's images, a loopback registry holding them,
//! a `registries.d` that stores sigstore signatures as attachments, and helpers to run gantry and skopeo.

use std::path::PathBuf;
use std::process::{Command, Output};

use base64::Engine as _;
use sha2::Digest as _;

use super::{run_logged, sh, stop_registry};

/// A scratch directory with a built image layout and a running loopback registry; all removed on drop.
pub struct Bed {
    /// The scratch directory.
    pub dir: PathBuf,
    /// The registry's `host:port`.
    pub addr: String,
}

impl Bed {
    /// Builds the testbed images into a fresh scratch directory named after `what` and the process, starts its
    /// registry and pushes them.
    pub fn new(what: &str) -> Bed {
        let dir = std::env::temp_dir().join(format!("gantry-trust-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("registries.d")).unwrap();
        sh(
            "images.sh",
            &[dir.join("imgs").to_str().unwrap()],
            &dir.join("state"),
        );
        // Beds start side by side: each probes for a free port from its own start, so two registries rarely
        // race for one port (registry.sh picks the first free one at or above REGISTRY_PORT).
        let hash = dir
            .to_string_lossy()
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        let out = Command::new(super::testbed().join("registry.sh"))
            .arg("start")
            .env("TESTBED_STATE", dir.join("state"))
            .env("REGISTRY_PORT", (5100 + hash % 800).to_string())
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run registry.sh");
        assert!(
            out.status.success(),
            "registry.sh start failed: the testbed is needed for these tests"
        );
        let addr = String::from_utf8_lossy(&out.stdout).trim().to_string();
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

    /// A path in the scratch directory.
    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    /// `gantry --root DIR/ROOT --policy DIR/POLICY ARGS`.
    pub fn gantry(&self, root: &str, policy: Option<&str>, args: &[&str]) -> Output {
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

    /// [`Bed::gantry`], which must succeed.
    pub fn ok(&self, root: &str, policy: Option<&str>, args: &[&str]) -> Output {
        let out = self.gantry(root, policy, args);
        assert!(out.status.success(), "gantry {args:?} failed");
        out
    }

    /// `skopeo copy` with the attachments config and an accept-anything policy.
    pub fn skopeo_copy(&self, from: &str, to: &str) -> String {
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
    pub fn digest(&self, image: &str) -> String {
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
    pub fn push_signature_image(&self, repo: &str, tag: &str, payload: &[u8], signature: &[u8]) {
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

impl Drop for Bed {
    fn drop(&mut self) {
        stop_registry(&self.dir.join("state"));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Asserts a refused pull: failure, a single stderr line naming image, scope and reason, and nothing recorded.
pub fn assert_refused(bed: &Bed, root: &str, policy: &str, image: &str, scope: &str, reason: &str) {
    let o = bed.gantry(root, Some(policy), &["-q", "pull", image]);
    assert!(!o.status.success(), "pull of {image} must be refused");
    let e = super::stderr(&o);
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

/// Media and artifact type of a Sigstore bundle.
pub const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

impl Bed {
    /// `curl` against the registry API; returns (HTTP status, headers + body).
    pub fn curl(&self, args: &[&str]) -> String {
        let out = Command::new("curl")
            .args(["-s", "-i"])
            .args(args)
            .output()
            .expect("curl is installed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Uploads a blob to `repo`; returns its digest.
    pub fn put_blob(&self, repo: &str, data: &[u8]) -> String {
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
    pub fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, body: &str) {
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
    pub fn attach_bundle(&self, repo: &str, subject: &str, bundle: &[u8]) {
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
