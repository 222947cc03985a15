//! containerd 1.6's CRI end to end, as the kubelet drives it: a private containerd (`../shared/testbed/containerd.sh`)
//! with the runtime under test as CRI runtime handler `gantry` (containerd-shim-runc-v2 with `BinaryName`), and the
//! same sequence with handler `runc` as the reference. One pod sandbox, two containers: one runs and is exec'd into
//! and stopped, the other exits by itself with a status containerd must report. Every state change is asserted
//! through CRI, and at the end nothing may be left: no task, container, shim, mount, cgroup, netns or runtime state.

use gantry_cri_tests::cri::{
    ContainerConfig, ContainerMetadata, ImageSpec, LinuxContainerConfig,
    LinuxContainerSecurityContext, LinuxPodSandboxConfig, NamespaceMode, NamespaceOption,
    PodSandboxConfig, PodSandboxMetadata,
};
use gantry_cri_tests::{container_state_name, leftovers, parse_cri_log, sandbox_state_name};
use gantry_cri_tests::{CriClient, CriResult};
use gantry_tests::cleanup::CGROUP_PARENT;
use gantry_tests::host::wait_until;
use gantry_tests::testbed::{Service, Testbed};
use gantry_tests::TestCtx;
use std::path::{Path, PathBuf};
use std::time::Duration;

const IMAGE: &str = "localhost/testbed/busybox:latest";

/// The runtime under test (`GANTRY_TEST_RUNTIME`, default gantry-runtime) as the testbed registers it.
#[test]
fn cri_pod_lifecycle_with_gantry_runtime_handler() {
    pod_lifecycle("gantry");
}

/// The reference: the same sequence must pass with runc as the handler.
#[test]
fn cri_pod_lifecycle_with_runc_handler() {
    pod_lifecycle("runc");
}

