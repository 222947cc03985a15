//! Image signatures exchanged with the real tools, in both directions: sigstore-enabled skopeo 1.18, cosign 2.5
//! and podman 5.4 from a Debian trixie chroot (scripts/trixie-sigstore.sh builds it once per machine; Debian 12's
//! skopeo and podman are built with sigstore disabled). The chroot shares the host's network, so its tools reach
//! the test's loopback registry, and the test's scratch directory is bind-mounted at the same path inside.
//!
//! - skopeo and cosign sign, gantry verifies: accepted under a policy naming their public key; unsigned, wrong-key,
//!   re-tagged (a signature moved to another digest) and tampered (payload edited) images refused with one line.
//! - gantry signs (`gantry push --sign-by-sigstore-private-key`, keys from `gantry trust generate-key`), and
//!   skopeo copy and podman pull (`sigstoreSigned` policies) and `cosign verify --key` accept it; cosign and skopeo
//!   sign with gantry's key file.
//! - RSA, P-384 and Ed25519 keys: skopeo signs with them, gantry verifies; gantry signs with the P-384 and Ed25519
//!   ones and skopeo verifies; cosign signs with an Ed25519 key it imported.
//!
//! Run as root; a missing chroot (no debootstrap, no package mirror) fails the tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use base64::Engine as _;

mod common;
use common::stderr;
use common::trust_bed::{assert_refused, Bed};

/// The passphrase every encrypted key in these tests uses.
const PASS: &str = "correct horse";

fn chroot_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/trixie-sigstore.sh")
}

/// Builds the trixie chroot unless it exists (once per machine; the script serialises concurrent builders).
fn ensure_chroot() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let start = std::time::Instant::now();
        let out = Command::new(chroot_script())
            .arg("build")
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/trixie-sigstore.sh");
        assert!(
            out.status.success(),
            "scripts/trixie-sigstore.sh build failed: these tests need the Debian trixie chroot with sigstore-enabled \
             skopeo, cosign and podman (root, debootstrap, and the Debian package mirror reachable)"
        );
        eprintln!("trixie chroot ready in {:.1} s", start.elapsed().as_secs_f64());
    });
}

/// Runs a tool in the trixie chroot with the bed's directory shared and as the working directory.
fn trixie(bed: &Bed, env: &[(&str, &str)], args: &[&str]) -> Output {
    ensure_chroot();
    let out = Command::new(chroot_script())
        .args(["run", "env"])
        .args(env.iter().map(|(k, v)| format!("{k}={v}")))
        .args(args)
        .env("TRIXIE_SHARE", &bed.dir)
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/trixie-sigstore.sh");
    eprintln!(
        "$ (trixie) {} -> {:?}\n{}{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    out
}

/// [`trixie`], which must succeed; returns stdout and stderr.
fn trixie_ok(bed: &Bed, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = trixie(bed, env, args);
    assert!(out.status.success(), "(trixie) {args:?} failed");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out))
}

/// `skopeo copy` in the chroot: `policy` (a file in the bed), the bed's registries.d, plain HTTP, optional signing.
fn skopeo_copy(bed: &Bed, policy: &str, sign_key: Option<&str>, from: &str, to: &str) -> Output {
    let (policy, rd) = (bed.path(policy), bed.path("registries.d"));
    let mut args = vec![
        "skopeo",
        "--policy",
        policy.to_str().unwrap(),
        "--registries.d",
        rd.to_str().unwrap(),
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
    ];
    if let Some(k) = sign_key {
        args.extend([
            "--sign-by-sigstore-private-key",
            k,
            "--sign-passphrase-file",
            "pass",
        ]);
    }
    args.extend([from, to]);
    trixie(bed, &[], &args)
}

/// `cosign sign --key KEY` of `image` (by digest), without a transparency log, over plain HTTP.
fn cosign_sign(bed: &Bed, key: &str, image: &str) {
    trixie_ok(
        bed,
        &[("COSIGN_PASSWORD", PASS)],
        &[
            "cosign",
            "sign",
            "--key",
            key,
            "--tlog-upload=false",
            "--allow-http-registry",
            "-y",
            image,
        ],
    );
}

