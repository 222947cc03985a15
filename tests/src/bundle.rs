//! The bundle builder: a temp dir with a busybox rootfs and a `config.json` built from a
//! fixed runc-like template (never from the runtime's own `spec`), plus setters.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The runc-like default configuration every bundle starts from. `cgroups_path` is
/// always absolute, so the runtime never nests the container under the caller's cgroup.
pub fn template(cgroups_path: &str) -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps, "ambient": caps
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "gantry-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// A bundle directory (`config.json` + `rootfs/`) being configured for one container.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Absolute bundle directory.
    pub dir: PathBuf,
    /// The configuration, written to `config.json` by [`Bundle::write`].
    pub config: Value,
    /// The absolute `linux.cgroupsPath` given to this bundle.
    pub cgroups_path: String,
}

impl Bundle {
    /// Makes `dir` with a fresh busybox rootfs and the template config.
    pub fn create(dir: &Path, cgroups_path: &str) -> Bundle {
        std::fs::create_dir_all(dir.join("rootfs")).expect("creating bundle dir");
        crate::rootfs::build(&dir.join("rootfs"));
        Bundle {
            dir: dir.to_path_buf(),
            config: template(cgroups_path),
            cgroups_path: cgroups_path.to_string(),
        }
    }

    /// The rootfs directory on the host.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// Host path of `p` (absolute inside the container) in the rootfs.
    pub fn host_path(&self, p: &str) -> PathBuf {
        self.rootfs().join(p.trim_start_matches('/'))
    }

    /// Writes `config.json` into the bundle dir.
    pub fn write(&self) {
        std::fs::write(
            self.dir.join("config.json"),
            serde_json::to_vec_pretty(&self.config).expect("serialising config"),
        )
        .expect("writing config.json");
    }

    /// Sets the value at a `/`-separated JSON path (e.g. `linux/sysctl`), creating objects
    /// on the way.
    pub fn set(&mut self, path: &str, v: Value) -> &mut Self {
        let mut cur = &mut self.config;
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        for (i, p) in parts.iter().enumerate() {
            if !cur.is_object() {
                *cur = json!({});
            }
            let obj = cur.as_object_mut().expect("object");
            if i + 1 == parts.len() {
                obj.insert(p.to_string(), v);
                return self;
            }
            cur = obj.entry(p.to_string()).or_insert_with(|| json!({}));
        }
        self.config = v;
        self
    }

    /// Removes the value at a `/`-separated JSON path, if present.
    pub fn unset(&mut self, path: &str) -> &mut Self {
        let (parent, last) = path.rsplit_once('/').unwrap_or(("", path));
        let target = if parent.is_empty() {
            Some(&mut self.config)
        } else {
            self.config
                .pointer_mut(&format!("/{}", parent.trim_start_matches('/')))
        };
        if let Some(Value::Object(o)) = target {
            o.remove(last);
        }
        self
    }

    /// Appends `v` to the array at `path` (created if missing).
    pub fn push(&mut self, path: &str, v: Value) -> &mut Self {
        let p = format!("/{}", path.trim_start_matches('/'));
        if !matches!(self.config.pointer(&p), Some(Value::Array(_))) {
            self.set(path, json!([]));
        }
        self.config
            .pointer_mut(&p)
            .and_then(Value::as_array_mut)
            .expect("array")
            .push(v);
        self
    }

