//! Policy parser and scope selection, on documents shaped like containers-policy.json(5).

use gantry_registry::Reference;
use gantry_trust::policy::{Material, Requirement, SignedIdentity};
use gantry_trust::{plan, Plan, Policy};

fn parse(s: &str) -> Policy {
    Policy::parse(s.as_bytes(), "test.json").unwrap_or_else(|e| panic!("{e}"))
}

fn err(s: &str) -> String {
    Policy::parse(s.as_bytes(), "test.json")
        .unwrap_err()
        .to_string()
}

const FULL: &str = r#"{
  "default": [{"type": "reject"}],
  "transports": {
    "docker": {
      "": [{"type": "insecureAcceptAnything"}],
      "quay.io": [{"type": "reject"}],
      "quay.io/ns": [{"type": "sigstoreSigned", "keyPath": "/k/ns.pub"}],
      "quay.io/ns/app:v1": [{"type": "sigstoreSigned", "keyPaths": ["/k/a.pub", "/k/b.pub"],
                             "signedIdentity": {"type": "matchRepository"}}],
      "*.example.com": [{"type": "sigstoreSigned", "keyData": "LS0tLQ==",
                         "signedIdentity": {"type": "remapIdentity", "prefix": "mirror.example.com/x", "signedPrefix": "quay.io/x"}}],
      "reg.lan:5000/k": [{"type": "sigstoreSigned",
                          "fulcio": {"caPath": "/ca.pem", "oidcIssuer": "https://issuer", "subjectEmail": "a@b.c"},
                          "rekorPublicKeyPath": "/rekor.pub",
                          "signedIdentity": {"type": "exactRepository", "dockerRepository": "quay.io/ns/app"}}]
    },
    "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]},
    "atomic": {"": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/x.gpg"}]}
  }
}"#;

fn scope_of(p: &Policy, r: &str) -> String {
    p.requirements_for(&Reference::parse(r).unwrap())
        .scope
        .to_string()
}

#[test]
fn most_specific_scope_wins() {
    let p = parse(FULL);
    assert_eq!(scope_of(&p, "quay.io/ns/app:v1"), "quay.io/ns/app:v1");
    assert_eq!(scope_of(&p, "quay.io/ns/app:v2"), "quay.io/ns");
    assert_eq!(scope_of(&p, "quay.io/ns/app/deeper:v2"), "quay.io/ns");
    assert_eq!(scope_of(&p, "quay.io/other:v2"), "quay.io");
    assert_eq!(scope_of(&p, "mirror.example.com/x/y"), "*.example.com");
    assert_eq!(scope_of(&p, "a.b.example.com:444/x/y"), "*.example.com");
    assert_eq!(scope_of(&p, "reg.lan:5000/k/app"), "reg.lan:5000/k");
    assert_eq!(scope_of(&p, "reg.lan/k/app"), "docker transport default");
    assert_eq!(scope_of(&p, "busybox"), "docker transport default");
}

#[test]
fn requirements_are_parsed() {
    let p = parse(FULL);
    let d = &p.transports["docker"];
    let Requirement::SigstoreSigned(s) = &d["quay.io/ns/app:v1"][0] else {
        panic!()
    };
    assert_eq!(
        s.keys,
        [
            Material::Path("/k/a.pub".into()),
            Material::Path("/k/b.pub".into())
        ]
    );
    assert_eq!(s.signed_identity, SignedIdentity::MatchRepository);
    let Requirement::SigstoreSigned(s) = &d["quay.io/ns"][0] else {
        panic!()
    };
    assert_eq!(s.signed_identity, SignedIdentity::MatchRepoDigestOrExact);
    let Requirement::SigstoreSigned(s) = &d["*.example.com"][0] else {
        panic!()
    };
    assert_eq!(s.keys, [Material::Data(b"----".to_vec())]);
    let Requirement::SigstoreSigned(s) = &d["reg.lan:5000/k"][0] else {
        panic!()
    };
    let f = s.fulcio.as_ref().unwrap();
    assert_eq!(
        (f.oidc_issuer.as_str(), f.subject_email.as_str()),
        ("https://issuer", "a@b.c")
    );
    assert_eq!(s.rekor_keys, [Material::Path("/rekor.pub".into())]);
    assert_eq!(
        s.signed_identity,
        SignedIdentity::ExactRepository("quay.io/ns/app".into())
    );
    assert_eq!(p.transports["atomic"][""], [Requirement::SignedBy]);
}

