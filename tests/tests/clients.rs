//! Real clients drive the runtime under test: podman 4.3 (`--runtime PATH`, through conmon) and containerd 1.6
//! (`ctr run --runc-binary PATH`, through containerd-shim-runc-v2, the path a CRI handler with `BinaryName` takes).
//! Each test has its own `TESTBED_STATE`; a setup failure fails the test with the reason.

use gantry_tests::testbed::{Service, Testbed};
use gantry_tests::TestCtx;

const IMAGE: &str = "localhost/testbed/busybox:latest";

#[test]
fn podman_runs_execs_pauses_stops_and_removes() {
    let t = TestCtx::new("podman");
    let tb = Testbed::start(&t.dir, Service::Podman);
    let name = format!("gt-{}", t.name);
    let p = |s: &str| tb.podman(&s.replace("NAME", &name).replace("IMAGE", IMAGE));
    assert_eq!(
        p("podman run --rm --runtime \"$RT\" IMAGE echo hi").ok(),
        "hi"
    );
    let o = p("podman run --rm --runtime \"$RT\" IMAGE sh -c 'exit 7'");
    assert_eq!(o.code, Some(7), "{o}");
    p("podman run -d --name NAME --runtime \"$RT\" IMAGE sleep 1000").ok();
    let o = p("podman exec NAME sh -c 'echo $$; cat /proc/1/cmdline | tr \"\\0\" \" \"'");
    let lines: Vec<&str> = o.ok().lines().collect();
    assert!(lines[0].parse::<i32>().unwrap() > 1, "{o}");
    assert_eq!(
        lines[1].trim(),
        "sleep 1000",
        "exec shares the container's pid ns: {o}"
    );
    assert_eq!(p("podman exec NAME sh -c 'exit 5'").code, Some(5));
    p("podman pause NAME").ok();
    assert_eq!(
        p("podman inspect -f '{{.State.Status}}' NAME").ok(),
        "paused"
    );
    p("podman unpause NAME").ok();
    assert_eq!(
        p("podman inspect -f '{{.State.Status}}' NAME").ok(),
        "running"
    );
    assert_eq!(p("podman exec NAME echo after-resume").ok(), "after-resume");
    p("podman stop -t 1 NAME").ok();
    assert_eq!(
        p("podman inspect -f '{{.State.Status}}' NAME").ok(),
        "exited"
    );
    p("podman rm NAME").ok();
    assert_eq!(p("podman ps -aq").ok(), "", "nothing left");
}

#[test]
fn podman_interactive_tty_run_and_exec() {
    let t = TestCtx::new("podman_tty");
    let tb = Testbed::start(&t.dir, Service::Podman);
    let name = format!("gt-{}", t.name);
    let p = |s: &str| tb.podman(&s.replace("NAME", &name).replace("IMAGE", IMAGE));
    // `script` gives podman a pty on stdin/stdout, as an interactive shell would; -e returns the exit status.
    let o = p("script -qec \"podman run --rm -it --runtime $RT IMAGE sh -c '[ -t 0 ] && tty && sleep 0.3; exit 4'\" /dev/null");
    assert_eq!(o.code, Some(4), "{o}");
    assert!(o.stdout.contains("/dev/pts/"), "{o}");
    p("podman run -d --name NAME --runtime \"$RT\" IMAGE sleep 1000").ok();
    let o = p("script -qec \"podman exec -it NAME sh -c '[ -t 0 ] && tty; exit 3'\" /dev/null");
    assert_eq!(o.code, Some(3), "{o}");
    assert!(o.stdout.contains("/dev/pts/"), "{o}");
    p("podman rm -f -t 0 NAME").ok();
}

#[test]
fn containerd_ctr_runs_execs_and_pauses_through_the_runc_shim() {
    let t = TestCtx::new("ctr");
    let tb = Testbed::start(&t.dir, Service::Containerd);
    let id = format!("gt-{}", t.name);
    let cg = format!("{}/{id}", gantry_tests::cleanup::CGROUP_PARENT);
    t.guard.with(|r| r.cgroups.push(cg.clone()));
    let c = |s: &str| {
        tb.ctr(
            &s.replace("ID", &id)
                .replace("IMAGE", IMAGE)
                .replace("CG", &cg),
        )
    };
    assert_eq!(
        c("ctr run --rm --runc-binary \"$RT\" IMAGE ID-once echo hi").ok(),
        "hi"
    );
    assert_eq!(
        c("ctr run --rm --runc-binary \"$RT\" IMAGE ID-once sh -c 'exit 6'").code,
        Some(6)
    );
    c("ctr run -d --runc-binary \"$RT\" --cgroup CG IMAGE ID sleep 1000").ok();
    assert!(c("ctr task ls").ok().contains("RUNNING"));
    assert_eq!(
        c("ctr task exec --exec-id e1 ID sh -c 'echo exec-ok'").ok(),
        "exec-ok"
    );
    assert_eq!(
        c("ctr task exec --exec-id e2 ID sh -c 'exit 9'").code,
        Some(9)
    );
    // With a terminal (the shim passes --console-socket); `script` gives ctr a pty.
    let o = c("script -qec \"ctr task exec -t --exec-id e3 ID sh -c 'tty; exit 2'\" /dev/null");
    assert_eq!(o.code, Some(2), "{o}");
    assert!(o.stdout.contains("/dev/pts/"), "{o}");
    c("ctr task pause ID").ok();
    assert!(c("ctr task ls").ok().contains("PAUSED"));
    c("ctr task resume ID").ok();
    assert!(c("ctr task ls").ok().contains("RUNNING"));
    let pids = c("ctr task ps ID").ok().to_string();
    assert!(pids.lines().count() >= 2, "{pids}");
    c("ctr task kill -s KILL ID && sleep 0.5 && ctr task rm ID && ctr container rm ID").ok();
    assert_eq!(c("ctr task ls -q; ctr container ls -q").ok(), "");
}
