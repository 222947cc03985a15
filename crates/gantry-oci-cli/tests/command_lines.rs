//! Command lines that podman, containerd's runc shim (go-runc) and people really send.

use std::path::PathBuf;
use std::time::Duration;

use clap::CommandFactory;
use gantry_oci_cli::{Cli, Command, Format, LogFormat, Rootless, UserSpec, NOT_IMPLEMENTED};

fn parse(line: &str) -> Cli {
    let argv = std::iter::once("gantry-runtime").chain(line.split_whitespace());
    Cli::parse_args(argv.map(Into::into)).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn fails(line: &str) -> clap::Error {
    let argv = std::iter::once("gantry-runtime").chain(line.split_whitespace());
    Cli::parse_args(argv.map(Into::into)).expect_err(line)
}

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn containerd_create() {
    let cli = parse(
        "--root /run/containerd/runc/k8s.io --log /x/log.json --log-format json create \
         --bundle /b --pid-file /b/init.pid --console-socket /s id",
    );
    assert_eq!(
        cli.global.root,
        PathBuf::from("/run/containerd/runc/k8s.io")
    );
    assert_eq!(cli.global.log, Some(PathBuf::from("/x/log.json")));
    assert_eq!(cli.global.log_format, LogFormat::Json);
    let Some(Command::Create(c)) = &cli.command else {
        panic!("{cli:?}")
    };
    assert_eq!(c.opts.bundle, PathBuf::from("/b"));
    assert_eq!(c.opts.pid_file, Some(PathBuf::from("/b/init.pid")));
    assert_eq!(c.opts.console_socket, Some(PathBuf::from("/s")));
    assert_eq!(c.opts.id, "id");
    assert_eq!(cli.container_id(), Some("id"));
}

#[test]
fn defaults() {
    let cli = parse("create abc");
    assert_eq!(cli.global.root, PathBuf::from("/run/gantry"));
    assert_eq!(cli.global.log_format, LogFormat::Text);
    assert_eq!(cli.global.rootless, Rootless::Auto);
    assert!(!cli.global.systemd_cgroup && !cli.global.debug);
    let Some(Command::Create(c)) = &cli.command else {
        panic!()
    };
    assert_eq!(c.opts.bundle, PathBuf::from("."));
    assert_eq!(c.opts.preserve_fds, 0);
    assert!(cli.given_flags().is_empty());
}

#[test]
fn systemd_cgroup_and_rootless() {
    let cli = parse("--systemd-cgroup --rootless false --root /r create -b /b --no-pivot --no-new-keyring --preserve-fds 2 x");
    assert!(cli.global.systemd_cgroup);
    assert_eq!(cli.global.rootless, Rootless::False);
    let Some(Command::Create(c)) = &cli.command else {
        panic!()
    };
    assert!(c.opts.no_pivot && c.opts.no_new_keyring);
    assert_eq!(c.opts.preserve_fds, 2);
    fails("--rootless maybe list");
}

#[test]
fn kill_variants() {
    let cli = parse("kill --all id 9");
    let Some(Command::Kill(k)) = &cli.command else {
        panic!()
    };
    assert!(k.all);
    assert_eq!((k.id.as_str(), k.signal), ("id", 9));
    for (line, sig) in [
        ("kill id", 15),
        ("kill id KILL", 9),
        ("kill id SIGHUP", 1),
        ("kill -a id sigusr1", 10),
    ] {
        let Some(Command::Kill(k)) = parse(line).command else {
            panic!()
        };
        assert_eq!(k.signal, sig, "{line}");
    }
    let e = fails("kill id SIGNOPE").to_string();
    assert!(e.contains("SIGNOPE"), "{e}");
}

#[test]
fn delete_state_start_pause_resume() {
    let Some(Command::Delete(d)) = parse("delete --force id").command else {
        panic!()
    };
    assert!(d.force && d.id == "id");
    let Some(Command::Delete(d)) = parse("delete -f id").command else {
        panic!()
    };
    assert!(d.force);
    assert!(matches!(parse("state id").command, Some(Command::State(ref s)) if s.id == "id"));
    assert!(matches!(parse("start id").command, Some(Command::Start(_))));
    assert!(matches!(parse("pause id").command, Some(Command::Pause(_))));
    assert!(matches!(
        parse("resume id").command,
        Some(Command::Resume(_))
    ));
    fails("state");
    fails("start a b");
}

#[test]
fn exec_detached_with_process_file() {
    let cli = parse("exec --process /tmp/p.json --detach --pid-file /x id");
    let Some(Command::Exec(e)) = &cli.command else {
        panic!()
    };
    assert_eq!(e.process, Some(PathBuf::from("/tmp/p.json")));
    assert!(e.detach);
    assert_eq!(e.pid_file, Some(PathBuf::from("/x")));
    assert!(e.command.is_empty());
}

#[test]
fn exec_all_flags_and_trailing_command() {
    let cli = parse(
        "exec -t --console-socket /s --cwd /tmp -e A=1 --env B=2 -u 1000:1000 -g 10 -g 11 \
         -c CAP_SYS_ADMIN --cap CAP_NET_ADMIN --no-new-privs --apparmor prof --process-label lbl \
         --preserve-fds 1 --cgroup cpu:sub --ignore-paused id sh -c echo -e hi",
    );
    let Some(Command::Exec(e)) = &cli.command else {
        panic!()
    };
    assert!(e.tty && e.no_new_privs && e.ignore_paused);
    assert_eq!(e.env, ["A=1", "B=2"]);
    assert_eq!(
        e.user,
        Some(UserSpec {
            uid: 1000,
            gid: Some(1000)
        })
    );
    assert_eq!(e.additional_gids, [10, 11]);
    assert_eq!(e.cap, ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]);
    assert_eq!(e.cgroup, ["cpu:sub"]);
    assert_eq!(e.command, ["sh", "-c", "echo", "-e", "hi"]);
    fails("exec -u root id sh");
}

