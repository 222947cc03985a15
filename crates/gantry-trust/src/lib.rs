//! Image trust: the signature policy (containers-policy.json(5) compatible) and offline verification of
//! sigstore signatures, plus the key tools `gantry trust` and `gantry push --sign-by-sigstore-private-key` use.
//!
//! Synchronous and network-free: the engine fetches signatures through gantry-registry and hands them here.
//! Gantry's stance when no policy file exists is rkt's: remote images are refused unless a scope is trusted
//! ([`Policy::default_reject`]).
#![forbid(unsafe_code)]

pub mod bundle;
mod bundle_keyless;
pub mod cosign_key;
pub mod edit;
pub mod error;
pub mod fulcio;
pub mod identity;
pub mod keys;
pub mod load;
pub mod payload;
pub mod policy;
pub mod scope;
pub mod sign;
pub mod verify;

pub use error::TrustError;
pub use load::{load_effective, PolicyLocation};
pub use policy::{Policy, Requirement, SignedIdentity, SigstoreSigned};
pub use verify::{plan, verify, Accepted, Plan, Refusal, Signature};

/// The entry point the fuzz target and the malformed-input test share: every parser of untrusted input in this
/// crate over the same bytes. Must never panic; every error must be one line.
#[doc(hidden)]
pub fn fuzz_untrusted(data: &[u8]) {
    let one_line = |e: &dyn std::fmt::Display| {
        let s = e.to_string();
        assert!(!s.contains('\n'), "multi-line error: {s}");
    };
    match Policy::parse(data, "fuzz") {
        Ok(p) => {
            for r in ["quay.io/ns/app:v1", "127.0.0.1:5000/a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "busybox"] {
                let r = gantry_registry::Reference::parse(r).expect("valid reference");
                if let Plan::Reject(e) = plan(&p, &r) {
                    one_line(&e);
                }
                let sig = Signature { payload: data.to_vec(), ..Default::default() };
                if let Err(e) = verify(&p, &r, "sha256:00", &[sig], "fuzz") {
                    one_line(&e);
                }
                let _ = edit::list(&p);
            }
        }
        Err(e) => one_line(&e),
    }
    match payload::parse(data) {
        Ok(p) => {
            let r =
                gantry_registry::Reference::parse("quay.io/ns/app:v1").expect("valid reference");
            for rule in [SignedIdentity::MatchExact, SignedIdentity::MatchRepository] {
                if let Err(e) = identity::check(&rule, &r, &p.docker_reference) {
                    assert!(
                        !e.contains('\n') || p.docker_reference.contains('\n'),
                        "{e}"
                    );
                }
            }
        }
        Err(e) => one_line(&e),
    }
    if let Err(e) = keys::parse_pem_keys(data, "fuzz") {
        one_line(&e);
    }
}
