//! OCI Distribution client: references, auth, pull and push with retries.