    /// `process.args`.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.set("process/args", json!(args))
    }

    /// `process.args = ["sh", "-c", script]`.
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.args(&["sh", "-c", script])
    }

    /// Adds `KEY=VALUE` to `process.env`.
    pub fn env(&mut self, kv: &str) -> &mut Self {
        self.push("process/env", json!(kv))
    }

    /// `process.cwd`.
    pub fn cwd(&mut self, cwd: &str) -> &mut Self {
        self.set("process/cwd", json!(cwd))
    }

    /// `process.user.uid/gid`.
    pub fn user(&mut self, uid: u32, gid: u32) -> &mut Self {
        self.set("process/user/uid", json!(uid))
            .set("process/user/gid", json!(gid))
    }

    /// `process.user.additionalGids`.
    pub fn additional_gids(&mut self, gids: &[u32]) -> &mut Self {
        self.set("process/user/additionalGids", json!(gids))
    }

    /// `process.user.umask`.
    pub fn umask(&mut self, umask: u32) -> &mut Self {
        self.set("process/user/umask", json!(umask))
    }

    /// `process.terminal`.
    pub fn terminal(&mut self, on: bool) -> &mut Self {
        self.set("process/terminal", json!(on))
    }

    /// `process.consoleSize`.
    pub fn console_size(&mut self, height: u32, width: u32) -> &mut Self {
        self.set(
            "process/consoleSize",
            json!({"height": height, "width": width}),
        )
    }

    /// `hostname`.
    pub fn hostname(&mut self, name: &str) -> &mut Self {
        self.set("hostname", json!(name))
    }

    /// `domainname`.
    pub fn domainname(&mut self, name: &str) -> &mut Self {
        self.set("domainname", json!(name))
    }

    /// Replaces `linux.namespaces` by new namespaces of these types.
    pub fn namespaces(&mut self, types: &[&str]) -> &mut Self {
        let v: Vec<Value> = types.iter().map(|t| json!({"type": t})).collect();
        self.set("linux/namespaces", json!(v))
    }

    /// Adds (or replaces) a namespace of `ty`, joining `path` when given.
    pub fn namespace(&mut self, ty: &str, path: Option<&str>) -> &mut Self {
        self.remove_namespace(ty);
        let v = match path {
            Some(p) => json!({"type": ty, "path": p}),
            None => json!({"type": ty}),
        };
        self.push("linux/namespaces", v)
    }

    /// Removes the namespace of `ty` from `linux.namespaces`.
    pub fn remove_namespace(&mut self, ty: &str) -> &mut Self {
        if let Some(a) = self
            .config
            .pointer_mut("/linux/namespaces")
            .and_then(Value::as_array_mut)
        {
            a.retain(|n| n["type"] != ty);
        }
        self
    }

    /// `linux.uidMappings` and `linux.gidMappings`, one range each.
    pub fn id_maps(&mut self, container_id: u32, host_id: u32, size: u32) -> &mut Self {
        let m = json!([{"containerID": container_id, "hostID": host_id, "size": size}]);
        self.set("linux/uidMappings", m.clone())
            .set("linux/gidMappings", m)
    }

    /// Appends a mount.
    pub fn mount(&mut self, dest: &str, ty: &str, source: &str, options: &[&str]) -> &mut Self {
        self.push(
            "mounts",
            json!({"destination": dest, "type": ty, "source": source, "options": options}),
        )
    }

    /// Removes every mount whose destination is `dest`.
    pub fn remove_mount(&mut self, dest: &str) -> &mut Self {
        if let Some(a) = self
            .config
            .pointer_mut("/mounts")
            .and_then(Value::as_array_mut)
        {
            a.retain(|m| m["destination"] != dest);
        }
        self
    }

    /// `linux.maskedPaths`.
    pub fn masked_paths(&mut self, paths: &[&str]) -> &mut Self {
        self.set("linux/maskedPaths", json!(paths))
    }

    /// `linux.readonlyPaths`.
    pub fn readonly_paths(&mut self, paths: &[&str]) -> &mut Self {
        self.set("linux/readonlyPaths", json!(paths))
    }

    /// Sets (replacing one of the same type) a `process.rlimits` entry.
    pub fn rlimit(&mut self, ty: &str, soft: u64, hard: u64) -> &mut Self {
        if let Some(a) = self
            .config
            .pointer_mut("/process/rlimits")
            .and_then(Value::as_array_mut)
        {
            a.retain(|r| r["type"] != ty);
        }
        self.push(
            "process/rlimits",
            json!({"type": ty, "soft": soft, "hard": hard}),
        )
    }

    /// Appends a hook of `kind` (`prestart`, `createRuntime`, `poststop`, …).
    pub fn hook(&mut self, kind: &str, hook: Value) -> &mut Self {
        self.push(&format!("hooks/{kind}"), hook)
    }

    /// Appends a `linux.devices` entry.
    pub fn device(&mut self, dev: Value) -> &mut Self {
        self.push("linux/devices", dev)
    }

    /// Sets one `linux.sysctl` key.
    pub fn sysctl(&mut self, key: &str, value: &str) -> &mut Self {
        self.set(&format!("linux/sysctl/{key}"), json!(value))
    }

    /// `root.readonly`.
    pub fn readonly_root(&mut self, ro: bool) -> &mut Self {
        self.set("root/readonly", json!(ro))
    }

    /// `process.oomScoreAdj`.
    pub fn oom_score_adj(&mut self, v: i32) -> &mut Self {
        self.set("process/oomScoreAdj", json!(v))
    }

    /// `process.noNewPrivileges`.
    pub fn no_new_privileges(&mut self, on: bool) -> &mut Self {
        self.set("process/noNewPrivileges", json!(on))
    }

    /// `linux.rootfsPropagation`.
    pub fn rootfs_propagation(&mut self, p: &str) -> &mut Self {
        self.set("linux/rootfsPropagation", json!(p))
    }

    /// Sets one annotation.
    pub fn annotation(&mut self, k: &str, v: &str) -> &mut Self {
        if !self.config["annotations"].is_object() {
            self.set("annotations", json!({}));
        }
        self.config["annotations"][k] = json!(v);
        self
    }

    /// Writes an executable file (mode 0755) at `p` inside the rootfs.
    pub fn write_script(&self, p: &str, content: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let hp = self.host_path(p);
        if let Some(parent) = hp.parent() {
            std::fs::create_dir_all(parent).expect("creating script dir");
        }
        std::fs::write(&hp, content).expect("writing script");
        std::fs::set_permissions(&hp, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        hp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Bundle {
        Bundle {
            dir: PathBuf::from("/nonexistent"),
            config: template("/gantry-tests/unit"),
            cgroups_path: "/gantry-tests/unit".into(),
        }
    }

    #[test]
    fn template_has_an_absolute_cgroups_path() {
        let b = bundle();
        assert_eq!(b.config["linux"]["cgroupsPath"], "/gantry-tests/unit");
    }

    #[test]
    fn set_unset_and_push_edit_nested_values() {
        let mut b = bundle();
        b.set("linux/sysctl/kernel.shmmax", json!("1"));
        assert_eq!(b.config["linux"]["sysctl"]["kernel.shmmax"], "1");
        b.unset("hostname");
        assert!(b.config.get("hostname").is_none());
        b.unset("linux/sysctl");
        assert!(b.config["linux"].get("sysctl").is_none());
        b.push("hooks/poststop", json!({"path": "/bin/true"}));
        assert_eq!(b.config["hooks"]["poststop"][0]["path"], "/bin/true");
    }

    #[test]
    fn namespace_helpers_replace_entries() {
        let mut b = bundle();
        b.namespace("network", Some("/run/netns/x"));
        let ns = b.config["linux"]["namespaces"].as_array().unwrap();
        assert_eq!(ns.iter().filter(|n| n["type"] == "network").count(), 1);
        assert!(ns.iter().any(|n| n["path"] == "/run/netns/x"));
        b.remove_namespace("network");
        let ns = b.config["linux"]["namespaces"].as_array().unwrap();
        assert!(!ns.iter().any(|n| n["type"] == "network"));
    }

    #[test]
    fn rlimit_replaces_the_same_type() {
        let mut b = bundle();
        b.rlimit("RLIMIT_NOFILE", 10, 20);
        let r = b.config["process"]["rlimits"].as_array().unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["soft"], 10);
    }
}
