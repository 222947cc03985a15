//! The security and resource settings of an app (`--cap-add/--cap-drop`, `--privileged`, `--read-only`,
//! `--memory`, `--cpus`, `--pids-limit`, `--ulimit`, `--security-opt`, `--init`) and how they change the runtime
//! spec. Without flags an app gets the engine defaults users of Docker and podman expect: their default
//! capability set, gantry's default seccomp profile (`seccomp_default.json`, see `seccomp`), masked and read-only /proc and /sys
//! paths, and no `noNewPrivileges` (so setuid programs such as `su` work as they do there).

use std::collections::HashSet;

use anyhow::Context;
use oci_spec::runtime::{Capability, LinuxCapabilities, PosixRlimitType, Spec};
use serde::{Deserialize, Serialize};

/// Every capability the kernel knows, in number order (CAP_CHOWN is 0).
const ALL_CAPS: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Docker's default capability set (podman's is the same minus AUDIT_WRITE, MKNOD and NET_RAW): enough for
/// `chown`, `su`, `ping` and binding low ports as root, nothing that reaches outside the container.
pub const DEFAULT_CAPS: [&str; 14] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// `--seccomp`: which filter the app gets.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SeccompChoice {
    /// gantry's default profile.
    #[default]
    Default,
    /// No filter (`--security-opt seccomp=unconfined`).
    Unconfined,
    /// A profile file (OCI `linux.seccomp` or podman/Docker `seccomp.json` format), read when the app is set up.
    File(String),
}

