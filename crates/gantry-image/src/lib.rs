//! Content-addressed image store, manifests, and safe layer unpacking.