/// A bed with the passphrase file `pass` and the source images pulled into root `src` (unverified).
fn bed(what: &str) -> Bed {
    let bed = Bed::new(what);
    std::fs::write(bed.path("pass"), format!("{PASS}\n")).unwrap();
    for img in ["busybox", "layers"] {
        bed.ok(
            "src",
            Some("accept.json"),
            &["-q", "pull", &format!("{}/testbed/{img}:latest", bed.addr)],
        );
    }
    bed
}

/// Writes `name` in the bed: reject by default, `sigstoreSigned` with `key` (a file in the bed) for each scope.
fn policy(bed: &Bed, name: &str, scopes: &[(&str, &str, &str)]) {
    let mut docker = serde_json::Map::new();
    for (scope, key, identity) in scopes {
        docker.insert(
            format!("{}/{scope}", bed.addr),
            serde_json::json!([{"type": "sigstoreSigned", "keyPath": bed.path(key),
                "signedIdentity": {"type": identity}}]),
        );
    }
    let doc =
        serde_json::json!({"default": [{"type": "reject"}], "transports": {"docker": docker}});
    std::fs::write(bed.path(name), doc.to_string()).unwrap();
}

/// Copies a testbed image to `dest` (`repo:tag` in the bed's registry) with skopeo, unsigned; returns its digest.
fn copy_unsigned(bed: &Bed, image: &str, dest: &str) -> String {
    let out = skopeo_copy(
        bed,
        "accept.json",
        None,
        &format!("docker://{}/testbed/{image}:latest", bed.addr),
        &format!("docker://{}/{dest}", bed.addr),
    );
    assert!(out.status.success(), "skopeo copy to {dest}");
    bed.digest(&format!("{}/{dest}", bed.addr))
}

/// The payload and the base64 signature of the first layer of a `.sig` tag, fetched with curl.
fn signature_layer(bed: &Bed, repo: &str, digest: &str) -> (Vec<u8>, String) {
    let get = |url: String| -> Vec<u8> {
        let out = Command::new("curl")
            .args([
                "-sf",
                "-H",
                "Accept: application/vnd.oci.image.manifest.v1+json",
            ])
            .arg(&url)
            .output()
            .expect("curl is installed");
        assert!(out.status.success(), "GET {url}");
        out.stdout
    };
    let tag = format!("sha256-{}.sig", &digest["sha256:".len()..]);
    let m: serde_json::Value = serde_json::from_slice(&get(format!(
        "http://{}/v2/{repo}/manifests/{tag}",
        bed.addr
    )))
    .unwrap();
    let layer = &m["layers"][0];
    let payload = get(format!(
        "http://{}/v2/{repo}/blobs/{}",
        bed.addr,
        layer["digest"].as_str().unwrap()
    ));
    let sig = layer["annotations"]["dev.cosignproject.cosign/signature"]
        .as_str()
        .unwrap()
        .to_string();
    (payload, sig)
}

