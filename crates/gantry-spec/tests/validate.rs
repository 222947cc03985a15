//! Each rule of `validate_fields`: a valid base document, one change, the expected field path.

use gantry_spec::{parse_and_validate, SpecError};
use serde_json::{json, Value};

fn base() -> Value {
    json!({
        "ociVersion": "1.2.0",
        "root": {"path": "rootfs"},
        "hostname": "box",
        "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0},
                    "env": ["PATH=/bin"],
                    "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}]},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {
            "namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "uts"},
                           {"type": "ipc"}, {"type": "network"}],
            "cgroupsPath": "/gantry/test"
        }
    })
}

fn check(v: &Value) -> Result<(), SpecError> {
    parse_and_validate(&serde_json::to_vec(v).unwrap()).map(drop)
}

/// Applies `edit` to the base document and expects an error on `field` mentioning `words`.
fn refuses(edit: impl FnOnce(&mut Value), field: &str, words: &str) {
    let mut v = base();
    edit(&mut v);
    let err = check(&v).expect_err(&format!("accepted: {v}"));
    let text = err.to_string();
    assert_eq!(err.field(), Some(field), "{text}");
    assert!(text.contains(words), "{text:?} lacks {words:?}");
    assert!(!text.contains('\n'), "{text}");
}

fn accepts(edit: impl FnOnce(&mut Value)) {
    let mut v = base();
    edit(&mut v);
    if let Err(e) = check(&v) {
        panic!("refused {v}: {e}");
    }
}

#[test]
fn base_is_valid() {
    accepts(|_| {});
}

#[test]
fn version() {
    refuses(
        |v| v["ociVersion"] = json!("2.0.0"),
        "ociVersion",
        "implements 1.0.0–1.3.x",
    );
    refuses(|v| v["ociVersion"] = json!("1.2"), "ociVersion", "SemVer");
    refuses(
        |v| drop(v.as_object_mut().unwrap().remove("ociVersion")),
        "ociVersion",
        "required",
    );
    accepts(|v| v["ociVersion"] = json!("1.0.2-dev"));
}

#[test]
fn root() {
    refuses(
        |v| drop(v.as_object_mut().unwrap().remove("root")),
        "root",
        "required",
    );
    refuses(|v| v["root"] = json!({}), "root.path", "required");
    refuses(
        |v| v["root"]["path"] = json!("a/../../x"),
        "root.path",
        "outside the bundle",
    );
    accepts(|v| v["root"]["path"] = json!("/var/lib/x/rootfs"));
}

