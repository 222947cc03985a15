//! The messages between the runtime (parent) and the process it forked (the container's init, or an exec process)
//! over a `SOCK_SEQPACKET` pair: one type per direction ([`ToChild`], [`ToParent`]), one packet per message (a tag
//! byte, then its payload). Every request of the child has exactly one reply ([`ToParent::reply`]); the parent's
//! side is one driver for create and exec (`driver`), which refuses a message out of order, naming the expected
//! and the received one, as the child does with [`Channel::expect`].

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::net::{self, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

/// parent → child: a reply to a [`ToParent`] request, or the start signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToChild {
    /// Id maps written (direct mode) and cgroup joined (unless the init joins itself, or the runtime moves it
    /// after `Go`: then [`ToChild::Joined`] follows): go on with setup. Carries the child's host PID (for the state given to hooks). The first message;
    /// it and `Joined` are the only ones that are no reply.
    Go(i32),
    /// Right after [`ToChild::Go`] when the runtime moves the init into its cgroup after `Go` (see
    /// `spawn::cgroup_join`; a v2 host without clone3): the init is in its cgroup now. The init reads it before anything that needs the cgroup (hooks, exec, the start gate).
    Joined,
    /// Reply to [`ToParent::MapsNeeded`]: the id maps are written.
    MapsWritten,
    /// Reply to [`ToParent::Forked`] (to the grandchild): the runtime reaped the intermediate child; the
    /// grandchild, whose host PID this is, is the container's init.
    Adopted(i32),
    /// Reply to [`ToParent::RunHooks`]: the `prestart` and `createRuntime` hooks ran.
    HooksRan,
    /// Reply to [`ToParent::NotifyFd`]: the listener has the seccomp notify fd.
    ListenerTook,
    /// Reply to [`ToParent::Ready`] (create only): the container is recorded in its state directory (so `state`
    /// and `delete` find it), and the init may now outlive the runtime. Until then, the runtime's death (EOF) ends
    /// the init. (An exec process gets no reply: it has exec'd.)
    Recorded,
}

/// child → parent: a request (each has one reply, [`ToParent::reply`]), or the report of a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToParent {
    /// (staged mode) A new user namespace was unshared; write the id maps of this PID.
    MapsNeeded(i32),
    /// (staged mode) The grandchild with this host PID is the container's init; the sender exits.
    Forked(i32),
    /// Namespaces and mounts are ready; run the `prestart` and `createRuntime` hooks now.
    RunHooks,
    /// The seccomp user-notification fd has this number in the sender; take it (pidfd_getfd) and hand it to the
    /// listener.
    NotifyFd(i32),
    /// Setup finished: the init waits at the start gate (create), or the process execs (exec).
    Ready,
    /// Setup failed at `context` with `errno`; the sender exits. Accepted at any point, answered by nothing.
    Failed {
        /// The OS error number.
        errno: i32,
        /// What was being done, naming the field or path.
        context: String,
    },
}

/// The requests of [`ToParent`] without their payload, in the order the protocol sends them (each optional except
/// `Ready`; see `driver::Sequence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// [`ToParent::MapsNeeded`]
    MapsNeeded,
    /// [`ToParent::Forked`]
    Forked,
    /// [`ToParent::RunHooks`]
    RunHooks,
    /// [`ToParent::NotifyFd`]
    NotifyFd,
    /// [`ToParent::Ready`]
    Ready,
}

impl ToParent {
    /// Which request this is (`None` for [`ToParent::Failed`]).
    pub fn step(&self) -> Option<Step> {
        Some(match self {
            ToParent::MapsNeeded(_) => Step::MapsNeeded,
            ToParent::Forked(_) => Step::Forked,
            ToParent::RunHooks => Step::RunHooks,
            ToParent::NotifyFd(_) => Step::NotifyFd,
            ToParent::Ready => Step::Ready,
            ToParent::Failed { .. } => return None,
        })
    }

    /// The parent's reply to this request once it has done what was asked (`None` for `Failed`).
    pub fn reply(&self) -> Option<ToChild> {
        Some(match self {
            ToParent::MapsNeeded(_) => ToChild::MapsWritten,
            ToParent::Forked(pid) => ToChild::Adopted(*pid),
            ToParent::RunHooks => ToChild::HooksRan,
            ToParent::NotifyFd(_) => ToChild::ListenerTook,
            ToParent::Ready => ToChild::Recorded,
            ToParent::Failed { .. } => return None,
        })
    }
}

