//! Container ids: they become directory names under the state root, so they are checked strictly, by the one rule
//! of the workspace ([`gantry_oci::container_id`], runc's).

use crate::error::{Error, Result};

/// Checks that `id` is a single, safe path component by runc's rule ([`gantry_oci::container_id::validate`]).
pub fn validate(id: &str) -> Result<()> {
    gantry_oci::container_id::validate(id).map_err(|e| Error::InvalidId {
        id: id.to_owned(),
        reason: e.reason(),
    })
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn refusals_name_the_id_and_the_reason() {
        assert!(validate("abc-123").is_ok());
        let err = validate("a/b").unwrap_err().to_string();
        assert!(err.contains("a/b") && err.contains("'/'"), "{err}");
    }
}