#[test]
fn process() {
    refuses(
        |v| v["process"]["args"] = json!([]),
        "process.args",
        "at least one",
    );
    refuses(
        |v| drop(v["process"].as_object_mut().unwrap().remove("args")),
        "process.args",
        "at least one",
    );
    refuses(
        |v| v["process"]["cwd"] = json!("tmp"),
        "process.cwd",
        "absolute",
    );
    refuses(
        |v| v["process"]["env"] = json!(["PATH=/bin", "JUNK"]),
        "process.env[1]",
        "KEY=VALUE",
    );
    refuses(
        |v| v["process"]["env"] = json!(["=x"]),
        "process.env[0]",
        "KEY=VALUE",
    );
    refuses(
        |v| v["process"]["rlimits"][0]["soft"] = json!(2048),
        "process.rlimits[0].soft",
        "above the hard limit",
    );
    refuses(
        |v| {
            v["process"]["rlimits"] = json!([{"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                                             {"type": "RLIMIT_CORE", "soft": 1, "hard": 1}])
        },
        "process.rlimits[1].type",
        "process.rlimits[0]",
    );
    refuses(
        |v| v["process"]["rlimits"][0]["type"] = json!("RLIMIT_BOGUS"),
        "process.rlimits[0].type",
        "RLIMIT_BOGUS",
    );
    refuses(
        |v| v["process"]["oomScoreAdj"] = json!(1001),
        "process.oomScoreAdj",
        "-1000..=1000",
    );
    refuses(
        |v| v["process"]["args"] = json!(["a\u{0}b"]),
        "process.args[0]",
        "NUL",
    );
    refuses(
        |v| v["process"]["capabilities"] = json!({"bounding": ["CAP_NOPE"]}),
        "process.capabilities.bounding[0]",
        "NOPE",
    );
    accepts(|v| drop(v.as_object_mut().unwrap().remove("process")));
}

#[test]
fn mounts() {
    refuses(
        |v| v["mounts"][0]["destination"] = json!(""),
        "mounts[0].destination",
        "required",
    );
    // runtime-spec ≥ 1.1: relative destinations are deprecated but valid (relative to "/").
    accepts(|v| v["mounts"][0]["destination"] = json!("proc"));
    refuses(
        |v| v["mounts"][0]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]),
        "mounts[0].gidMappings",
        "together",
    );
    refuses(
        |v| {
            let m = json!([{"containerID": 0, "hostID": 1000, "size": 0}]);
            v["mounts"][0]["uidMappings"] = m.clone();
            v["mounts"][0]["gidMappings"] = m;
        },
        "mounts[0].uidMappings[0].size",
        "must be > 0",
    );
}

fn userns(v: &mut Value) {
    v["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
}

#[test]
fn id_mappings() {
    accepts(userns);
    refuses(
        |v| {
            userns(v);
            v["linux"]["uidMappings"][0]["size"] = json!(0);
        },
        "linux.uidMappings[0].size",
        "must be > 0",
    );
    refuses(
        |v| {
            userns(v);
            v["linux"]["gidMappings"]
                .as_array_mut()
                .unwrap()
                .push(json!({"containerID": 65535, "hostID": 300000, "size": 10}));
        },
        "linux.gidMappings[1]",
        "container range overlaps linux.gidMappings[0]",
    );
    refuses(
        |v| {
            userns(v);
            v["linux"]["uidMappings"]
                .as_array_mut()
                .unwrap()
                .push(json!({"containerID": 70000, "hostID": 100010, "size": 10}));
        },
        "linux.uidMappings[1]",
        "host range overlaps",
    );
    refuses(
        |v| {
            userns(v);
            v["linux"]["uidMappings"][0]["hostID"] = json!(4294967295u32);
        },
        "linux.uidMappings[0].hostID",
        "passes 4294967295",
    );
    refuses(
        |v| v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]),
        "linux.uidMappings",
        "no \"user\" entry",
    );
    refuses(
        |v| {
            userns(v);
            v["linux"].as_object_mut().unwrap().remove("gidMappings");
        },
        "linux.gidMappings",
        "new user namespace needs",
    );
    // Joining an existing user namespace needs no mappings.
    accepts(|v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user", "path": "/proc/1/ns/user"}));
    });
}