/// The security and resource flags of one app, as given (validated by [`Confinement::check`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Confinement {
    /// `--cap-add` (normalised: no `CAP_` prefix, upper case; `ALL` allowed).
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--privileged`.
    pub privileged: bool,
    /// `--read-only`.
    pub read_only: bool,
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--cpus` as a CFS quota per 100 ms period, in microseconds.
    pub cpu_quota: Option<i64>,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--ulimit` as (RLIMIT_ name, soft, hard).
    pub ulimits: Vec<(String, u64, u64)>,
    /// `--security-opt seccomp=...`.
    pub seccomp: SeccompChoice,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// `--init`: a tiny init runs as PID 1 and runs the command as its child.
    pub init: bool,
}

/// The command-line flags, as clap gives them (parsed by [`Confinement::from_flags`]).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfineFlags {
    /// Add a capability to the default set (`NET_ADMIN`, `CAP_NET_ADMIN` or `ALL`).
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a capability from the default set (or `ALL`).
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Every capability, no seccomp filter, no masked or read-only /proc and /sys paths, every device allowed
    /// by the device cgroup.
    #[arg(long)]
    pub privileged: bool,
    /// Mount the rootfs read-only (with writable tmpfs on /tmp, /var/tmp and /run).
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Memory limit (`512m`, `1g`, bytes without a unit).
    #[arg(short = 'm', long = "memory", value_name = "SIZE")]
    pub memory: Option<String>,
    /// CPU limit in CPUs (`0.5`, `2`).
    #[arg(long = "cpus", value_name = "N")]
    pub cpus: Option<String>,
    /// Most processes (tasks) at once; `-1` for no limit.
    #[arg(long = "pids-limit", value_name = "N")]
    pub pids_limit: Option<i64>,
    /// A resource limit: `NAME=SOFT[:HARD]` (`nofile=1024:4096`, `nproc=64`).
    #[arg(long = "ulimit", value_name = "NAME=SOFT[:HARD]")]
    pub ulimit: Vec<String>,
    /// `seccomp=FILE`, `seccomp=unconfined` or `no-new-privileges`.
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Run a tiny init as PID 1 that forwards signals to the command and reaps zombies (catatonit, bound
    /// read-only into the container).
    #[arg(long)]
    pub init: bool,
}

/// `CAP_NET_ADMIN`, `net_admin` → `NET_ADMIN`; `ALL` stays.
fn normalise_cap(flag: &str, c: &str) -> anyhow::Result<String> {
    let up = c.to_ascii_uppercase();
    let n = up.strip_prefix("CAP_").unwrap_or(&up).to_owned();
    anyhow::ensure!(
        n == "ALL" || ALL_CAPS.contains(&n.as_str()),
        "{flag} {c:?}: unknown capability (e.g. NET_ADMIN, SYS_PTRACE or ALL; see capabilities(7))"
    );
    Ok(n)
}

/// Parses `512m`, `1g`, `100k`, `4096` (bytes) into bytes.
pub fn parse_size(flag: &str, s: &str) -> anyhow::Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.char_indices().last() {
        Some((i, 'k')) => (&t[..i], 1i64 << 10),
        Some((i, 'm')) => (&t[..i], 1 << 20),
        Some((i, 'g')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| anyhow::anyhow!("{flag} {s:?}: expected a size such as 512m, 1g or 4096"))
}

impl Confinement {
    /// Validates and normalises the flags.
    pub fn from_flags(f: &ConfineFlags) -> anyhow::Result<Confinement> {
        let mut c = Confinement {
            cap_add: f
                .cap_add
                .iter()
                .map(|x| normalise_cap("--cap-add", x))
                .collect::<anyhow::Result<_>>()?,
            cap_drop: f
                .cap_drop
                .iter()
                .map(|x| normalise_cap("--cap-drop", x))
                .collect::<anyhow::Result<_>>()?,
            privileged: f.privileged,
            read_only: f.read_only,
            pids_limit: f.pids_limit,
            init: f.init,
            ..Default::default()
        };
        if let Some(m) = &f.memory {
            c.memory = Some(parse_size("--memory", m)?);
            anyhow::ensure!(
                c.memory >= Some(6 << 20),
                "--memory {m:?}: below the 6 MiB a container needs to start"
            );
        }
        if let Some(s) = &f.cpus {
            let n: f64 = s
                .parse()
                .ok()
                .filter(|n: &f64| *n > 0.0 && n.is_finite())
                .ok_or_else(|| {
                    anyhow::anyhow!("--cpus {s:?}: expected a positive number like 0.5 or 2")
                })?;
            c.cpu_quota = Some(((n * 100_000.0) as i64).max(1000));
        }
        if let Some(p) = f.pids_limit {
            anyhow::ensure!(
                p == -1 || p > 0,
                "--pids-limit {p}: give a positive number or -1"
            );
        }
        for u in &f.ulimit {
            c.ulimits.push(parse_ulimit(u)?);
        }
        for o in &f.security_opt {
            match o.split_once(['=', ':']) {
                Some(("seccomp", "unconfined")) => c.seccomp = SeccompChoice::Unconfined,
                Some(("seccomp", file)) if !file.is_empty() => {
                    let p = std::fs::canonicalize(file).with_context(|| {
                        format!("--security-opt {o:?}: the seccomp profile {file}")
                    })?;
                    c.seccomp = SeccompChoice::File(p.to_string_lossy().into_owned());
                }
                None if o == "no-new-privileges" => c.no_new_privileges = true,
                Some(("no-new-privileges", v)) => {
                    c.no_new_privileges = match v {
                        "true" => true,
                        "false" => false,
                        _ => anyhow::bail!("--security-opt {o:?}: expected no-new-privileges[=true|false]"),
                    }
                }
                _ => anyhow::bail!(
                    "--security-opt {o:?}: supported are seccomp=FILE, seccomp=unconfined and no-new-privileges"
                ),
            }
        }
        Ok(c)
    }

    /// The capability names the app gets (without `CAP_`), sorted.
    pub fn capabilities(&self) -> Vec<String> {
        let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(40)
            .min(ALL_CAPS.len() - 1);
        // "Every capability" is every one gantry itself may pass on (its bounding set): a host may withhold
        // some (this one has no CAP_SYS_RESOURCE), and asking for more would fail.
        let bounding = own_bounding_set();
        let all: Vec<&str> = ALL_CAPS[..=last]
            .iter()
            .enumerate()
            .filter(|(i, _)| bounding & (1u64 << i) != 0)
            .map(|(_, c)| *c)
            .collect();
        let mut set: HashSet<&str> = if self.privileged {
            all.iter().copied().collect()
        } else {
            DEFAULT_CAPS.iter().copied().collect()
        };
        if self.cap_drop.iter().any(|c| c == "ALL") {
            set.clear();
        }
        for c in &self.cap_add {
            if c == "ALL" {
                set.extend(all.iter().copied());
            } else {
                set.insert(c.as_str());
            }
        }
        for c in &self.cap_drop {
            set.remove(c.as_str());
        }
        let mut v: Vec<String> = set
            .into_iter()
            .filter(|c| all.contains(c))
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    }

    /// Applies the settings to `spec` (after its process and mounts are set).
    pub fn apply(&self, spec: &mut Spec) -> anyhow::Result<()> {
        if self.init {
            add_init(spec)?;
        }
        let cap_names = self.capabilities();
        let mut p = spec.process().clone().unwrap_or_default();
        let caps: HashSet<Capability> = cap_names
            .iter()
            .map(|c| serde_json::from_value(serde_json::Value::String(format!("CAP_{c}"))))
            .collect::<Result<_, _>>()
            .context("capability names")?;
        let mut lc = LinuxCapabilities::default();
        lc.set_bounding(Some(caps.clone()));
        lc.set_effective(Some(caps.clone()));
        lc.set_permitted(Some(caps));
        lc.set_inheritable(None);
        lc.set_ambient(None);
        p.set_capabilities(Some(lc));
        p.set_no_new_privileges(Some(self.no_new_privileges));
        let mut rl = p.rlimits().clone().unwrap_or_default();
        for (name, soft, hard) in &self.ulimits {
            let typ: PosixRlimitType = serde_json::from_value(serde_json::Value::String(format!(
                "RLIMIT_{}",
                name.to_ascii_uppercase()
            )))
            .with_context(|| format!("--ulimit {name}: unknown limit"))?;
            rl.retain(|r| r.typ() != typ);
            rl.push(
                oci_spec::runtime::PosixRlimitBuilder::default()
                    .typ(typ)
                    .soft(*soft)
                    .hard(*hard)
                    .build()?,
            );
        }
        p.set_rlimits(Some(rl));
        spec.set_process(Some(p));
        if self.read_only {
            let mut root = spec.root().clone().unwrap_or_default();
            root.set_readonly(Some(true));
            spec.set_root(Some(root));
            let mut mounts = spec.mounts().clone().unwrap_or_default();
            for d in ["/tmp", "/var/tmp", "/run"] {
                if !mounts.iter().any(|m| m.destination().as_os_str() == d) {
                    let mut m = oci_spec::runtime::Mount::default();
                    m.set_destination(d.into());
                    m.set_typ(Some("tmpfs".into()));
                    m.set_source(Some("tmpfs".into()));
                    m.set_options(Some(
                        ["rw", "nosuid", "nodev", "mode=1777"]
                            .map(String::from)
                            .to_vec(),
                    ));
                    mounts.push(m);
                }
            }
            spec.set_mounts(Some(mounts));
        }
        let mut linux = spec.linux().clone().unwrap_or_default();
        let seccomp = match &self.seccomp {
            SeccompChoice::Unconfined => None,
            SeccompChoice::Default if self.privileged => None,
            SeccompChoice::Default => Some(super::seccomp::to_oci(
                super::seccomp::DEFAULT_PROFILE,
                "(gantry's default)",
                &cap_names,
            )?),
            SeccompChoice::File(f) => {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("--security-opt seccomp={f}: reading the profile"))?;
                Some(super::seccomp::to_oci(&text, f, &cap_names)?)
            }
        };
        linux.set_seccomp(seccomp);
        if self.privileged {
            linux.set_masked_paths(None);
            linux.set_readonly_paths(None);
        }
        let mut res = linux.resources().clone().unwrap_or_default();
        if self.privileged {
            let allow = oci_spec::runtime::LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .access("rwm")
                .build()?;
            res.set_devices(Some(vec![allow]));
        }
        if let Some(m) = self.memory {
            let mut mem = (*res.memory()).unwrap_or_default();
            mem.set_limit(Some(m));
            res.set_memory(Some(mem));
        }
        if let Some(q) = self.cpu_quota {
            let mut cpu = res.cpu().clone().unwrap_or_default();
            cpu.set_quota(Some(q));
            cpu.set_period(Some(100_000));
            res.set_cpu(Some(cpu));
        }
        if let Some(n) = self.pids_limit {
            res.set_pids(Some(
                oci_spec::runtime::LinuxPidsBuilder::default()
                    .limit(n)
                    .build()?,
            ));
        }
        linux.set_resources(Some(res));
        spec.set_linux(Some(linux));
        Ok(())
    }
}

/// This process's capability bounding set (`CapBnd` in /proc/self/status); all bits when unreadable.
fn own_bounding_set() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX)
}

/// Where `--init` looks for its init: catatonit, the static init podman uses, from Debian's `catatonit`
/// package. `GANTRY_INIT` overrides it.
const INIT_CANDIDATES: [&str; 2] = ["/usr/libexec/podman/catatonit", "/usr/bin/catatonit"];

/// Where the init appears inside the container.
pub const INIT_PATH: &str = "/run/gantry-init";

/// `--init`: a statically linked init is bind-mounted read-only at [`INIT_PATH`] and becomes the process; it
/// runs the command as its child, forwards signals to it and reaps orphans. A static binary works in every
/// image (gantry itself is linked against the host's libc, which images need not have).
fn add_init(spec: &mut Spec) -> anyhow::Result<()> {
    let init = std::env::var("GANTRY_INIT")
        .ok()
        .into_iter()
        .chain(INIT_CANDIDATES.iter().map(|s| s.to_string()))
        .find(|p| std::path::Path::new(p).is_file())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--init: no init binary found ({}); install it with apt-get install catatonit or set GANTRY_INIT",
                INIT_CANDIDATES.join(", ")
            )
        })?;
    let init = std::fs::canonicalize(&init).with_context(|| format!("--init: {init}"))?;
    let mut m = oci_spec::runtime::Mount::default();
    m.set_destination(INIT_PATH.into());
    m.set_typ(Some("bind".into()));
    m.set_source(Some(init));
    m.set_options(Some(
        ["bind", "ro", "nosuid", "nodev"].map(String::from).to_vec(),
    ));
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.push(m);
    spec.set_mounts(Some(mounts));
    let mut p = spec.process().clone().unwrap_or_default();
    let mut args = vec![INIT_PATH.to_owned(), "--".to_owned()];
    args.extend(p.args().clone().unwrap_or_default());
    p.set_args(Some(args));
    spec.set_process(Some(p));
    Ok(())
}

/// Parses `NAME=SOFT[:HARD]` (`-1` or `unlimited` for no limit); NAME without `RLIMIT_`.
fn parse_ulimit(s: &str) -> anyhow::Result<(String, u64, u64)> {
    let bad =
        || anyhow::anyhow!("--ulimit {s:?}: expected NAME=SOFT[:HARD], e.g. nofile=1024:4096");
    let (name, v) = s.split_once('=').ok_or_else(bad)?;
    let name = name.to_ascii_uppercase();
    let name = name.strip_prefix("RLIMIT_").unwrap_or(&name).to_owned();
    let known = [
        "CPU",
        "FSIZE",
        "DATA",
        "STACK",
        "CORE",
        "RSS",
        "NPROC",
        "NOFILE",
        "MEMLOCK",
        "AS",
        "LOCKS",
        "SIGPENDING",
        "MSGQUEUE",
        "NICE",
        "RTPRIO",
        "RTTIME",
    ];
    anyhow::ensure!(
        known.contains(&name.as_str()),
        "--ulimit {s:?}: unknown limit {name:?} (see setrlimit(2))"
    );
    let num = |x: &str| -> anyhow::Result<u64> {
        match x {
            "-1" | "unlimited" => Ok(u64::MAX),
            _ => x.parse().map_err(|_| bad()),
        }
    };
    let (soft, hard) = match v.split_once(':') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(v)?, num(v)?),
    };
    anyhow::ensure!(
        soft <= hard,
        "--ulimit {s:?}: the soft limit is above the hard limit"
    );
    Ok((name, soft, hard))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> ConfineFlags {
        ConfineFlags::default()
    }

    #[test]
    fn capability_sets() {
        let c = Confinement::from_flags(&flags()).unwrap();
        assert_eq!(c.capabilities().len(), DEFAULT_CAPS.len());
        let c = Confinement::from_flags(&ConfineFlags {
            cap_add: vec!["cap_sys_ptrace".into()],
            cap_drop: vec!["NET_RAW".into()],
            ..flags()
        })
        .unwrap();
        let caps = c.capabilities();
        assert!(caps.contains(&"SYS_PTRACE".into()) && !caps.contains(&"NET_RAW".into()));
        let c = Confinement::from_flags(&ConfineFlags {
            cap_drop: vec!["ALL".into()],
            cap_add: vec!["CHOWN".into()],
            ..flags()
        })
        .unwrap();
        assert_eq!(c.capabilities(), vec!["CHOWN".to_string()]);
        let e = Confinement::from_flags(&ConfineFlags {
            cap_add: vec!["FLY".into()],
            ..flags()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("--cap-add"));
    }

    #[test]
    fn limits_parse_and_apply() {
        let c = Confinement::from_flags(&ConfineFlags {
            memory: Some("64m".into()),
            cpus: Some("0.5".into()),
            pids_limit: Some(20),
            ulimit: vec!["nofile=100:200".into()],
            read_only: true,
            security_opt: vec!["no-new-privileges".into(), "seccomp=unconfined".into()],
            ..flags()
        })
        .unwrap();
        assert_eq!((c.memory, c.cpu_quota), (Some(64 << 20), Some(50_000)));
        assert!(c.no_new_privileges && c.seccomp == SeccompChoice::Unconfined);
        let mut spec = gantry_spec::default_spec(false);
        c.apply(&mut spec).unwrap();
        let r = spec.linux().clone().unwrap().resources().clone().unwrap();
        assert_eq!((*r.memory()).unwrap().limit(), Some(64 << 20));
        assert_eq!((*r.pids()).unwrap().limit(), 20);
        assert_eq!(spec.root().clone().unwrap().readonly(), Some(true));
        let p = spec.process().clone().unwrap();
        assert_eq!(p.no_new_privileges(), Some(true));
        assert!(p
            .rlimits()
            .clone()
            .unwrap()
            .iter()
            .any(|r| r.soft() == 100 && r.hard() == 200));
        for (flag, bad) in [
            ("--memory", "x"),
            ("--cpus", "-1"),
            ("--ulimit", "nofile=2:1"),
        ] {
            let mut f = flags();
            match flag {
                "--memory" => f.memory = Some(bad.into()),
                "--cpus" => f.cpus = Some(bad.into()),
                _ => f.ulimit = vec![bad.into()],
            }
            let e = Confinement::from_flags(&f).unwrap_err().to_string();
            assert!(e.starts_with(flag), "{e}");
        }
        let e = Confinement::from_flags(&ConfineFlags {
            security_opt: vec!["label=x".into()],
            ..flags()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("--security-opt"));
    }
}