fn container_config(name: &str, script: &str, pid: NamespaceMode) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.to_string(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: IMAGE.to_string(),
            ..Default::default()
        }),
        command: vec!["sh".into(), "-c".into(), script.into()],
        log_path: format!("{name}.log"),
        linux: Some(LinuxContainerConfig {
            security_context: Some(LinuxContainerSecurityContext {
                namespace_options: Some(NamespaceOption {
                    pid: pid as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Polls the container's CRI state until it is `want` (or `secs` pass); returns the last status.
fn wait_container_state(
    cri: &mut CriClient,
    id: &str,
    want: &str,
    secs: u64,
) -> gantry_cri_tests::cri::ContainerStatus {
    let mut last = None;
    wait_until(Duration::from_secs(secs), || {
        let st = cri.container_status(id).expect("ContainerStatus");
        let done = container_state_name(st.state) == want;
        last = Some(st);
        done
    });
    let st = last.expect("at least one ContainerStatus");
    assert_eq!(
        container_state_name(st.state),
        want,
        "container {id}: containerd reports {st:?}"
    );
    st
}

/// The messages of one stream in a CRI log file, polled until `want` shows (log copying is asynchronous).
fn wait_log(path: &Path, want: (&str, &str)) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    wait_until(Duration::from_secs(10), || {
        lines = parse_cri_log(&std::fs::read_to_string(path).unwrap_or_default());
        lines.iter().any(|(s, m)| s == want.0 && m == want.1)
    });
    assert!(
        lines.iter().any(|(s, m)| s == want.0 && m == want.1),
        "{}: no {want:?} in {lines:?}",
        path.display()
    );
    lines
}

/// The network namespace path and cgroups path containerd gave the sandbox (from the verbose status).
fn sandbox_paths(info: &std::collections::HashMap<String, String>) -> (PathBuf, String) {
    let raw = info.get("info").expect("verbose PodSandboxStatus has info");
    let v: serde_json::Value = serde_json::from_str(raw).expect("sandbox info is JSON");
    let spec = &v["runtimeSpec"];
    let netns = spec["linux"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["type"] == "network")
        .and_then(|n| n["path"].as_str())
        .unwrap_or_default();
    let cg = spec["linux"]["cgroupsPath"].as_str().unwrap_or_default();
    (PathBuf::from(netns), cg.to_string())
}

fn pod_lifecycle(handler: &str) {
    let t = TestCtx::new(&format!("cri{handler}"));
    let tb = Testbed::start(&t.dir, Service::Containerd);
    let d = tb.state.join("containerd");
    let sock = d.join("containerd.sock");
    let cg_parent = format!("{CGROUP_PARENT}/{}", t.name);
    t.guard.with(|r| r.cgroups.push(cg_parent.clone()));
    let mut cri = CriClient::connect(&sock).unwrap_or_else(|e| panic!("{e}"));
    let v = cri.version().expect("CRI Version");
    assert_eq!(v.runtime_name, "containerd", "{v:?}");

    let logs = t.path("pod-logs");
    std::fs::create_dir_all(&logs).expect("creating the pod log dir");
    let pod = PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: format!("pod-{handler}"),
            uid: t.name.clone(),
            namespace: "gantry-tests".into(),
            attempt: 0,
        }),
        hostname: "cri-pod".into(),
        log_directory: logs.to_string_lossy().into_owned(),
        // Absolute: the sandbox's and containers' cgroups go under it, never under containerd's own cgroup.
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: cg_parent.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };

    // RunPodSandbox: ready, run by the requested handler, cgroup under the parent, a netns mounted.
    let sb = cri.run_pod_sandbox(&pod, handler).expect("RunPodSandbox");
    let st = cri.pod_sandbox_status(&sb).expect("PodSandboxStatus");
    let status = st.status.clone().expect("sandbox status");
    assert_eq!(sandbox_state_name(status.state), "SANDBOX_READY", "{st:?}");
    assert_eq!(status.runtime_handler, handler);
    let (netns, sb_cgroup) = sandbox_paths(&st.info);
    assert!(
        sb_cgroup.starts_with(&format!("{cg_parent}/")),
        "sandbox cgroupsPath {sb_cgroup:?} is not under {cg_parent}"
    );
    assert!(
        !leftovers::netns_left(&netns).is_empty(),
        "the sandbox's netns {} is not mounted",
        netns.display()
    );
    let runtime_root = d.join("runtime-root").join(handler).join("k8s.io");
    assert!(
        runtime_root.join(&sb).is_dir(),
        "handler {handler} keeps no state for the sandbox in {}",
        runtime_root.display()
    );

    // CreateContainer ×2: "a" in its own PID namespace (the kubelet's default), "b" in the pod's (shareProcessNamespace).
    let a_cfg = container_config(
        "a",
        "echo started-a; trap 'echo got-term; exit 0' TERM; while true; do sleep 0.1; done",
        NamespaceMode::Container,
    );
    let b_cfg = container_config(
        "b",
        "echo out-b; echo err-b >&2; exit 3",
        NamespaceMode::Pod,
    );
    let a = cri
        .create_container(&sb, &a_cfg, &pod)
        .expect("CreateContainer a");
    let b = cri
        .create_container(&sb, &b_cfg, &pod)
        .expect("CreateContainer b");
    for id in [&a, &b] {
        wait_container_state(&mut cri, id, "CONTAINER_CREATED", 1);
    }
    let mut ids = cri.list_container_ids().expect("ListContainers");
    ids.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(ids, want);

    // StartContainer a: running; ExecSync: output, error stream and exit code come back; UTS is the pod's.
    cri.start_container(&a).expect("StartContainer a");
    let st = wait_container_state(&mut cri, &a, "CONTAINER_RUNNING", 1);
    assert!(st.started_at > 0, "{st:?}");
    let r = cri
        .exec_sync(
            &a,
            &["sh", "-c", "echo exec-out; echo exec-err >&2; exit 4"],
            20,
        )
        .expect("ExecSync");
    assert_eq!(
        (r.stdout.as_slice(), r.stderr.as_slice(), r.exit_code),
        (&b"exec-out\n"[..], &b"exec-err\n"[..], 4),
        "ExecSync {r:?}"
    );
    let r = cri
        .exec_sync(&a, &["hostname"], 20)
        .expect("ExecSync hostname");
    assert_eq!(String::from_utf8_lossy(&r.stdout).trim(), "cri-pod");

    // StartContainer b: it exits by itself with 3 and containerd reports CONTAINER_EXITED with that code.
    cri.start_container(&b).expect("StartContainer b");
    let st = wait_container_state(&mut cri, &b, "CONTAINER_EXITED", 20);
    assert_eq!(st.exit_code, 3, "{st:?}");
    // containerd stamps started_at when the start call returns, which can be after a process this short has
    // already exited (seen with runc under load): only order against creation is guaranteed.
    assert!(
        st.finished_at >= st.created_at && st.started_at > 0 && st.finished_at > 0,
        "{st:?}"
    );
    assert_eq!(st.reason, "Error", "{st:?}");

    // Logs: containerd writes both streams in the CRI format under the pod's log directory.
    let b_log = wait_log(&logs.join("b.log"), ("stdout", "out-b"));
    assert!(
        b_log.contains(&("stderr".into(), "err-b".into())),
        "{b_log:?}"
    );
    wait_log(&logs.join("a.log"), ("stdout", "started-a"));

    // StopContainer a: SIGTERM, its trap exits 0, and the stop completes (the shim then kills what is left).
    cri.stop_container(&a, 10).expect("StopContainer a");
    let st = wait_container_state(&mut cri, &a, "CONTAINER_EXITED", 1);
    assert_eq!(st.exit_code, 0, "{st:?}");
    wait_log(&logs.join("a.log"), ("stdout", "got-term"));
    // Stopping an exited container again is not an error for the kubelet.
    cri.stop_container(&a, 1).expect("StopContainer a again");

    // RemoveContainer both: gone from CRI.
    cri.remove_container(&a).expect("RemoveContainer a");
    cri.remove_container(&b).expect("RemoveContainer b");
    assert_eq!(
        cri.list_container_ids().expect("ListContainers"),
        Vec::<String>::new()
    );
    let gone: CriResult<_> = cri.container_status(&a);
    assert!(
        gone.is_err(),
        "removed container still has a status: {gone:?}"
    );

    // StopPodSandbox: not ready, netns gone; RemovePodSandbox: no sandbox left.
    cri.stop_pod_sandbox(&sb).expect("StopPodSandbox");
    let st = cri.pod_sandbox_status(&sb).expect("PodSandboxStatus");
    let state = st.status.as_ref().map(|s| s.state).unwrap_or(-1);
    assert_eq!(sandbox_state_name(state), "SANDBOX_NOTREADY", "{st:?}");
    cri.remove_pod_sandbox(&sb).expect("RemovePodSandbox");
    assert_eq!(
        cri.list_pod_sandbox_ids().expect("ListPodSandbox"),
        Vec::<String>::new()
    );

    // Nothing left: tasks and containers in containerd, shims, mounts, cgroups, netns, runtime state.
    let o = tb.ctr("ctr -n k8s.io tasks ls -q; ctr -n k8s.io containers ls -q");
    assert_eq!(o.ok(), "", "containerd still has tasks or containers: {o}");
    let mut left = Vec::new();
    wait_until(Duration::from_secs(10), || {
        left = [
            leftovers::shims_of(&sock),
            leftovers::mounts_under(&d),
            leftovers::cgroups_below(&cg_parent),
            leftovers::netns_left(&netns),
            leftovers::runtime_state_in(&runtime_root),
        ]
        .concat();
        left.is_empty()
    });
    assert!(
        left.is_empty(),
        "left behind after the pod was removed: {left:#?}"
    );
    drop(cri);
    drop(tb);
}
