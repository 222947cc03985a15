//! The runc-compatible command-line surface (clap structs only, no behaviour).
