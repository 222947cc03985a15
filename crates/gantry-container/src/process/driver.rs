//! The runtime's side of the sync protocol, for create and exec alike: send `Go`, then answer each request of the
//! child in the order the [`Sequence`] fixes, until `Ready`. A message out of order is an error naming the expected
//! and the received one; `Failed` ends the drive with the child's error; EOF (the child died) with how it ended.

use super::sync::{Channel, Step, ToChild, ToParent};
use crate::error::{Error, Result};

/// The requests one child will make, in protocol order ([`Step`]'s order), ending with `Ready`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    steps: Vec<Step>,
    child: Child,
}

/// Which child is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Child {
    /// The container's init: its `Ready` is answered (`Recorded`).
    Init,
    /// An exec process: its `Ready` is not answered (it has exec'd).
    Exec,
}

impl Child {
    fn sync_op(self) -> &'static str {
        match self {
            Child::Init => "sync with init",
            Child::Exec => "sync with the exec process",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Child::Init => "init",
            Child::Exec => "exec process",
        }
    }
}

impl Sequence {
    /// The container init's requests: `MapsNeeded` when it unshares a user namespace itself (staged mode),
    /// `Forked` when it forks again into a new PID namespace, `RunHooks` when there are prestart/createRuntime
    /// hooks, `NotifyFd` when its seccomp program has a listener, then `Ready`, answered with `Recorded`.
    pub fn create(maps: bool, forked: bool, hooks: bool, notify: bool) -> Sequence {
        let steps = [
            (maps, Step::MapsNeeded),
            (forked, Step::Forked),
            (hooks, Step::RunHooks),
            (notify, Step::NotifyFd),
            (true, Step::Ready),
        ];
        Sequence {
            steps: steps.into_iter().filter(|s| s.0).map(|s| s.1).collect(),
            child: Child::Init,
        }
    }

    /// An exec process's requests: `NotifyFd` when its seccomp program has a listener, then `Ready`, unanswered.
    /// Nothing when the container is paused: the process is frozen with it and finishes its setup on resume, so
    /// the drive ends once `Go` is sent.
    pub fn exec(notify: bool, paused: bool) -> Sequence {
        let steps = match (paused, notify) {
            (true, _) => vec![],
            (false, true) => vec![Step::NotifyFd, Step::Ready],
            (false, false) => vec![Step::Ready],
        };
        Sequence {
            steps,
            child: Child::Exec,
        }
    }
}

/// What the runtime does for each request before the driver sends its reply.
pub trait Handler {
    /// The host PID the child's death is reported for (it changes when the staged init forks again).
    fn pid(&self) -> i32;
    /// Does what `req` asks (never [`ToParent::Failed`]; only requests of the sequence, in its order).
    fn handle(&mut self, req: &ToParent) -> Result<()>;
    /// Work done right after `Go` while the child sets up, announced to it by the returned message
    /// ([`ToChild::Joined`] for a late cgroup join); `None` (the default) when there is none.
    fn after_go(&mut self) -> Result<Option<ToChild>> {
        Ok(None)
    }
}

/// Sends `Go(go_pid)` on `chan`, then answers the child's requests in `seq`'s order through `handler`.
pub fn drive(chan: &Channel, go_pid: i32, seq: &Sequence, handler: &mut dyn Handler) -> Result<()> {
    let sync_err = |e| Error::sys(seq.child.sync_op(), e);
    chan.send(&ToChild::Go(go_pid)).map_err(sync_err)?;
    let after_go = handler
        .after_go()
        .and_then(|m| m.map_or(Ok(()), |m| chan.send(&m).map_err(sync_err)));
    if let Err(e) = after_go {
        // A child that failed meanwhile (and so, say, could not be moved) has said why: that is the error.
        if chan.peer_gone() {
            if let Ok(Some(ToParent::Failed { errno, context })) = chan.recv::<ToParent>() {
                return Err(Error::Init {
                    context,
                    source: std::io::Error::from_raw_os_error(errno),
                });
            }
        }
        return Err(e);
    }
    for want in &seq.steps {
        let msg = match chan.recv::<ToParent>().map_err(sync_err)? {
            Some(ToParent::Failed { errno, context }) => {
                return Err(Error::Init {
                    context,
                    source: std::io::Error::from_raw_os_error(errno),
                })
            }
            Some(m) if m.step() == Some(*want) => m,
            Some(m) => {
                return Err(Error::InitDied(format!(
                    "{}: sync: expected {want:?}, got {m:?}",
                    seq.child.name()
                )))
            }
            None => return Err(Error::InitDied(describe_exit(handler.pid()))),
        };
        handler.handle(&msg)?;
        if *want == Step::Ready && seq.child == Child::Exec {
            break;
        }
        if let Some(reply) = msg.reply() {
            chan.send(&reply).map_err(sync_err)?;
        }
    }
    Ok(())
}

