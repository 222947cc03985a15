//! The `features` document (runtime-spec features.md): what this runtime build and host support.
//!
//! oci-spec 0.10 has a `Features` type, but it lacks `linux.cgroup.v1`/`v2` and types seccomp
//! actions as an enum that cannot carry names newer than the crate; this one follows features.md
//! with plain strings. Fields this runtime knows nothing about are left out (features.md: an
//! absent field means "unknown", not "unsupported").

use std::collections::BTreeMap;

use serde::Serialize;

use crate::default_spec::OCI_VERSION;

/// Oldest runtime-spec version accepted in config.json.
pub const OCI_VERSION_MIN: &str = "1.0.0";

/// Every hook name of runtime-spec 1.3 (config.md "POSIX-platform Hooks").
pub const ALL_HOOKS: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Every namespace type of runtime-spec 1.3 (config-linux.md "Namespaces").
pub const ALL_NAMESPACES: &[&str] = &[
    "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
];

/// Every `linux.memoryPolicy.mode` of runtime-spec 1.3 (config-linux.md "Memory policy").
pub const ALL_MEMORY_POLICY_MODES: &[&str] = &[
    "MPOL_DEFAULT",
    "MPOL_BIND",
    "MPOL_INTERLEAVE",
    "MPOL_WEIGHTED_INTERLEAVE",
    "MPOL_PREFERRED",
    "MPOL_PREFERRED_MANY",
    "MPOL_LOCAL",
];

/// Every `linux.memoryPolicy.flags` entry of runtime-spec 1.3 (config-linux.md "Memory policy").
pub const ALL_MEMORY_POLICY_FLAGS: &[&str] = &[
    "MPOL_F_NUMA_BALANCING",
    "MPOL_F_RELATIVE_NODES",
    "MPOL_F_STATIC_NODES",
];

/// The `features` document. Serialises to features.md's JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    /// Oldest runtime-spec version supported.
    pub oci_version_min: String,
    /// Newest runtime-spec version supported.
    pub oci_version_max: String,
    /// Hook names recognised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Vec<String>>,
    /// Mount options recognised (flags and propagation words, not fs-specific data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_options: Option<Vec<String>>,
    /// Linux-specific features.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linux: Option<LinuxFeatures>,
    /// Implementation-specific facts, e.g. `org.opencontainers.runc.version`-style keys.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Annotation keys (or `prefix.` wildcards) that may change runtime behaviour unsafely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub potentially_unsafe_config_annotations: Option<Vec<String>>,
}

/// `linux` of the features document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxFeatures {
    /// Namespace types supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Capability names known (e.g. "CAP_SYS_ADMIN").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    /// cgroup drivers and versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<CgroupFeatures>,
    /// seccomp support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<SeccompFeatures>,
    /// AppArmor support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apparmor: Option<Enabled>,
    /// SELinux support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux: Option<Enabled>,
    /// Memory policy modes and flags recognised (runtime-spec 1.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_policy: Option<MemoryPolicyFeatures>,
    /// Intel RDT support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intel_rdt: Option<IntelRdtFeatures>,
    /// Mount extensions (id-mapped mounts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_extensions: Option<MountExtensions>,
    /// Moving host network devices into the container (`linux.netDevices`, runtime-spec 1.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_devices: Option<Enabled>,
}

/// `linux.memoryPolicy` (features-linux.md "MemoryPolicy").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryPolicyFeatures {
    /// `linux.memoryPolicy.mode` values recognised.
    pub modes: Vec<String>,
    /// `linux.memoryPolicy.flags` values recognised.
    pub flags: Vec<String>,
}

/// `linux.intelRdt` (features-linux.md "Intel RDT").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IntelRdtFeatures {
    /// Intel RDT (`linux.intelRdt`) supported at all.
    pub enabled: bool,
    /// `linux.intelRdt.schemata` supported (runtime-spec 1.3).
    pub schemata: bool,
    /// `linux.intelRdt.enableMonitoring` supported (runtime-spec 1.3).
    pub monitoring: bool,
}

/// `linux.cgroup`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CgroupFeatures {
    /// cgroup v1 supported.
    pub v1: bool,
    /// cgroup v2 supported.
    pub v2: bool,
    /// systemd cgroup driver supported (system instance).
    pub systemd: bool,
    /// systemd cgroup driver supported (user instance).
    pub systemd_user: bool,
    /// rdma controller supported.
    pub rdma: bool,
}

