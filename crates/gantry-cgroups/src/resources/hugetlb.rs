//! `linux.resources.hugepageLimits`: v1 `hugetlb.<size>.limit_in_bytes`, v2 `hugetlb.<size>.max` (and the
//! matching `rsvd` reservation limits where the kernel has them).

use super::target::invalid;
use crate::cgroup::{Cgroup, Version};
use crate::error::CgroupError;
use oci_spec::runtime::LinuxHugepageLimit;

/// Applies every hugepage limit.
pub(super) fn apply(cgroup: &Cgroup, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for (i, l) in limits.iter().enumerate() {
        let size = l.page_size();
        let valid = size.len() > 2
            && (size.ends_with("KB") || size.ends_with("MB") || size.ends_with("GB"))
            && size[..size.len() - 2].bytes().all(|b| b.is_ascii_digit());
        if !valid {
            let field = format!("linux.resources.hugepageLimits[{i}].pageSize");
            return Err(invalid(
                &field,
                format!("{size:?} is not a page size like 2MB or 1GB"),
            ));
        }
        if l.limit() < -1 {
            let field = format!("linux.resources.hugepageLimits[{i}].limit");
            return Err(invalid(
                &field,
                format!(
                    "{} is neither -1 (unlimited) nor a number of bytes",
                    l.limit()
                ),
            ));
        }
    }
    if limits.is_empty() {
        return Ok(());
    }
    let target = cgroup.target("hugetlb", "hugetlb", "linux.resources.hugepageLimits")?;
    for (i, l) in limits.iter().enumerate() {
        let field = format!("linux.resources.hugepageLimits[{i}]");
        let size = l.page_size();
        let (limit_file, rsvd_file) = match target.version {
            Version::V1 => (
                format!("hugetlb.{size}.limit_in_bytes"),
                format!("hugetlb.{size}.rsvd.limit_in_bytes"),
            ),
            Version::V2 => (
                format!("hugetlb.{size}.max"),
                format!("hugetlb.{size}.rsvd.max"),
            ),
        };
        target.write_limit(&limit_file, l.limit(), &field)?;
        if target.dir.join(&rsvd_file).exists() {
            target.write_limit(&rsvd_file, l.limit(), &field)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testutil::{get, put, Fake};
    use crate::CgroupError;

    #[test]
    fn hybrid_uses_the_unified_hugetlb_like_this_host() {
        let fake = Fake::hybrid(&["memory"]);
        let dir = fake.dir("unified");
        put(&dir, "hugetlb.2MB.max", "");
        put(&dir, "hugetlb.2MB.rsvd.max", "");
        let r = serde_json::from_str(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}"#)
            .unwrap();
        fake.cgroup.apply(&r).unwrap();
        assert_eq!(get(&dir, "hugetlb.2MB.max"), "4194304");
        assert_eq!(get(&dir, "hugetlb.2MB.rsvd.max"), "4194304");
        let r =
            serde_json::from_str(r#"{"hugepageLimits":[{"pageSize":"3XB","limit":1}]}"#).unwrap();
        let err = fake.cgroup.apply(&r).unwrap_err();
        assert!(
            err.to_string().contains("hugepageLimits[0].pageSize"),
            "{err}"
        );
        let r =
            serde_json::from_str(r#"{"hugepageLimits":[{"pageSize":"1GB","limit":1}]}"#).unwrap();
        let err = fake.cgroup.apply(&r).unwrap_err();
        assert!(
            matches!(
                err,
                CgroupError::MissingController {
                    controller: "hugetlb",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn v1_file_names() {
        let fake = Fake::v1(&["hugetlb"]);
        put(&fake.dir("hugetlb"), "hugetlb.2MB.limit_in_bytes", "");
        let r =
            serde_json::from_str(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":-1}]}"#).unwrap();
        fake.cgroup.apply(&r).unwrap();
        assert_eq!(
            get(&fake.dir("hugetlb"), "hugetlb.2MB.limit_in_bytes"),
            "-1"
        );
    }
}
