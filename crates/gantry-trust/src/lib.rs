//! Image trust: the signature policy (containers-policy.json(5) compatible) and offline verification of
//! sigstore signatures, plus the key tools `gantry trust` and `gantry push --sign-by-sigstore-private-key` use.
//!
//! Synchronous and network-free: the engine fetches signatures through gantry-registry and hands them here.
//! Gantry's stance when no policy file exists is rkt's: remote images are refused unless a scope is trusted
//! ([`Policy::default_reject`]).
#![forbid(unsafe_code)]

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