/// How the child `pid` ended, if it did (reaping it).
fn describe_exit(pid: i32) -> String {
    match rustix::process::waitpid(
        rustix::process::Pid::from_raw(pid),
        rustix::process::WaitOptions::NOHANG,
    ) {
        Ok(Some((_, st))) => {
            if let Some(sig) = st.terminating_signal() {
                format!("killed by signal {sig}")
            } else {
                format!("exit status {}", st.exit_status().unwrap_or(0))
            }
        }
        _ => "no report".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the requests it handles; fails the one named in `fail_on`.
    struct Recorder {
        seen: Vec<ToParent>,
        fail_on: Option<Step>,
    }

    impl Handler for Recorder {
        fn pid(&self) -> i32 {
            i32::MAX // no such child: its end is "no report"
        }
        fn handle(&mut self, req: &ToParent) -> Result<()> {
            self.seen.push(req.clone());
            if req.step() == self.fail_on {
                return Err(Error::InitDied("handler failed".into()));
            }
            Ok(())
        }
    }

    /// Runs `script` as the child on a thread (it gets its end of the socket) and drives `seq` against it.
    fn run(
        seq: Sequence,
        fail_on: Option<Step>,
        script: impl FnOnce(Channel) + Send + 'static,
    ) -> (Result<()>, Vec<ToParent>) {
        let (parent, child) = Channel::pair().unwrap();
        let t = std::thread::spawn(move || script(child));
        let mut h = Recorder {
            seen: vec![],
            fail_on,
        };
        let r = drive(&parent, 7, &seq, &mut h);
        drop(parent);
        t.join().unwrap();
        (r, h.seen)
    }

    fn go(chan: &Channel) {
        assert_eq!(chan.recv::<ToChild>().unwrap(), Some(ToChild::Go(7)));
    }

    /// Joins late: announces `Joined` after `Go`, or fails the join (after the child, `child`, has ended).
    struct LateJoin {
        fail: bool,
        child: Option<std::thread::JoinHandle<()>>,
    }

    impl Handler for LateJoin {
        fn pid(&self) -> i32 {
            i32::MAX
        }
        fn handle(&mut self, _: &ToParent) -> Result<()> {
            Ok(())
        }
        fn after_go(&mut self) -> Result<Option<ToChild>> {
            if let Some(t) = self.child.take() {
                t.join().unwrap();
            }
            if self.fail {
                return Err(Error::InitDied("join failed".into()));
            }
            Ok(Some(ToChild::Joined))
        }
    }

    #[test]
    fn a_late_join_is_announced_right_after_go() {
        let (parent, child) = Channel::pair().unwrap();
        let t = std::thread::spawn(move || {
            go(&child);
            child.expect(&ToChild::Joined).unwrap();
            child.ask(&ToParent::Ready).unwrap();
        });
        let seq = Sequence::create(false, false, false, false);
        let mut h = LateJoin {
            fail: false,
            child: None,
        };
        drive(&parent, 7, &seq, &mut h).unwrap();
        t.join().unwrap();
    }

    #[test]
    fn a_failed_late_join_reports_the_childs_own_failure_first() {
        let seq = Sequence::create(false, false, false, false);
        // The init failed (and exited) while the runtime moved it: its report is the error.
        let (parent, child) = Channel::pair().unwrap();
        let t = std::thread::spawn(move || {
            go(&child);
            let failed = ToParent::Failed {
                errno: 2,
                context: "mount /proc".into(),
            };
            child.send(&failed).unwrap();
        });
        let mut h = LateJoin {
            fail: true,
            child: Some(t),
        };
        let e = drive(&parent, 7, &seq, &mut h).unwrap_err();
        assert!(e.to_string().contains("mount /proc"), "{e}");
        // The init is alive: the join's own error.
        let (parent, child) = Channel::pair().unwrap();
        let mut h = LateJoin {
            fail: true,
            child: None,
        };
        let e = drive(&parent, 7, &seq, &mut h).unwrap_err();
        assert!(e.to_string().contains("join failed"), "{e}");
        drop(child);
    }

    #[test]
    fn in_order_every_request_is_handled_and_answered() {
        let (r, seen) = run(Sequence::create(true, true, true, true), None, |c| {
            go(&c);
            c.ask(&ToParent::MapsNeeded(7)).unwrap();
            c.send(&ToParent::Forked(8)).unwrap();
            assert_eq!(c.recv::<ToChild>().unwrap(), Some(ToChild::Adopted(8)));
            c.ask(&ToParent::RunHooks).unwrap();
            c.ask(&ToParent::NotifyFd(5)).unwrap();
            c.ask(&ToParent::Ready).unwrap();
        });
        r.unwrap();
        assert_eq!(
            seen,
            [
                ToParent::MapsNeeded(7),
                ToParent::Forked(8),
                ToParent::RunHooks,
                ToParent::NotifyFd(5),
                ToParent::Ready
            ]
        );
    }

    #[test]
    fn exec_ready_is_not_answered_and_paused_ends_at_go() {
        let (r, seen) = run(Sequence::exec(false, false), None, |c| {
            go(&c);
            c.send(&ToParent::Ready).unwrap();
            assert_eq!(
                c.recv::<ToChild>().unwrap(),
                None,
                "no reply to an exec's Ready"
            );
        });
        r.unwrap();
        assert_eq!(seen, [ToParent::Ready]);
        let (r, seen) = run(Sequence::exec(true, true), None, |c| go(&c));
        r.unwrap();
        assert!(seen.is_empty());
    }

    #[test]
    fn out_of_order_names_both_messages() {
        let (r, seen) = run(Sequence::create(false, false, true, false), None, |c| {
            go(&c);
            c.send(&ToParent::Ready).unwrap();
        });
        let err = r.unwrap_err().to_string();
        assert!(err.contains("expected RunHooks, got Ready"), "{err}");
        assert!(seen.is_empty(), "nothing out of order is handled");
        // A request the sequence does not hold at all (a second Ready is never read: the drive ended).
        let (r, _) = run(Sequence::create(false, false, false, false), None, |c| {
            go(&c);
            c.send(&ToParent::MapsNeeded(1)).unwrap();
        });
        let err = r.unwrap_err().to_string();
        assert!(err.contains("expected Ready, got MapsNeeded(1)"), "{err}");
    }

    #[test]
    fn failed_ends_the_drive_with_the_childs_error() {
        let (r, seen) = run(Sequence::create(false, false, true, false), None, |c| {
            go(&c);
            c.send(&ToParent::Failed {
                errno: libc::ENOENT,
                context: "mount proc on /proc (mounts[0])".into(),
            })
            .unwrap();
        });
        match r.unwrap_err() {
            Error::Init { context, source } => {
                assert_eq!(context, "mount proc on /proc (mounts[0])");
                assert_eq!(source.raw_os_error(), Some(libc::ENOENT));
            }
            other => panic!("{other}"),
        }
        assert!(seen.is_empty());
    }

    #[test]
    fn eof_mid_sequence_is_a_death() {
        let (r, seen) = run(Sequence::create(false, false, true, false), None, |c| {
            go(&c);
            c.ask(&ToParent::RunHooks).unwrap();
            // dies before Ready
        });
        let err = r.unwrap_err();
        assert!(
            matches!(&err, Error::InitDied(m) if m == "no report"),
            "{err}"
        );
        assert_eq!(seen, [ToParent::RunHooks]);
    }

    #[test]
    fn a_failing_handler_sends_no_reply() {
        let (r, _) = run(
            Sequence::create(false, false, true, false),
            Some(Step::RunHooks),
            |c| {
                go(&c);
                c.send(&ToParent::RunHooks).unwrap();
                assert_eq!(c.recv::<ToChild>().unwrap(), None);
            },
        );
        assert!(r.unwrap_err().to_string().contains("handler failed"));
    }
}