#[test]
fn skopeo_signed_images_accepted_and_refused() {
    let bed = bed("skopeo");
    let r = bed.addr.clone();
    for k in ["skopeo", "stranger"] {
        trixie_ok(
            &bed,
            &[],
            &[
                "skopeo",
                "generate-sigstore-key",
                "--output-prefix",
                k,
                "--passphrase-file",
                "pass",
            ],
        );
    }
    policy(
        &bed,
        "policy.json",
        &[("skopeo", "skopeo.pub", "matchRepoDigestOrExact")],
    );
    let busybox = format!("docker://{r}/testbed/busybox:latest");

    // Signed by skopeo with the trusted key: accepted, the digest skopeo signed is the one pulled.
    let signed = format!("{r}/skopeo/signed:v1");
    let out = skopeo_copy(
        &bed,
        "accept.json",
        Some("skopeo.private"),
        &busybox,
        &format!("docker://{signed}"),
    );
    assert!(
        out.status.success() && common::stdout(&out).contains("Storing signatures"),
        "skopeo signs"
    );
    let d = bed.digest(&signed);
    let o = bed.ok("a", Some("policy.json"), &["pull", &signed]);
    assert!(
        stderr(&o).contains(&format!("{signed}: signature verified for {d}")),
        "{}",
        stderr(&o)
    );
    let scope = format!("\"{r}/skopeo\"");

    // Unsigned.
    copy_unsigned(&bed, "busybox", "skopeo/unsigned:v1");
    assert_refused(
        &bed,
        "b",
        "policy.json",
        &format!("{r}/skopeo/unsigned:v1"),
        &scope,
        "no signature found",
    );

    // Signed by skopeo with a key the policy does not name.
    let wrong = format!("{r}/skopeo/wrongkey:v1");
    let out = skopeo_copy(
        &bed,
        "accept.json",
        Some("stranger.private"),
        &busybox,
        &format!("docker://{wrong}"),
    );
    assert!(out.status.success());
    assert_refused(
        &bed,
        "b",
        "policy.json",
        &wrong,
        &scope,
        "not signed by a trusted key",
    );

    // Re-tagged: skopeo's signature of busybox copied, unchanged, as the signature of another image.
    let other = copy_unsigned(&bed, "layers", "skopeo/retag:v1");
    let hex = |d: &str| d["sha256:".len()..].to_string();
    let out = skopeo_copy(
        &bed,
        "accept.json",
        None,
        &format!("docker://{r}/skopeo/signed:sha256-{}.sig", hex(&d)),
        &format!("docker://{r}/skopeo/retag:sha256-{}.sig", hex(&other)),
    );
    assert!(out.status.success());
    assert_refused(
        &bed,
        "b",
        "policy.json",
        &format!("{r}/skopeo/retag:v1"),
        &scope,
        &format!("the signature is for manifest {d} but {other} was pulled"),
    );

    // Tampered: skopeo's payload edited to name another image, its signature kept.
    let (payload, sig) = signature_layer(&bed, "skopeo/signed", &d);
    let text = String::from_utf8(payload).unwrap();
    assert!(
        text.contains(&d),
        "skopeo's payload names the digest: {text}"
    );
    let evil = copy_unsigned(&bed, "layers", "skopeo/tampered:v1");
    bed.push_signature_image(
        "skopeo/tampered",
        &format!("sha256-{}.sig", hex(&evil)),
        text.replace(&d, &evil)
            .replace("skopeo/signed:v1", "skopeo/tampered:v1")
            .as_bytes(),
        &base64::engine::general_purpose::STANDARD
            .decode(sig)
            .unwrap(),
    );
    assert_refused(
        &bed,
        "b",
        "policy.json",
        &format!("{r}/skopeo/tampered:v1"),
        &scope,
        "not signed by a trusted key",
    );
}