/// `linux.seccomp`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompFeatures {
    /// seccomp compiled in and available.
    pub enabled: bool,
    /// Actions supported (e.g. "SCMP_ACT_ERRNO").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    /// Operators supported (e.g. "SCMP_CMP_EQ").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operators: Option<Vec<String>>,
    /// Architectures supported (e.g. "SCMP_ARCH_X86_64").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archs: Option<Vec<String>>,
    /// Filter flags the runtime knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_flags: Option<Vec<String>>,
    /// Filter flags the runtime can apply on this host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_flags: Option<Vec<String>>,
}

/// `{"enabled": bool}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Enabled {
    /// Whether the feature is available.
    pub enabled: bool,
}

/// `linux.mountExtensions`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MountExtensions {
    /// Id-mapped mounts.
    pub idmap: Enabled,
}

/// Builds a [`Features`] from what the build and host support. Each setter replaces the field.
#[derive(Debug, Clone, Default)]
pub struct FeaturesBuilder {
    features: Features,
}

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Option<Vec<String>> {
    Some(items.into_iter().map(str::to_owned).collect())
}

impl FeaturesBuilder {
    /// Starts with the versions this crate implements (1.0.0 .. 1.3.0) and all hooks.
    pub fn new() -> Self {
        FeaturesBuilder {
            features: Features {
                oci_version_min: OCI_VERSION_MIN.to_owned(),
                oci_version_max: OCI_VERSION.to_owned(),
                hooks: strings(ALL_HOOKS.iter().copied()),
                ..Features::default()
            },
        }
    }

    fn linux(&mut self) -> &mut LinuxFeatures {
        self.features
            .linux
            .get_or_insert_with(LinuxFeatures::default)
    }

    /// Hook names the runtime runs.
    pub fn hooks<'a>(mut self, hooks: impl IntoIterator<Item = &'a str>) -> Self {
        self.features.hooks = strings(hooks);
        self
    }

    /// Mount options the runtime understands.
    pub fn mount_options<'a>(mut self, options: impl IntoIterator<Item = &'a str>) -> Self {
        self.features.mount_options = strings(options);
        self
    }

    /// Namespace types the runtime can create or join on this host.
    pub fn namespaces<'a>(mut self, types: impl IntoIterator<Item = &'a str>) -> Self {
        self.linux().namespaces = strings(types);
        self
    }

    /// Capability names known to the runtime.
    pub fn capabilities<'a>(mut self, caps: impl IntoIterator<Item = &'a str>) -> Self {
        self.linux().capabilities = strings(caps);
        self
    }

    /// cgroup versions and drivers.
    pub fn cgroup(mut self, cgroup: CgroupFeatures) -> Self {
        self.linux().cgroup = Some(cgroup);
        self
    }

    /// seccomp support.
    pub fn seccomp(mut self, seccomp: SeccompFeatures) -> Self {
        self.linux().seccomp = Some(seccomp);
        self
    }

    /// Whether AppArmor profiles can be applied.
    pub fn apparmor(mut self, enabled: bool) -> Self {
        self.linux().apparmor = Some(Enabled { enabled });
        self
    }

    /// Whether SELinux labels can be applied.
    pub fn selinux(mut self, enabled: bool) -> Self {
        self.linux().selinux = Some(Enabled { enabled });
        self
    }

    /// What of Intel RDT (resctrl) is implemented.
    pub fn intel_rdt(mut self, rdt: IntelRdtFeatures) -> Self {
        self.linux().intel_rdt = Some(rdt);
        self
    }

    /// Memory policy modes and flags recognised in `linux.memoryPolicy`.
    pub fn memory_policy<'a>(
        mut self,
        modes: impl IntoIterator<Item = &'a str>,
        flags: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        self.linux().memory_policy = Some(MemoryPolicyFeatures {
            modes: strings(modes).unwrap_or_default(),
            flags: strings(flags).unwrap_or_default(),
        });
        self
    }

    /// Whether `linux.netDevices` (moving host network devices into the container) is supported.
    pub fn net_devices(mut self, enabled: bool) -> Self {
        self.linux().net_devices = Some(Enabled { enabled });
        self
    }

    /// Whether id-mapped mounts are supported.
    pub fn idmap_mounts(mut self, enabled: bool) -> Self {
        self.linux().mount_extensions = Some(MountExtensions {
            idmap: Enabled { enabled },
        });
        self
    }

    /// Adds one implementation-specific annotation.
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.features
            .annotations
            .insert(key.to_owned(), value.to_owned());
        self
    }

    /// Annotation keys that may change behaviour unsafely (empty list: none).
    pub fn potentially_unsafe_annotations<'a>(
        mut self,
        keys: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        self.features.potentially_unsafe_config_annotations = strings(keys);
        self
    }

    /// The finished document.
    pub fn build(self) -> Features {
        self.features
    }
}