/// A message type of one direction of the sync socket: one packet, a tag byte then its payload. The two directions
/// use disjoint tags, so a message read from the wrong direction is refused as malformed.
pub trait Wire: Sized + std::fmt::Debug + PartialEq {
    /// Appends the packet to `buf`.
    fn encode(&self, buf: &mut Vec<u8>);
    /// Decodes one packet.
    fn decode(p: &[u8]) -> io::Result<Self>;
}

const GO: u8 = 1;
const MAPS_WRITTEN: u8 = 2;
const ADOPTED: u8 = 3;
const HOOKS_RAN: u8 = 4;
const LISTENER_TOOK: u8 = 5;
const RECORDED: u8 = 6;
const JOINED: u8 = 7;

const MAPS_NEEDED: u8 = 0x81;
const FORKED: u8 = 0x82;
const RUN_HOOKS: u8 = 0x83;
const NOTIFY_FD: u8 = 0x84;
const READY: u8 = 0x85;
const FAILED: u8 = 0x86;

/// Largest packet (an error context is cut to fit).
const MAX_PACKET: usize = 4096;

fn push_int(buf: &mut Vec<u8>, tag: u8, v: i32) {
    buf.push(tag);
    buf.extend_from_slice(&v.to_le_bytes());
}

fn malformed() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "malformed sync message")
}

fn int(p: &[u8]) -> io::Result<i32> {
    Ok(i32::from_le_bytes(
        p.get(1..5)
            .ok_or_else(malformed)?
            .try_into()
            .map_err(|_| malformed())?,
    ))
}

impl Wire for ToChild {
    fn encode(&self, buf: &mut Vec<u8>) {
        match self {
            ToChild::Go(pid) => push_int(buf, GO, *pid),
            ToChild::Joined => buf.push(JOINED),
            ToChild::MapsWritten => buf.push(MAPS_WRITTEN),
            ToChild::Adopted(pid) => push_int(buf, ADOPTED, *pid),
            ToChild::HooksRan => buf.push(HOOKS_RAN),
            ToChild::ListenerTook => buf.push(LISTENER_TOOK),
            ToChild::Recorded => buf.push(RECORDED),
        }
    }

    fn decode(p: &[u8]) -> io::Result<ToChild> {
        Ok(match *p.first().ok_or_else(malformed)? {
            GO => ToChild::Go(int(p)?),
            JOINED => ToChild::Joined,
            MAPS_WRITTEN => ToChild::MapsWritten,
            ADOPTED => ToChild::Adopted(int(p)?),
            HOOKS_RAN => ToChild::HooksRan,
            LISTENER_TOOK => ToChild::ListenerTook,
            RECORDED => ToChild::Recorded,
            _ => return Err(malformed()),
        })
    }
}

impl Wire for ToParent {
    fn encode(&self, buf: &mut Vec<u8>) {
        match self {
            ToParent::MapsNeeded(pid) => push_int(buf, MAPS_NEEDED, *pid),
            ToParent::Forked(pid) => push_int(buf, FORKED, *pid),
            ToParent::RunHooks => buf.push(RUN_HOOKS),
            ToParent::NotifyFd(fd) => push_int(buf, NOTIFY_FD, *fd),
            ToParent::Ready => buf.push(READY),
            ToParent::Failed { errno, context } => {
                push_int(buf, FAILED, *errno);
                let room = MAX_PACKET - buf.len();
                let mut end = context.len().min(room);
                while !context.is_char_boundary(end) {
                    end -= 1;
                }
                buf.extend_from_slice(&context.as_bytes()[..end]);
            }
        }
    }

    fn decode(p: &[u8]) -> io::Result<ToParent> {
        Ok(match *p.first().ok_or_else(malformed)? {
            MAPS_NEEDED => ToParent::MapsNeeded(int(p)?),
            FORKED => ToParent::Forked(int(p)?),
            RUN_HOOKS => ToParent::RunHooks,
            NOTIFY_FD => ToParent::NotifyFd(int(p)?),
            READY => ToParent::Ready,
            FAILED => ToParent::Failed {
                errno: int(p)?,
                context: String::from_utf8_lossy(&p[5..]).into_owned(),
            },
            _ => return Err(malformed()),
        })
    }
}