#[test]
fn run_list_ps_spec_features_events() {
    let Some(Command::Run(r)) = parse("run -d --keep -b /b --pid-file /p id").command else {
        panic!()
    };
    assert!(r.detach && r.keep);
    assert_eq!(r.opts.bundle, PathBuf::from("/b"));

    let Some(Command::List(l)) = parse("list -q --format json").command else {
        panic!()
    };
    assert!(l.quiet && l.format == Format::Json);
    let Some(Command::List(l)) = parse("list -f table").command else {
        panic!()
    };
    assert_eq!(l.format, Format::Table);

    let Some(Command::Ps(p)) = parse("ps --format json id").command else {
        panic!()
    };
    assert_eq!((p.format, p.id.as_str()), (Format::Json, "id"));
    let Some(Command::Ps(p)) = parse("ps id -ef").command else {
        panic!()
    };
    assert_eq!(p.ps_args, ["-ef"]);

    let Some(Command::Spec(s)) = parse("spec --rootless -b /b").command else {
        panic!()
    };
    assert!(s.rootless && s.bundle == Some(PathBuf::from("/b")));
    assert!(matches!(parse("features").command, Some(Command::Features)));

    let Some(Command::Events(e)) = parse("events id").command else {
        panic!()
    };
    assert_eq!(e.interval, Duration::from_secs(5));
    let Some(Command::Events(e)) = parse("events --stats --interval 250ms id").command else {
        panic!()
    };
    assert!(e.stats && e.interval == Duration::from_millis(250));
}

#[test]
fn update_flags() {
    let cli = parse(
        "update --memory 512m --memory-swap -1 --cpu-quota -1 --cpu-period 100000 --cpu-share 512 \
         --pids-limit 100 --blkio-weight 500 --cpuset-cpus 0-1 --cpuset-mems 0 \
         --cpu-rt-period 1000 --cpu-rt-runtime 500 --memory-reservation 1g id",
    );
    let Some(Command::Update(u)) = &cli.command else {
        panic!()
    };
    assert_eq!(u.memory, Some(512 << 20));
    assert_eq!(u.memory_swap, Some(-1));
    assert_eq!(u.cpu_quota, Some(-1));
    assert_eq!(u.pids_limit, Some(100));
    assert_eq!(u.memory_reservation, Some(1 << 30));
    assert!(cli.unsupported_flags(NOT_IMPLEMENTED).is_empty());
    let Some(Command::Update(u)) = parse("update -r - id").command else {
        panic!()
    };
    assert_eq!(u.resources, Some(PathBuf::from("-")));
}

#[test]
fn unsupported_flags_are_named() {
    let cli = parse("--criu /usr/sbin/criu update --kernel-memory 1m --l3-cache-schema L3:0=ff id");
    assert_eq!(
        cli.unsupported_flags(NOT_IMPLEMENTED),
        ["--criu", "--kernel-memory", "--l3-cache-schema"]
    );
}

#[test]
fn checkpoint_and_restore_parse() {
    let cli = parse("checkpoint --image-path /img --leave-running --tcp-established id");
    assert!(matches!(cli.command, Some(Command::Checkpoint(ref c)) if c.leave_running));
    let cli = parse("restore -b /b -d --image-path /img --pid-file /p id");
    assert!(matches!(cli.command, Some(Command::Restore(ref r)) if r.detach));
}

#[test]
fn go_style_single_dash_flags() {
    let cli = parse("-root /r -log-format json -systemd-cgroup delete -force id");
    assert_eq!(cli.global.root, PathBuf::from("/r"));
    assert!(cli.global.systemd_cgroup);
    assert!(matches!(cli.command, Some(Command::Delete(ref d)) if d.force));
}

#[test]
fn version_flag() {
    for line in ["--version", "-v"] {
        let cli = parse(line);
        assert!(cli.version && cli.command.is_none());
    }
    let text = gantry_oci_cli::version_text();
    assert!(text.starts_with("gantry-runtime version "), "{text}");
    assert!(text.contains("\nspec: 1.2.0\n"), "{text}");
}

#[test]
fn unknown_things_fail() {
    fails("frobnicate id");
    fails("create --bogus id");
    fails("--log-format xml list");
    fails("create");
}

#[test]
fn podman_conmon_style_with_equals() {
    let cli = parse(
        "--root=/run/runc --systemd-cgroup --log-format=json --log=/run/ctr/oci-log create \
         --bundle=/var/lib/containers/b --pid-file=/run/ctr/pidfile --no-new-keyring \
         --console-socket=/tmp/conmon-term.sock abc",
    );
    assert_eq!(cli.global.root, PathBuf::from("/run/runc"));
    assert_eq!(cli.global.log_format, LogFormat::Json);
    let Some(Command::Create(c)) = &cli.command else {
        panic!()
    };
    assert!(c.opts.no_new_keyring);
    assert_eq!(c.opts.bundle, PathBuf::from("/var/lib/containers/b"));
    let cli = parse("exec -d --pid-file=/p --process=/tmp/exec_process --console-socket=/s abc");
    let Some(Command::Exec(e)) = &cli.command else {
        panic!()
    };
    assert!(e.detach && e.process.is_some() && e.console_socket.is_some());
    let Some(Command::Update(u)) = parse("update --resources=- abc").command else {
        panic!()
    };
    assert_eq!(u.resources, Some(PathBuf::from("-")));
}