#[test]
fn namespaces() {
    refuses(
        |v| {
            v["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "pid"}))
        },
        "linux.namespaces[5].type",
        "linux.namespaces[1]",
    );
    refuses(
        |v| {
            v["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "bogus"}))
        },
        "linux.namespaces[5].type",
        "unknown variant",
    );
    refuses(
        |v| v["linux"]["namespaces"][4]["path"] = json!("run/netns/x"),
        "linux.namespaces[4].path",
        "absolute",
    );
    refuses(
        |v| v["linux"]["namespaces"] = json!([{"type": "mount"}]),
        "hostname",
        "own uts namespace",
    );
    refuses(
        |v| {
            v["linux"]["namespaces"] = json!([{"type": "mount"}]);
            v.as_object_mut().unwrap().remove("hostname");
            v["domainname"] = json!("example.org");
        },
        "domainname",
        "uts",
    );
    accepts(|v| v["linux"]["namespaces"][2]["path"] = json!("/proc/1/ns/uts"));
}

#[test]
fn devices() {
    let dev = |v: &mut Value, d: Value| v["linux"]["devices"] = json!([d]);
    accepts(|v| {
        dev(
            v,
            json!({"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}),
        )
    });
    // config-linux.md: a device path MAY be outside /dev.
    accepts(|v| {
        dev(
            v,
            json!({"path": "/opt/dev/x", "type": "c", "major": 1, "minor": 3}),
        )
    });
    refuses(
        |v| dev(v, json!({"path": "/dev/x", "type": "a"})),
        "linux.devices[0].type",
        "\"a\"",
    );
    refuses(
        |v| dev(v, json!({"path": "/dev/x", "type": "z"})),
        "linux.devices[0].type",
        "unknown variant",
    );
    refuses(
        |v| dev(v, json!({"path": "dev/x", "type": "c"})),
        "linux.devices[0].path",
        "absolute",
    );
    refuses(
        |v| dev(v, json!({"path": "/dev/../etc/x", "type": "c"})),
        "linux.devices[0].path",
        "'..'",
    );
    refuses(
        |v| {
            v["linux"]["devices"] =
                json!([{"path": "/dev/x", "type": "c"}, {"path": "/dev/x", "type": "b"}]);
        },
        "linux.devices[1].path",
        "linux.devices[0]",
    );
}

#[test]
fn sysctl() {
    accepts(|v| {
        v["linux"]["sysctl"] =
            json!({"net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "fs.mqueue.msg_max": "10"})
    });
    refuses(
        |v| v["linux"]["sysctl"] = json!({"kernel.pid_max": "1"}),
        "linux.sysctl[\"kernel.pid_max\"]",
        "not namespaced",
    );
    refuses(
        |v| {
            v["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "uts"}]);
            v["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        },
        "linux.sysctl[\"net.ipv4.ip_forward\"]",
        "network namespace",
    );
    refuses(
        |v| v["linux"]["sysctl"] = json!({"net/../../kernel/x": "1"}),
        "linux.sysctl[\"net/../../kernel/x\"]",
        "not a sysctl name",
    );
}

#[test]
fn cgroups_path() {
    accepts(|v| v["linux"]["cgroupsPath"] = json!("machine.slice:libpod:abc"));
    accepts(|v| v["linux"]["cgroupsPath"] = json!("relative/path"));
    refuses(
        |v| v["linux"]["cgroupsPath"] = json!("/a/../b"),
        "linux.cgroupsPath",
        "'..'",
    );
    refuses(
        |v| v["linux"]["cgroupsPath"] = json!("a:b"),
        "linux.cgroupsPath",
        "slice:prefix:name",
    );
}

#[test]
fn hooks() {
    accepts(|v| v["hooks"] = json!({"createRuntime": [{"path": "/bin/true", "timeout": 5}]}));
    refuses(
        |v| v["hooks"] = json!({"poststop": [{"path": "true"}]}),
        "hooks.poststop[0].path",
        "absolute",
    );
    refuses(
        |v| v["hooks"] = json!({"prestart": [{"path": "/bin/true", "timeout": 0}]}),
        "hooks.prestart[0].timeout",
        "> 0",
    );
    refuses(
        |v| v["hooks"] = json!({"startContainer": [{"path": "/bin/true", "env": ["X"]}]}),
        "hooks.startContainer[0].env[0]",
        "KEY=VALUE",
    );
}

#[test]
fn time_offsets_annotations_misc() {
    refuses(
        |v| v["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 10}}),
        "linux.timeOffsets",
        "new time namespace",
    );
    refuses(
        |v| {
            v["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "time"}));
            v["linux"]["timeOffsets"] = json!({"realtime": {"secs": 10}});
        },
        "linux.timeOffsets[\"realtime\"]",
        "monotonic",
    );
    accepts(|v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "time"}));
        v["linux"]["timeOffsets"] = json!({"boottime": {"secs": 10}});
    });
    refuses(
        |v| v["annotations"] = json!({"": "x"}),
        "annotations[\"\"]",
        "must not be empty",
    );
    accepts(|v| v["annotations"] = json!({"org.example.k": ""}));
    refuses(
        |v| v["linux"]["rootfsPropagation"] = json!("weird"),
        "linux.rootfsPropagation",
        "propagation",
    );
    accepts(|v| v["linux"]["rootfsPropagation"] = json!("rslave"));
    refuses(
        |v| v["linux"]["resources"] = json!({"memory": {"limit": 1000000, "swap": 500000}}),
        "linux.resources.memory.swap",
        "below",
    );
}

#[test]
fn masked_readonly_and_device_rules() {
    refuses(
        |v| v["linux"]["maskedPaths"] = json!(["/proc/kcore", "proc/keys"]),
        "linux.maskedPaths[1]",
        "absolute",
    );
    refuses(
        |v| v["linux"]["readonlyPaths"] = json!(["sys"]),
        "linux.readonlyPaths[0]",
        "absolute",
    );
    accepts(|v| {
        v["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"},
                                                             {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]})
    });
    refuses(
        |v| v["linux"]["resources"] = json!({"devices": [{"allow": true, "type": "p"}]}),
        "linux.resources.devices[0].type",
        "\"a\", \"c\" or \"b\"",
    );
    refuses(
        |v| v["linux"]["resources"] = json!({"devices": [{"allow": true, "access": "rwx"}]}),
        "linux.resources.devices[0].access",
        "r, w and m",
    );
}
