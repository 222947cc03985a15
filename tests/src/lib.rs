//! Test harness: bundles, runtime invocation and cleanup guards for integration tests.