impl Features {
    /// A builder preset with versions and hooks.
    pub fn builder() -> FeaturesBuilder {
        FeaturesBuilder::new()
    }

    /// The document as runc prints it: pretty JSON, 4-space indent, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut buf = Vec::with_capacity(2048);
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
        // Only strings, bools, lists and a string-keyed map: serialisation cannot fail.
        if self.serialize(&mut ser).is_err() {
            return String::from("{}\n");
        }
        buf.push(b'\n');
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_features_md_document() {
        let f = Features::builder()
            .namespaces(ALL_NAMESPACES.iter().copied())
            .mount_options(["bind", "rbind", "ro"])
            .cgroup(CgroupFeatures {
                v1: true,
                v2: true,
                ..Default::default()
            })
            .seccomp(SeccompFeatures {
                enabled: true,
                actions: strings(["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"]),
                ..Default::default()
            })
            .apparmor(false)
            .selinux(false)
            .idmap_mounts(true)
            .annotation("org.gantry.version", "0.1.0")
            .potentially_unsafe_annotations([])
            .build();
        let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
        assert_eq!(v["ociVersionMin"], "1.0.0");
        assert_eq!(v["ociVersionMax"], "1.3.0");
        assert_eq!(v["hooks"].as_array().unwrap().len(), 6);
        assert_eq!(v["linux"]["namespaces"].as_array().unwrap().len(), 8);
        assert_eq!(v["linux"]["cgroup"]["v1"], true);
        assert_eq!(v["linux"]["cgroup"]["systemd"], false);
        assert_eq!(v["linux"]["seccomp"]["actions"][1], "SCMP_ACT_ERRNO");
        assert!(v["linux"]["seccomp"].get("archs").is_none());
        assert_eq!(v["linux"]["apparmor"]["enabled"], false);
        assert_eq!(v["linux"]["mountExtensions"]["idmap"]["enabled"], true);
        assert_eq!(v["annotations"]["org.gantry.version"], "0.1.0");
        assert_eq!(
            v["potentiallyUnsafeConfigAnnotations"],
            serde_json::json!([])
        );
        assert!(f.to_json().starts_with("{\n    \"ociVersionMin\""));
    }

    /// features-linux.md (runtime-spec 1.3): "memoryPolicy" {modes, flags}, "intelRdt" {enabled, schemata,
    /// monitoring} and "netDevices" {enabled}, in the spelling of the spec's examples.
    #[test]
    fn runtime_spec_1_3_linux_features() {
        let f = Features::builder()
            .memory_policy(
                ALL_MEMORY_POLICY_MODES.iter().copied(),
                ALL_MEMORY_POLICY_FLAGS.iter().copied(),
            )
            .intel_rdt(IntelRdtFeatures {
                enabled: true,
                schemata: true,
                monitoring: false,
            })
            .net_devices(true)
            .build();
        let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
        let l = &v["linux"];
        assert_eq!(l["memoryPolicy"]["modes"].as_array().unwrap().len(), 7);
        assert_eq!(l["memoryPolicy"]["modes"][3], "MPOL_WEIGHTED_INTERLEAVE");
        assert_eq!(l["memoryPolicy"]["flags"][0], "MPOL_F_NUMA_BALANCING");
        assert_eq!(
            l["intelRdt"],
            serde_json::json!({"enabled": true, "schemata": true, "monitoring": false})
        );
        assert_eq!(l["netDevices"], serde_json::json!({"enabled": true}));
    }

    #[test]
    fn minimal_document_omits_unknowns() {
        let json = Features::builder().build().to_json();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(v.get("linux").is_none() && v.get("annotations").is_none());
    }
}