#[test]
fn plans() {
    let p = parse(FULL);
    let r = |s: &str| Reference::parse(s).unwrap();
    assert!(matches!(plan(&p, &r("busybox")), Plan::Accept { .. }));
    assert!(matches!(
        plan(&p, &r("quay.io/ns/app")),
        Plan::Verify { .. }
    ));
    let Plan::Reject(refusal) = plan(&p, &r("quay.io/x:1")) else {
        panic!()
    };
    let line = refusal.to_string();
    assert!(
        line.contains("quay.io/x:1") && line.contains("\"quay.io\"") && line.contains("test.json"),
        "{line}"
    );
    assert!(!line.contains('\n'));
    // Gantry's own default refuses every remote image.
    let Plan::Reject(refusal) = plan(&Policy::default_reject(), &r("127.0.0.1:5000/a/b")) else {
        panic!()
    };
    assert!(
        refusal.to_string().contains("built-in default"),
        "{refusal}"
    );
}

#[test]
fn relative_key_paths_follow_the_policy_file() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("policy.json");
    std::fs::write(
        &f,
        r#"{"default":[{"type":"sigstoreSigned","keyPath":"keys/a.pub"}]}"#,
    )
    .unwrap();
    let p = Policy::load(&f).unwrap();
    let Requirement::SigstoreSigned(s) = &p.default[0] else {
        panic!()
    };
    assert_eq!(s.keys, [Material::Path(d.path().join("keys/a.pub"))]);
}

#[test]
fn bad_documents_name_the_field() {
    let cases: &[(&str, &str)] = &[
        ("", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ("{}", "default: missing"),
        (r#"{"default":[]}"#, "empty requirement list"),
        (
            r#"{"default":[{"type":"rejectt"}]}"#,
            "default[0].type: unknown requirement type",
        ),
        (
            r#"{"default":[{"type":"reject","x":1}]}"#,
            "default[0].x: unknown field",
        ),
        (
            r#"{"default":[{"type":"reject"}],"extra":1}"#,
            "extra: unknown field",
        ),
        (
            r#"{"default":[{"type":"sigstoreSigned"}]}"#,
            "needs exactly one of keyPath",
        ),
        (
            r#"{"default":[{"type":"sigstoreSigned","keyPath":"a","keyData":"YQ=="}]}"#,
            "mutually exclusive",
        ),
        (
            r#"{"default":[{"type":"sigstoreSigned","keyData":"!!"}]}"#,
            "default[0].keyData: not valid base64",
        ),
        (
            r#"{"default":[{"type":"sigstoreSigned","keyPaths":[]}]}"#,
            "must not be empty",
        ),
        (
            r#"{"default":[{"type":"sigstoreSigned","keyPath":"a","fulcio":{"caPath":"c","oidcIssuer":"i","subjectEmail":"e"}}]}"#,
            "mutually exclusive",
        ),
        (
            r#"{"default":[{"type":"sigstoreSigned","fulcio":{"caPath":"c","oidcIssuer":"i","subjectEmail":"e"}}]}"#,
            "rekorPublicKey",
        ),
        (
            r#"{"default":[{"type":"sigstoreSigned","fulcio":{"caPath":"c","subjectEmail":"e"},"rekorPublicKeyPath":"r"}]}"#,
            "fulcio.oidcIssuer: missing",
        ),
        (
            r#"{"default":[{"type":"sigstoreSigned","keyPath":"a","signedIdentity":{"type":"nope"}}]}"#,
            "signedIdentity.type: unknown signedIdentity type",
        ),
        (
            r#"{"default":[{"type":"sigstoreSigned","keyPath":"a","signedIdentity":{"type":"exactReference","dockerReference":"quay.io/a"}}]}"#,
            "must name a tag or digest",
        ),
        (
            r#"{"default":[{"type":"sigstoreSigned","keyPath":"a","signedIdentity":{"type":"exactRepository","dockerRepository":"quay.io/a:1"}}]}"#,
            "without tag",
        ),
        (
            r#"{"default":[{"type":"sigstoreSigned","keyPath":"a","signedIdentity":{"type":"remapIdentity","prefix":"quay.io"}}]}"#,
            "signedPrefix: missing",
        ),
        (
            r#"{"default":[{"type":"reject"}],"transports":{"docker":{"busybox":[{"type":"reject"}]}}}"#,
            "transports.docker.\"busybox\": scope must start with a registry host",
        ),
        (
            r#"{"default":[{"type":"reject"}],"transports":{"docker":[]}}"#,
            "transports.docker: must be an object",
        ),
    ];
    for (doc, want) in cases {
        let e = err(doc);
        assert!(e.contains(want), "{doc}\n  got: {e}\n  want: {want}");
        assert!(e.starts_with("policy test.json: "), "{e}");
    }
}

#[test]
fn podman_default_policy_reads_unchanged() {
    let p = parse(
        r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker-daemon":{"":[{"type":"insecureAcceptAnything"}]}}}"#,
    );
    assert!(matches!(
        plan(&p, &Reference::parse("quay.io/a").unwrap()),
        Plan::Accept { .. }
    ));
}