#[test]
fn cosign_signed_images_accepted_and_refused() {
    let bed = bed("cosign");
    let r = bed.addr.clone();
    for k in ["cosign", "stranger"] {
        trixie_ok(
            &bed,
            &[("COSIGN_PASSWORD", PASS)],
            &["cosign", "generate-key-pair", "--output-key-prefix", k],
        );
    }
    // cosign signs the repository (its payload names no tag): matchRepository, as containers/image advises.
    policy(
        &bed,
        "policy.json",
        &[("cosign", "cosign.pub", "matchRepository")],
    );
    policy(
        &bed,
        "exact.json",
        &[("cosign", "cosign.pub", "matchRepoDigestOrExact")],
    );
    let scope = format!("\"{r}/cosign\"");

    // cosign 2's default: the `.sig` tag.
    let d = copy_unsigned(&bed, "busybox", "cosign/signed:v1");
    cosign_sign(&bed, "cosign.key", &format!("{r}/cosign/signed@{d}"));
    let signed = format!("{r}/cosign/signed:v1");
    let o = bed.ok("a", Some("policy.json"), &["pull", &signed]);
    assert!(
        stderr(&o).contains(&format!("signature verified for {d}")),
        "{}",
        stderr(&o)
    );
    // By tag, matchRepoDigestOrExact wants the signature to name that tag; by digest it is accepted.
    assert_refused(
        &bed,
        "b",
        "exact.json",
        &signed,
        &scope,
        &format!("the signature is for {r}/cosign/signed but {signed} was pulled"),
    );
    bed.ok(
        "b",
        Some("exact.json"),
        &["-q", "pull", &format!("{r}/cosign/signed@{d}")],
    );

    // Signed by cosign with another key.
    let d2 = copy_unsigned(&bed, "busybox", "cosign/wrongkey:v1");
    cosign_sign(&bed, "stranger.key", &format!("{r}/cosign/wrongkey@{d2}"));
    assert_refused(
        &bed,
        "c",
        "policy.json",
        &format!("{r}/cosign/wrongkey:v1"),
        &scope,
        "not signed by a trusted key",
    );

    // cosign's OCI 1.1 mode: the signature as a referrer (the `sha256-<hex>` fallback tag on this registry).
    let d3 = copy_unsigned(&bed, "layers", "cosign/referrer:v1");
    trixie_ok(
        &bed,
        &[("COSIGN_PASSWORD", PASS), ("COSIGN_EXPERIMENTAL", "1")],
        &[
            "cosign",
            "sign",
            "--key",
            "cosign.key",
            "--tlog-upload=false",
            "--allow-http-registry",
            "--registry-referrers-mode=oci-1-1",
            "-y",
            &format!("{r}/cosign/referrer@{d3}"),
        ],
    );
    let o = bed.ok(
        "d",
        Some("policy.json"),
        &["pull", &format!("{r}/cosign/referrer:v1")],
    );
    assert!(
        stderr(&o).contains(&format!("signature verified for {d3}")),
        "{}",
        stderr(&o)
    );

    // An attestation (cosign attest --new-bundle-format: a Sigstore bundle over a custom predicate) by the trusted
    // key is not a signature. cosign 2.5 indexes it under the fallback tag with the empty artifact type; attached
    // again with the bundle artifact type (what the referrers API reports), gantry reads it, checks its DSSE
    // signature (the statement is read only after that) and refuses it.
    let d4 = copy_unsigned(&bed, "busybox", "cosign/attested:v1");
    std::fs::write(bed.path("predicate.json"), r#"{"verdict":"vulnerable"}"#).unwrap();
    trixie_ok(
        &bed,
        &[("COSIGN_PASSWORD", PASS)],
        &[
            "cosign",
            "attest",
            "--new-bundle-format",
            "--key",
            "cosign.key",
            "--type",
            "custom",
            "--predicate",
            "predicate.json",
            "--tlog-upload=false",
            "--allow-http-registry",
            "-y",
            &format!("{r}/cosign/attested@{d4}"),
        ],
    );
    let bundle = referrer_bundle(&bed, "cosign/attested", &d4);
    bed.attach_bundle("cosign/attested", &d4, &bundle);
    assert_refused(
        &bed,
        "e",
        "policy.json",
        &format!("{r}/cosign/attested:v1"),
        &scope,
        // cosign 2.5 writes in-toto v0.1 statements; cosign 3's v1 ones are refused for their predicate type.
        "Sigstore bundle: statement _type is not",
    );
}

/// The bundle layer of the first referrer of `digest` in `repo`, through the `sha256-<hex>` fallback tag.
fn referrer_bundle(bed: &Bed, repo: &str, digest: &str) -> Vec<u8> {
    let get = |what: &str, accept: &str| -> Vec<u8> {
        let url = format!("http://{}/v2/{repo}/{what}", bed.addr);
        let out = Command::new("curl")
            .args(["-sf", "-H", &format!("Accept: {accept}")])
            .arg(&url)
            .output()
            .expect("curl is installed");
        assert!(out.status.success(), "GET {url}");
        out.stdout
    };
    let json = |b: Vec<u8>| -> serde_json::Value { serde_json::from_slice(&b).unwrap() };
    let index = json(get(
        &format!("manifests/sha256-{}", &digest["sha256:".len()..]),
        "application/vnd.oci.image.index.v1+json",
    ));
    let manifest = json(get(
        &format!(
            "manifests/{}",
            index["manifests"][0]["digest"].as_str().unwrap()
        ),
        "application/vnd.oci.image.manifest.v1+json",
    ));
    get(
        &format!(
            "blobs/{}",
            manifest["layers"][0]["digest"].as_str().unwrap()
        ),
        "*/*",
    )
}

#[test]
fn gantry_signed_images_accepted_by_skopeo_podman_and_cosign() {
    let bed = bed("gantry");
    let r = bed.addr.clone();
    let pass = bed.path("pass");
    for k in ["gk", "stranger"] {
        bed.ok(
            "src",
            None,
            &[
                "trust",
                "generate-key",
                "--passphrase-file",
                pass.to_str().unwrap(),
                bed.path(k).to_str().unwrap(),
            ],
        );
    }
    let push = |key: Option<&str>, src: &str, dest: &str| {
        let mut args = vec!["-q", "push"];
        let key_path = key.map(|k| bed.path(k));
        if let Some(k) = &key_path {
            args.extend([
                "--sign-by-sigstore-private-key",
                k.to_str().unwrap(),
                "--passphrase-file",
                pass.to_str().unwrap(),
            ]);
        }
        let (src, dest) = (format!("{r}/testbed/{src}:latest"), format!("{r}/{dest}"));
        args.extend([src.as_str(), dest.as_str()]);
        bed.ok("src", Some("accept.json"), &args);
        bed.digest(&dest)
    };
    let d = push(Some("gk.key"), "busybox", "gantry/signed:v1");
    push(None, "busybox", "gantry/unsigned:v1");
    let signed = format!("{r}/gantry/signed:v1");
    // The policies skopeo and podman read: gantry's public key, or a stranger's.
    policy(
        &bed,
        "trusted.json",
        &[("gantry", "gk.pub", "matchRepoDigestOrExact")],
    );
    policy(
        &bed,
        "untrusted.json",
        &[("gantry", "stranger.pub", "matchRepoDigestOrExact")],
    );

    // skopeo copy verifies gantry's signature under sigstoreSigned; a stranger's key or no signature is refused.
    let to_dir = |name: &str| format!("dir:{}", bed.path(name).display());
    let out = skopeo_copy(
        &bed,
        "trusted.json",
        None,
        &format!("docker://{signed}"),
        &to_dir("copy1"),
    );
    assert!(out.status.success(), "skopeo accepts gantry's signature");
    let out = skopeo_copy(
        &bed,
        "untrusted.json",
        None,
        &format!("docker://{signed}"),
        &to_dir("copy2"),
    );
    assert!(
        !out.status.success() && stderr(&out).contains("rejected"),
        "skopeo must refuse a signature by another key"
    );
    let out = skopeo_copy(
        &bed,
        "trusted.json",
        None,
        &format!("docker://{r}/gantry/unsigned:v1"),
        &to_dir("copy3"),
    );
    assert!(
        !out.status.success() && stderr(&out).contains("rejected"),
        "skopeo must refuse the unsigned image"
    );

    // podman pull (vfs storage in the bed) verifies it too.
    std::fs::write(
        bed.path("storage.conf"),
        format!(
            "[storage]\ndriver = \"vfs\"\nrunroot = \"{0}/podman-run\"\ngraphroot = \"{0}/podman-root\"\n",
            bed.dir.display()
        ),
    )
    .unwrap();
    std::fs::write(bed.path("registries.conf"), "").unwrap();
    let (storage, registries) = (bed.path("storage.conf"), bed.path("registries.conf"));
    let podman_env = [
        ("CONTAINERS_STORAGE_CONF", storage.to_str().unwrap()),
        ("CONTAINERS_REGISTRIES_CONF", registries.to_str().unwrap()),
        ("PODMAN_IGNORE_CGROUPSV1_WARNING", "1"),
    ];
    let trusted = bed.path("trusted.json");
    let podman_pull = |image: &str| {
        trixie(
            &bed,
            &podman_env,
            &[
                "podman",
                "pull",
                "--tls-verify=false",
                "--signature-policy",
                trusted.to_str().unwrap(),
                image,
            ],
        )
    };
    let out = podman_pull(&signed);
    assert!(out.status.success(), "podman accepts gantry's signature");
    let out = podman_pull(&format!("{r}/gantry/unsigned:v1"));
    assert!(
        !out.status.success() && stderr(&out).contains("rejected"),
        "podman must refuse the unsigned image"
    );

    // cosign verify --key accepts gantry's signature and refuses a stranger's key.
    let cosign_verify = |key: &str| {
        trixie(
            &bed,
            &[],
            &[
                "cosign",
                "verify",
                "--key",
                key,
                "--insecure-ignore-tlog=true",
                "--allow-http-registry",
                &signed,
            ],
        )
    };
    let out = cosign_verify("gk.pub");
    assert!(
        out.status.success(),
        "cosign verify accepts gantry's signature"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&d),
        "cosign prints the verified payload"
    );
    assert!(!cosign_verify("stranger.pub").status.success());

    // cosign and skopeo sign with gantry's key file (cosign's encrypted format); gantry verifies both.
    let d2 = push(None, "layers", "gantry/cosigned:v1");
    cosign_sign(&bed, "gk.key", &format!("{r}/gantry/cosigned@{d2}"));
    policy(
        &bed,
        "repo.json",
        &[("gantry", "gk.pub", "matchRepository")],
    );
    bed.ok(
        "a",
        Some("repo.json"),
        &["-q", "pull", &format!("{r}/gantry/cosigned:v1")],
    );
    let out = skopeo_copy(
        &bed,
        "accept.json",
        Some("gk.key"),
        &format!("docker://{r}/testbed/layers:latest"),
        &format!("docker://{r}/gantry/skopeo-signed:v1"),
    );
    assert!(out.status.success(), "skopeo signs with gantry's key");
    bed.ok(
        "a",
        Some("trusted.json"),
        &["-q", "pull", &format!("{r}/gantry/skopeo-signed:v1")],
    );
}

