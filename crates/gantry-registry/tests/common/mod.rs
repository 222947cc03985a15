//! Helpers shared by the integration tests: the loopback testbed registry and an in-process fake.
#![allow(dead_code)]

pub mod fake;
pub mod testbed;

use gantry_registry::{
    Descriptor, Digest, DirSink, PullOptions, Reference, RegistryConfig, RetryPolicy,
};
use std::time::Duration;

/// Pull options for tests: quiet, no auth files, fast retries.
pub fn opts(reference: &str) -> PullOptions {
    let mut o = PullOptions::new(Reference::parse(reference).expect("test reference"));
    o.auth = gantry_registry::AuthFiles::new(vec![]);
    o.config = RegistryConfig::default();
    o.progress = gantry_registry::ProgressMode::Quiet;
    o.retry = RetryPolicy {
        attempts: 3,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    o
}

/// Re-hashes a committed blob of `sink` and checks size and digest.
pub fn assert_blob_ok(sink: &DirSink, d: &Descriptor) {
    let bytes = sink
        .read_blob(&d.digest)
        .unwrap_or_else(|e| panic!("blob {} missing: {e}", d.digest));
    assert_eq!(bytes.len() as u64, d.size, "size of {}", d.digest);
    assert_eq!(
        Digest::compute(d.digest.algorithm(), &bytes),
        d.digest,
        "digest of {}",
        d.digest
    );
}
