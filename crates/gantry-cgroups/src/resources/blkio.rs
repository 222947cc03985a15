//! `linux.resources.blockIO`: v1 `blkio.*`, v2 `io.weight`/`io.bfq.weight` and `io.max`.

use super::target::{invalid, unsupported, Target};
use crate::cgroup::{Cgroup, Version};
use crate::error::CgroupError;
use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

const WEIGHT: &str = "linux.resources.blockIO.weight";
const LEAF_WEIGHT: &str = "linux.resources.blockIO.leafWeight";

/// io.weight for a v1 blkio weight (runc's linear map of [10, 1000] onto [1, 10000]).
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    1 + (u64::from(weight.clamp(10, 1000)) - 10) * 9999 / 990
}

fn check_weight(value: Option<u16>, field: &str) -> Result<Option<u16>, CgroupError> {
    match value {
        None | Some(0) => Ok(None),
        Some(w) if (10..=1000).contains(&w) => Ok(Some(w)),
        Some(w) => Err(invalid(field, format!("{w} is out of range 10-1000"))),
    }
}

/// The four throttle lists with their v1 file and v2 `io.max` key.
fn throttles(
    b: &LinuxBlockIo,
) -> [(
    &Option<Vec<LinuxThrottleDevice>>,
    &'static str,
    &'static str,
    &'static str,
); 4] {
    [
        (
            b.throttle_read_bps_device(),
            "throttleReadBpsDevice",
            "blkio.throttle.read_bps_device",
            "rbps",
        ),
        (
            b.throttle_write_bps_device(),
            "throttleWriteBpsDevice",
            "blkio.throttle.write_bps_device",
            "wbps",
        ),
        (
            b.throttle_read_iops_device(),
            "throttleReadIOPSDevice",
            "blkio.throttle.read_iops_device",
            "riops",
        ),
        (
            b.throttle_write_iops_device(),
            "throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
            "wiops",
        ),
    ]
}

fn check_device(major: i64, minor: i64, field: &str) -> Result<(), CgroupError> {
    if major < 0 || minor < 0 {
        return Err(invalid(
            field,
            format!("device {major}:{minor} needs non-negative major and minor numbers"),
        ));
    }
    Ok(())
}

/// Applies the block I/O settings.
pub(super) fn apply(cgroup: &Cgroup, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    let weight = check_weight(b.weight(), WEIGHT)?;
    let leaf_weight = check_weight(b.leaf_weight(), LEAF_WEIGHT)?;
    let devices = b.weight_device().as_deref().unwrap_or_default();
    for (i, d) in devices.iter().enumerate() {
        let field = format!("linux.resources.blockIO.weightDevice[{i}]");
        check_device(d.major(), d.minor(), &field)?;
        check_weight(d.weight(), &format!("{field}.weight"))?;
        check_weight(d.leaf_weight(), &format!("{field}.leafWeight"))?;
    }
    let mut any_throttle = None;
    for (list, name, _, _) in throttles(b) {
        for (i, t) in list.as_deref().unwrap_or_default().iter().enumerate() {
            check_device(
                t.major(),
                t.minor(),
                &format!("linux.resources.blockIO.{name}[{i}]"),
            )?;
            any_throttle.get_or_insert(name);
        }
    }
    let first = if weight.is_some() {
        WEIGHT.to_owned()
    } else if leaf_weight.is_some() {
        LEAF_WEIGHT.to_owned()
    } else if !devices.is_empty() {
        "linux.resources.blockIO.weightDevice".to_owned()
    } else if let Some(name) = any_throttle {
        format!("linux.resources.blockIO.{name}")
    } else {
        return Ok(());
    };
    let target = cgroup.target("blkio", "io", &first)?;
    match target.version {
        Version::V1 => apply_v1(&target, b, weight, leaf_weight),
        Version::V2 => apply_v2(&target, b, weight, leaf_weight),
    }
}

fn apply_v1(
    target: &Target<'_>,
    b: &LinuxBlockIo,
    weight: Option<u16>,
    leaf: Option<u16>,
) -> Result<(), CgroupError> {
    let devices = b.weight_device().as_deref().unwrap_or_default();
    // Kernels without CFQ only have the BFQ weight files (looked up only when a weight is set).
    let bfq = (weight.is_some() || devices.iter().any(|d| d.weight().is_some()))
        && !target.has("blkio.weight")?;
    let (weight_file, device_file) = if bfq {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    } else {
        ("blkio.weight", "blkio.weight_device")
    };
    if let Some(w) = weight {
        target.write_int(weight_file, i64::from(w), WEIGHT)?;
    }
    if let Some(w) = leaf {
        target.write_int("blkio.leaf_weight", i64::from(w), LEAF_WEIGHT)?;
    }
    for (i, d) in b
        .weight_device()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if let Some(w) = d.weight() {
            let line = format!("{}:{} {w}", d.major(), d.minor());
            target.write(
                device_file,
                line.as_bytes(),
                &format!("linux.resources.blockIO.weightDevice[{i}].weight"),
            )?;
        }
        if let Some(w) = d.leaf_weight() {
            let line = format!("{}:{} {w}", d.major(), d.minor());
            let field = format!("linux.resources.blockIO.weightDevice[{i}].leafWeight");
            target.write("blkio.leaf_weight_device", line.as_bytes(), &field)?;
        }
    }
    for (list, name, file, _) in throttles(b) {
        for (i, t) in list.as_deref().unwrap_or_default().iter().enumerate() {
            let line = format!("{}:{} {}", t.major(), t.minor(), t.rate());
            target.write(
                file,
                line.as_bytes(),
                &format!("linux.resources.blockIO.{name}[{i}]"),
            )?;
        }
    }
    Ok(())
}

