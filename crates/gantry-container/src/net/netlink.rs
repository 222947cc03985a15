//! A minimal rtnetlink client: just enough to move a link into another network namespace and rename it
//! (`RTM_NEWLINK` with `IFLA_NET_NS_FD` and `IFLA_IFNAME`), waiting for the kernel's acknowledgement.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

const RTM_NEWLINK: u16 = 16;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLMSG_ERROR: u16 = 0x2;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const NLMSG_HDRLEN: usize = 16;

/// An `RTM_NEWLINK` request for the link with index `index`: move it to the network namespace `netns` (when
/// given) and name it `name` (when given). Pure: the bytes to send.
pub fn new_link_request(seq: u32, index: i32, netns: Option<i32>, name: Option<&str>) -> Vec<u8> {
    let mut m = vec![0u8; NLMSG_HDRLEN];
    // struct ifinfomsg: family, pad, type, index, flags, change.
    m.extend_from_slice(&[0u8, 0]);
    m.extend_from_slice(&0u16.to_ne_bytes());
    m.extend_from_slice(&index.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    if let Some(fd) = netns {
        attr(&mut m, IFLA_NET_NS_FD, &(fd as u32).to_ne_bytes());
    }
    if let Some(name) = name {
        let mut z = name.as_bytes().to_vec();
        z.push(0);
        attr(&mut m, IFLA_IFNAME, &z);
    }
    let len = m.len() as u32;
    m[0..4].copy_from_slice(&len.to_ne_bytes());
    m[4..6].copy_from_slice(&RTM_NEWLINK.to_ne_bytes());
    m[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    m[8..12].copy_from_slice(&seq.to_ne_bytes());
    m
}

fn attr(m: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = 4 + data.len();
    m.extend_from_slice(&(len as u16).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(data);
    while m.len() % 4 != 0 {
        m.push(0);
    }
}

/// The kernel's answer to request `seq` in `reply`: `Ok(())` for an acknowledgement, the errno otherwise.
pub fn parse_ack(reply: &[u8], seq: u32) -> io::Result<()> {
    let mut off = 0;
    while off + NLMSG_HDRLEN <= reply.len() {
        let word = |o: usize| u32::from_ne_bytes(reply[o..o + 4].try_into().expect("4 bytes"));
        let len = word(off) as usize;
        let kind = u16::from_ne_bytes(reply[off + 4..off + 6].try_into().expect("2 bytes"));
        if len < NLMSG_HDRLEN || off + len > reply.len() {
            break;
        }
        if kind == NLMSG_ERROR && word(off + 8) == seq && len >= NLMSG_HDRLEN + 4 {
            let err = i32::from_ne_bytes(reply[off + 16..off + 20].try_into().expect("4 bytes"));
            return if err == 0 {
                Ok(())
            } else {
                Err(io::Error::from_raw_os_error(-err))
            };
        }
        off += (len + 3) & !3;
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "no acknowledgement from the kernel (rtnetlink)",
    ))
}

/// An rtnetlink socket.
pub struct Route {
    fd: OwnedFd,
    seq: u32,
}

impl Route {
    /// Opens a `NETLINK_ROUTE` socket (close-on-exec).
    pub fn open() -> io::Result<Route> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            None, // NETLINK_ROUTE is protocol 0
        )?;
        Ok(Route { fd, seq: 0 })
    }

    /// Moves link `index` into the network namespace `netns` and names it `name` there.
    pub fn move_link(&mut self, index: i32, netns: BorrowedFd<'_>, name: &str) -> io::Result<()> {
        self.seq += 1;
        let req = new_link_request(self.seq, index, Some(netns.as_raw_fd()), Some(name));
        rustix::net::send(&self.fd, &req, SendFlags::empty())?;
        let mut buf = vec![0u8; 8192];
        loop {
            let (n, _) = rustix::net::recv(&self.fd, &mut buf, RecvFlags::empty())?;
            match parse_ack(&buf[..n], self.seq) {
                Err(e) if e.kind() == io::ErrorKind::InvalidData => continue,
                r => return r,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let m = new_link_request(7, 42, Some(5), Some("eth1"));
        // header 16 + ifinfomsg 16 + fd attr 8 + name attr (4 + 5 → 12)
        assert_eq!(m.len(), 52);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 52);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), RTM_NEWLINK);
        assert_eq!(u32::from_ne_bytes(m[8..12].try_into().unwrap()), 7);
        assert_eq!(i32::from_ne_bytes(m[20..24].try_into().unwrap()), 42);
        assert_eq!(
            u16::from_ne_bytes(m[34..36].try_into().unwrap()),
            IFLA_NET_NS_FD
        );
        assert_eq!(u32::from_ne_bytes(m[36..40].try_into().unwrap()), 5);
        assert_eq!(&m[44..49], b"eth1\0");
    }

    #[test]
    fn acks_and_errors() {
        let mut r = vec![0u8; 36];
        r[0..4].copy_from_slice(&36u32.to_ne_bytes());
        r[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        r[8..12].copy_from_slice(&3u32.to_ne_bytes());
        assert!(parse_ack(&r, 3).is_ok());
        r[16..20].copy_from_slice(&(-libc::EEXIST).to_ne_bytes());
        assert_eq!(
            parse_ack(&r, 3).unwrap_err().raw_os_error(),
            Some(libc::EEXIST)
        );
        assert_eq!(
            parse_ack(&r, 4).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
