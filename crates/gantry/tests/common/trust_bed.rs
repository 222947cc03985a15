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
    pub fn new(what: &str) -> Bed {
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