fn apply_v2(
    target: &Target<'_>,
    b: &LinuxBlockIo,
    weight: Option<u16>,
    leaf: Option<u16>,
) -> Result<(), CgroupError> {
    if leaf.is_some() {
        return Err(unsupported(
            LEAF_WEIGHT,
            Version::V2,
            "cgroup v2 has no leaf weights; unset it",
        ));
    }
    let devices = b.weight_device().as_deref().unwrap_or_default();
    if weight.is_some() || devices.iter().any(|d| d.weight().is_some()) {
        // BFQ takes the v1 scale unchanged; io.weight needs the conversion.
        let bfq = target.has("io.bfq.weight")?;
        let (file, convert): (&str, fn(u16) -> u64) = if bfq {
            ("io.bfq.weight", u64::from)
        } else {
            ("io.weight", blkio_weight_to_io_weight)
        };
        if let Some(w) = weight {
            let line = format!("default {}", convert(w));
            target.write(file, line.as_bytes(), WEIGHT)?;
        }
        for (i, d) in devices.iter().enumerate() {
            if let Some(w) = d.weight() {
                let line = format!("{}:{} {}", d.major(), d.minor(), convert(w));
                target.write(
                    file,
                    line.as_bytes(),
                    &format!("linux.resources.blockIO.weightDevice[{i}].weight"),
                )?;
            }
        }
    }
    if let Some(i) = devices.iter().position(|d| d.leaf_weight().is_some()) {
        let field = format!("linux.resources.blockIO.weightDevice[{i}].leafWeight");
        return Err(unsupported(
            &field,
            Version::V2,
            "cgroup v2 has no leaf weights; unset it",
        ));
    }
    for (list, name, _, key) in throttles(b) {
        for (i, t) in list.as_deref().unwrap_or_default().iter().enumerate() {
            // v1 semantics: a rate of 0 removes the limit.
            let line = if t.rate() == 0 {
                format!("{}:{} {key}=max", t.major(), t.minor())
            } else {
                format!("{}:{} {key}={}", t.major(), t.minor(), t.rate())
            };
            target.write(
                "io.max",
                line.as_bytes(),
                &format!("linux.resources.blockIO.{name}[{i}]"),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{get, put, Fake};

    fn resources(json: &str) -> oci_spec::runtime::LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn weight_conversion_matches_runc() {
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10000);
    }

    #[test]
    fn v1_files() {
        let fake = Fake::v1(&["blkio"]);
        let dir = fake.dir("blkio");
        for f in [
            "blkio.weight",
            "blkio.weight_device",
            "blkio.leaf_weight",
            "blkio.throttle.read_bps_device",
            "blkio.throttle.write_iops_device",
        ] {
            put(&dir, f, "");
        }
        let r = r#"{"blockIO":{"weight":300,"leafWeight":200,"weightDevice":[{"major":8,"minor":0,"weight":400}],
            "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],"throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":50}]}}"#;
        fake.cgroup.apply(&resources(r)).unwrap();
        assert_eq!(get(&dir, "blkio.weight"), "300");
        assert_eq!(get(&dir, "blkio.leaf_weight"), "200");
        assert_eq!(get(&dir, "blkio.weight_device"), "8:0 400");
        assert_eq!(get(&dir, "blkio.throttle.read_bps_device"), "8:0 1048576");
        assert_eq!(get(&dir, "blkio.throttle.write_iops_device"), "8:16 50");
    }

    #[test]
    fn v1_falls_back_to_bfq_and_names_missing_files() {
        let fake = Fake::v1(&["blkio"]);
        put(&fake.dir("blkio"), "blkio.bfq.weight", "");
        fake.cgroup
            .apply(&resources(r#"{"blockIO":{"weight":100}}"#))
            .unwrap();
        assert_eq!(get(&fake.dir("blkio"), "blkio.bfq.weight"), "100");
        let err = fake
            .cgroup
            .apply(&resources(r#"{"blockIO":{"leafWeight":100}}"#))
            .unwrap_err();
        assert!(
            err.to_string().contains("blkio.leaf_weight does not exist"),
            "{err}"
        );
    }

    #[test]
    fn v2_converts() {
        let fake = Fake::v2();
        let dir = fake.dir("");
        put(&dir, "io.weight", "");
        put(&dir, "io.max", "");
        fake.cgroup
            .apply(&resources(r#"{"blockIO":{"weight":500}}"#))
            .unwrap();
        assert_eq!(get(&dir, "io.weight"), "default 4950");
        fake.cgroup
            .apply(&resources(
                r#"{"blockIO":{"throttleWriteBpsDevice":[{"major":8,"minor":0,"rate":0}]}}"#,
            ))
            .unwrap();
        assert_eq!(get(&dir, "io.max"), "8:0 wbps=max");
        let err = fake
            .cgroup
            .apply(&resources(r#"{"blockIO":{"leafWeight":500}}"#))
            .unwrap_err();
        assert!(matches!(err, CgroupError::Unsupported { .. }));
        let err = fake
            .cgroup
            .apply(&resources(r#"{"blockIO":{"weight":5}}"#))
            .unwrap_err();
        assert!(
            err.to_string().contains("linux.resources.blockIO.weight"),
            "{err}"
        );
    }
}