/// An openssl-made private key of `kind` as a cosign encrypted key (`NAME.key`) and its public key (`NAME.pub`).
/// Debian's cosign 2.5 `import-key-pair` refuses RSA and ECDSA keys ("unsupported public key type"), so gantry's
/// encoder seals the PKCS#8 key: the format skopeo reads is the same.
fn openssl_key(bed: &Bed, name: &str, genpkey: &[&str]) {
    let pem = bed.path(&format!("{name}.pem"));
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
        out.stdout
    };
    let mut args = vec!["genpkey", "-out", pem.to_str().unwrap()];
    args.extend(genpkey);
    run(&args);
    let der = run(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-outform",
        "DER",
        "-in",
        pem.to_str().unwrap(),
    ]);
    let sealed = gantry_trust::cosign_key::encrypt(&der, PASS.as_bytes()).unwrap();
    std::fs::write(bed.path(&format!("{name}.key")), sealed).unwrap();
    let public = run(&["pkey", "-pubout", "-in", pem.to_str().unwrap()]);
    std::fs::write(bed.path(&format!("{name}.pub")), public).unwrap();
}

#[test]
fn rsa_p384_and_ed25519_keys() {
    let bed = bed("keys");
    let r = bed.addr.clone();
    let kinds: [(&str, &[&str]); 3] = [
        (
            "rsa",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
        ),
        (
            "p384",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        ),
        ("ed25519", &["-algorithm", "ed25519"]),
    ];
    for (name, args) in kinds {
        openssl_key(&bed, name, args);
    }
    let scopes: Vec<(String, String)> = kinds
        .iter()
        .map(|(k, _)| (format!("keys/{k}"), format!("{k}.pub")))
        .collect();
    let scope_refs: Vec<(&str, &str, &str)> = scopes
        .iter()
        .map(|(s, k)| (s.as_str(), k.as_str(), "matchRepoDigestOrExact"))
        .collect();
    policy(&bed, "policy.json", &scope_refs);
    for (name, _) in kinds {
        let image = format!("{r}/keys/{name}:v1");
        let out = skopeo_copy(
            &bed,
            "accept.json",
            Some(&format!("{name}.key")),
            &format!("docker://{r}/testbed/busybox:latest"),
            &format!("docker://{image}"),
        );
        assert!(out.status.success(), "skopeo signs with the {name} key");
        let o = bed.ok(name, Some("policy.json"), &["pull", &image]);
        assert!(
            stderr(&o).contains("signature verified for"),
            "{}",
            stderr(&o)
        );
        // The same signature under another key type's scope (a repository of its namespace) is refused.
        let other = if name == "rsa" { "p384" } else { "rsa" };
        let moved = format!("{r}/keys/{other}/from-{name}:v1");
        let out = skopeo_copy(
            &bed,
            "accept.json",
            Some(&format!("{name}.key")),
            &format!("docker://{r}/testbed/busybox:latest"),
            &format!("docker://{moved}"),
        );
        assert!(out.status.success());
        let o = bed.gantry(
            &format!("{name}-x"),
            Some("policy.json"),
            &["-q", "pull", &moved],
        );
        assert!(
            !o.status.success() && stderr(&o).contains("not signed by a trusted key"),
            "{}",
            stderr(&o)
        );
    }
    // gantry signs with the P-384 and Ed25519 keys; skopeo (sigstoreSigned policy naming the key) and gantry
    // accept the signatures. RSA keys are refused before anything is pushed.
    let pass = bed.path("pass");
    let push = |key: &str, dest: &str| {
        let key = bed.path(key);
        bed.gantry(
            "src",
            Some("accept.json"),
            &[
                "-q",
                "push",
                "--sign-by-sigstore-private-key",
                key.to_str().unwrap(),
                "--passphrase-file",
                pass.to_str().unwrap(),
                &format!("{r}/testbed/layers:latest"),
                &format!("{r}/{dest}"),
            ],
        )
    };
    for name in ["p384", "ed25519"] {
        let dest = format!("keys/{name}/by-gantry:v1");
        assert!(push(&format!("{name}.key"), &dest).status.success());
        let out = skopeo_copy(
            &bed,
            "policy.json",
            None,
            &format!("docker://{r}/{dest}"),
            &format!("dir:{}", bed.path(&format!("copy-{name}")).display()),
        );
        assert!(
            out.status.success(),
            "skopeo accepts gantry's {name} signature"
        );
        bed.ok(
            &format!("{name}-g"),
            Some("policy.json"),
            &["-q", "pull", &format!("{r}/{dest}")],
        );
    }
    let o = push("rsa.key", "keys/rsa/by-gantry:v1");
    assert!(
        !o.status.success() && stderr(&o).contains("gantry does not sign with RSA keys"),
        "{}",
        stderr(&o)
    );

    // cosign imports an Ed25519 key itself and signs with it.
    std::fs::copy(bed.path("ed25519.pem"), bed.path("ed-openssl.pem")).unwrap();
    trixie_ok(
        &bed,
        &[("COSIGN_PASSWORD", PASS)],
        &[
            "cosign",
            "import-key-pair",
            "--key",
            "ed-openssl.pem",
            "--output-key-prefix",
            "ed-cosign",
        ],
    );
    let d = copy_unsigned(&bed, "layers", "keys/ed-cosign:v1");
    cosign_sign(&bed, "ed-cosign.key", &format!("{r}/keys/ed-cosign@{d}"));
    policy(
        &bed,
        "ed.json",
        &[("keys/ed-cosign", "ed-cosign.pub", "matchRepository")],
    );
    bed.ok(
        "ed",
        Some("ed.json"),
        &["-q", "pull", &format!("{r}/keys/ed-cosign:v1")],
    );
}