/// One end of the sync socket.
pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    /// A connected pair (parent end, child end), both close-on-exec.
    pub fn pair() -> io::Result<(Channel, Channel)> {
        let (a, b) = net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    /// Sends `msg`.
    pub fn send<M: Wire>(&self, msg: &M) -> io::Result<()> {
        let mut buf = Vec::with_capacity(16);
        msg.encode(&mut buf);
        loop {
            match net::send(&self.fd, &buf, SendFlags::NOSIGNAL) {
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Receives one message; `Ok(None)` when the other end closed (it exited).
    pub fn recv<M: Wire>(&self) -> io::Result<Option<M>> {
        let mut buf = [0u8; MAX_PACKET];
        loop {
            match net::recv(&self.fd, &mut buf, RecvFlags::empty()) {
                Ok((0, _)) => return Ok(None),
                Ok((n, _)) => return M::decode(&buf[..n]).map(Some),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Whether the other end is closed (its process exited), without waiting.
    pub fn peer_gone(&self) -> bool {
        let mut fds = [rustix::event::PollFd::new(
            &self.fd,
            rustix::event::PollFlags::empty(),
        )];
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(1))
            && fds[0].revents().contains(rustix::event::PollFlags::HUP)
    }

    /// Receives one message and checks it is `want`.
    pub fn expect<M: Wire>(&self, want: &M) -> io::Result<()> {
        match self.recv::<M>()? {
            Some(ref m) if m == want => Ok(()),
            Some(m) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("sync: expected {want:?}, got {m:?}"),
            )),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("sync: peer closed while waiting for {want:?}"),
            )),
        }
    }
}

impl Channel {
    /// Sends the request `req` and waits for its reply (child side).
    pub fn ask(&self, req: &ToParent) -> io::Result<()> {
        self.send(req)?;
        match req.reply() {
            Some(reply) => self.expect(&reply),
            None => Ok(()),
        }
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (a, b) = Channel::pair().unwrap();
        for m in [
            ToChild::Go(42),
            ToChild::Joined,
            ToChild::MapsWritten,
            ToChild::Adopted(-1),
            ToChild::HooksRan,
            ToChild::ListenerTook,
            ToChild::Recorded,
        ] {
            a.send(&m).unwrap();
            assert_eq!(b.recv::<ToChild>().unwrap(), Some(m));
        }
        for m in [
            ToParent::MapsNeeded(7),
            ToParent::Forked(8),
            ToParent::RunHooks,
            ToParent::NotifyFd(9),
            ToParent::Ready,
            ToParent::Failed {
                errno: 2,
                context: "mount proc on /proc (mounts[0])".into(),
            },
        ] {
            b.send(&m).unwrap();
            assert_eq!(a.recv::<ToParent>().unwrap(), Some(m));
        }
        assert!(!b.peer_gone());
        drop(a);
        assert!(b.peer_gone());
        assert_eq!(b.recv::<ToChild>().unwrap(), None);
    }

    #[test]
    fn every_request_has_one_reply() {
        for (req, reply) in [
            (ToParent::MapsNeeded(1), ToChild::MapsWritten),
            (ToParent::Forked(5), ToChild::Adopted(5)),
            (ToParent::RunHooks, ToChild::HooksRan),
            (ToParent::NotifyFd(3), ToChild::ListenerTook),
            (ToParent::Ready, ToChild::Recorded),
        ] {
            assert_eq!(req.reply(), Some(reply), "{req:?}");
            assert!(req.step().is_some());
        }
        let failed = ToParent::Failed {
            errno: 1,
            context: String::new(),
        };
        assert_eq!((failed.reply(), failed.step()), (None, None));
    }

    #[test]
    fn ask_waits_for_the_reply_and_refuses_another() {
        let (parent, child) = Channel::pair().unwrap();
        parent.send(&ToChild::HooksRan).unwrap();
        child.ask(&ToParent::RunHooks).unwrap();
        assert_eq!(parent.recv::<ToParent>().unwrap(), Some(ToParent::RunHooks));
        parent.send(&ToChild::Recorded).unwrap();
        let err = child.ask(&ToParent::NotifyFd(4)).unwrap_err().to_string();
        assert!(
            err.contains("ListenerTook") && err.contains("Recorded"),
            "{err}"
        );
    }

    #[test]
    fn long_context_is_cut_on_a_char_boundary() {
        let mut buf = Vec::new();
        ToParent::Failed {
            errno: 1,
            context: "é".repeat(5000),
        }
        .encode(&mut buf);
        assert!(buf.len() <= MAX_PACKET);
        assert!(matches!(
            ToParent::decode(&buf).unwrap(),
            ToParent::Failed { .. }
        ));
    }

    #[test]
    fn garbage_and_the_other_direction_are_refused() {
        assert!(ToParent::decode(&[]).is_err());
        assert!(ToParent::decode(&[99]).is_err());
        assert!(ToParent::decode(&[MAPS_NEEDED, 1]).is_err());
        let mut go = Vec::new();
        ToChild::Go(1).encode(&mut go);
        assert!(ToParent::decode(&go).is_err());
        let mut ready = Vec::new();
        ToParent::Ready.encode(&mut ready);
        assert!(ToChild::decode(&ready).is_err());
    }
}
