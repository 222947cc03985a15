//! An rtnetlink socket (`NETLINK_ROUTE`), possibly opened inside another network namespace, and the few
//! conversations `linux.netDevices` needs with it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use rustix::thread::LinkNameSpaceType;

use super::netlink::{self as nl, Addr};

/// An rtnetlink socket.
pub struct Route {
    fd: OwnedFd,
    seq: u32,
}

impl Route {
    /// Opens a socket in the caller's network namespace.
    pub fn open() -> io::Result<Route> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            None, // NETLINK_ROUTE is protocol 0
        )?;
        Ok(Route { fd, seq: 0 })
    }

    /// Opens a socket that talks to the network namespace `netns` (the caller enters it for the `socket` call
    /// only; it must be single-threaded).
    pub fn open_in(netns: BorrowedFd<'_>) -> io::Result<Route> {
        let own = rustix::fs::open(
            "/proc/thread-self/ns/net",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?;
        rustix::thread::move_into_link_name_space(netns, Some(LinkNameSpaceType::Network))?;
        let route = Route::open();
        rustix::thread::move_into_link_name_space(own.as_fd(), Some(LinkNameSpaceType::Network))?;
        route
    }

    fn next(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    /// Sends `req` (numbered `seq`) and hands each reply message to `each` until it returns `Some`, an error
    /// arrives, or a dump ends (`None` then).
    fn talk<T>(
        &mut self,
        req: &[u8],
        seq: u32,
        mut each: impl FnMut(&nl::Reply<'_>) -> Option<io::Result<T>>,
    ) -> io::Result<Option<T>> {
        rustix::net::send(&self.fd, req, SendFlags::empty())?;
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let (n, _) = rustix::net::recv(&self.fd, &mut buf, RecvFlags::empty())?;
            for m in nl::messages(&buf[..n.min(buf.len())]) {
                if m.seq != seq {
                    continue;
                }
                if let Some(r) = each(&m) {
                    return r.map(Some);
                }
                match m.kind {
                    nl::NLMSG_ERROR => return nl::error_code(m.payload).map(|()| None),
                    nl::NLMSG_DONE => return Ok(None),
                    _ => {}
                }
            }
        }
    }

    fn request(&mut self, build: impl FnOnce(u32) -> Vec<u8>) -> io::Result<()> {
        let seq = self.next();
        let req = build(seq);
        self.talk::<()>(&req, seq, |_| None).map(|_| ())
    }

    /// Moves link `index` into the network namespace `netns`, named `name` there.
    pub fn move_link(&mut self, index: i32, netns: BorrowedFd<'_>, name: &str) -> io::Result<()> {
        let fd = netns.as_raw_fd();
        self.request(|seq| nl::move_link(seq, index, fd, name))
    }

    /// Brings link `index` up.
    pub fn set_up(&mut self, index: i32) -> io::Result<()> {
        self.request(|seq| nl::set_up(seq, index))
    }

    /// Adds address `a` to link `index`.
    pub fn add_address(&mut self, index: i32, a: &Addr) -> io::Result<()> {
        self.request(|seq| nl::add_address(seq, index, a))
    }

    /// The index and `IFF_*` flags of the link named `name`.
    pub fn link(&mut self, name: &str) -> io::Result<(i32, u32)> {
        let seq = self.next();
        let req = nl::get_link(seq, name);
        let found = self.talk(&req, seq, |m| {
            (m.kind == nl::RTM_NEWLINK).then(|| {
                nl::link_index(m.payload)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short RTM_NEWLINK"))
            })
        })?;
        found.ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))
    }

    /// The addresses of link `index`.
    pub fn addresses(&mut self, index: i32) -> io::Result<Vec<Addr>> {
        let seq = self.next();
        let req = nl::dump_addresses(seq);
        let mut out = Vec::new();
        self.talk::<()>(&req, seq, |m| {
            if m.kind == nl::RTM_NEWADDR {
                if let Some((i, a)) = nl::parse_addr(m.payload) {
                    if i == index {
                        out.push(a);
                    }
                }
            }
            None
        })?;
        Ok(out)
    }
}
