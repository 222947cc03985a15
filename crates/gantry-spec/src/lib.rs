//! Loads and validates an OCI runtime bundle's config.json; generates default specs.
