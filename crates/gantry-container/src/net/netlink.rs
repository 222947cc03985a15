//! rtnetlink messages, encoded and decoded without I/O: just what moving a link into another network namespace
//! with its addresses needs (`RTM_NEWLINK`, `RTM_GETLINK`, `RTM_GETADDR`, `RTM_NEWADDR`).

use std::io;

/// `RTM_NEWLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_GETLINK`.
pub const RTM_GETLINK: u16 = 18;
/// `RTM_NEWADDR`.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_GETADDR`.
pub const RTM_GETADDR: u16 = 22;
/// `NLMSG_ERROR` (an acknowledgement when its error is 0).
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_DUMP`.
pub const NLM_F_DUMP: u16 = 0x300;
/// `NLM_F_EXCL`.
pub const NLM_F_EXCL: u16 = 0x200;
/// `NLM_F_CREATE`.
pub const NLM_F_CREATE: u16 = 0x400;
/// `IFF_UP`.
pub const IFF_UP: u32 = 0x1;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const HDR: usize = 16;

/// A message being built: header (filled in by [`Msg::finish`]), a fixed part, attributes.
pub struct Msg(Vec<u8>);

impl Msg {
    /// Starts a message with the fixed part `body` (e.g. a `struct ifinfomsg`).
    pub fn new(body: &[u8]) -> Msg {
        let mut m = vec![0u8; HDR];
        m.extend_from_slice(body);
        Msg(m)
    }

    /// Appends an attribute, padded to 4 bytes.
    pub fn attr(mut self, kind: u16, data: &[u8]) -> Msg {
        let m = &mut self.0;
        m.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(data);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        self
    }

    /// Fills in the header and returns the bytes to send.
    pub fn finish(mut self, kind: u16, flags: u16, seq: u32) -> Vec<u8> {
        let len = self.0.len() as u32;
        let m = &mut self.0;
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        m[4..6].copy_from_slice(&kind.to_ne_bytes());
        m[6..8].copy_from_slice(&flags.to_ne_bytes());
        m[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.0
    }
}

/// `struct ifinfomsg` for link `index` with `flags` changed under the mask `change`.
pub fn ifinfomsg(index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8, 0, 0, 0];
    b.extend_from_slice(&index.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b
}

fn nul(name: &str) -> Vec<u8> {
    let mut z = name.as_bytes().to_vec();
    z.push(0);
    z
}

/// `RTM_NEWLINK`: move link `index` into the network namespace open at fd `netns`, named `name` there.
pub fn move_link(seq: u32, index: i32, netns: i32, name: &str) -> Vec<u8> {
    Msg::new(&ifinfomsg(index, 0, 0))
        .attr(IFLA_NET_NS_FD, &(netns as u32).to_ne_bytes())
        .attr(IFLA_IFNAME, &nul(name))
        .finish(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq)
}

/// `RTM_NEWLINK`: bring link `index` up.
pub fn set_up(seq: u32, index: i32) -> Vec<u8> {
    Msg::new(&ifinfomsg(index, IFF_UP, IFF_UP)).finish(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq)
}

/// `RTM_GETLINK` for the link named `name`.
pub fn get_link(seq: u32, name: &str) -> Vec<u8> {
    Msg::new(&ifinfomsg(0, 0, 0))
        .attr(IFLA_IFNAME, &nul(name))
        .finish(RTM_GETLINK, NLM_F_REQUEST, seq)
}

/// `RTM_GETADDR` dump of every address.
pub fn dump_addresses(seq: u32) -> Vec<u8> {
    Msg::new(&[0u8; 8]).finish(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq)
}

/// An interface address as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// Prefix length.
    pub prefix_len: u8,
    /// `IFA_F_*` flags (low byte).
    pub flags: u8,
    /// Scope.
    pub scope: u8,
    /// `IFA_LOCAL` (IPv4: the address itself).
    pub local: Option<Vec<u8>>,
    /// `IFA_ADDRESS` (IPv4: the peer or the address; IPv6: the address).
    pub address: Option<Vec<u8>>,
    /// `IFA_BROADCAST`.
    pub broadcast: Option<Vec<u8>>,
}

impl Addr {
    /// Whether the kernel makes this address by itself on a link that comes up (IPv6 link-local).
    pub fn is_automatic(&self) -> bool {
        self.family == libc::AF_INET6 as u8
            && self
                .address
                .as_deref()
                .is_some_and(|a| a.len() == 16 && a[0] == 0xfe && a[1] & 0xc0 == 0x80)
    }
}

/// `RTM_NEWADDR`: add `a` to link `index`.
pub fn add_address(seq: u32, index: i32, a: &Addr) -> Vec<u8> {
    let mut body = vec![a.family, a.prefix_len, a.flags, a.scope];
    body.extend_from_slice(&(index as u32).to_ne_bytes());
    let mut m = Msg::new(&body);
    for (kind, v) in [
        (IFA_LOCAL, &a.local),
        (IFA_ADDRESS, &a.address),
        (IFA_BROADCAST, &a.broadcast),
    ] {
        if let Some(v) = v {
            m = m.attr(kind, v);
        }
    }
    m.finish(
        RTM_NEWADDR,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq,
    )
}

/// One message of a reply: its type, sequence number and payload after the header.
#[derive(Debug)]
pub struct Reply<'a> {
    /// `nlmsg_type`.
    pub kind: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// Everything after the header.
    pub payload: &'a [u8],
}

/// Splits a datagram into its messages (stops at the first malformed one).
pub fn messages(buf: &[u8]) -> Vec<Reply<'_>> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + HDR <= buf.len() {
        let len = u32::from_ne_bytes(buf[off..off + 4].try_into().expect("4 bytes")) as usize;
        if len < HDR || off + len > buf.len() {
            break;
        }
        out.push(Reply {
            kind: u16::from_ne_bytes(buf[off + 4..off + 6].try_into().expect("2 bytes")),
            seq: u32::from_ne_bytes(buf[off + 8..off + 12].try_into().expect("4 bytes")),
            payload: &buf[off + HDR..off + len],
        });
        off += (len + 3) & !3;
    }
    out
}

/// The result carried by an `NLMSG_ERROR` payload: `Ok(())` for an acknowledgement, the errno otherwise.
pub fn error_code(payload: &[u8]) -> io::Result<()> {
    let err = payload
        .get(0..4)
        .map(|b| i32::from_ne_bytes(b.try_into().expect("4 bytes")))
        .unwrap_or(-libc::EPROTO);
    if err == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(-err))
    }
}

/// The link index and `IFF_*` flags in an `RTM_NEWLINK` payload.
pub fn link_index(payload: &[u8]) -> Option<(i32, u32)> {
    let index = payload.get(4..8)?;
    let flags = payload.get(8..12)?;
    Some((
        i32::from_ne_bytes(index.try_into().expect("4 bytes")),
        u32::from_ne_bytes(flags.try_into().expect("4 bytes")),
    ))
}

/// The address in an `RTM_NEWADDR` payload, with the link index it belongs to.
pub fn parse_addr(payload: &[u8]) -> Option<(i32, Addr)> {
    if payload.len() < 8 {
        return None;
    }
    let index = u32::from_ne_bytes(payload[4..8].try_into().expect("4 bytes")) as i32;
    let mut a = Addr {
        family: payload[0],
        prefix_len: payload[1],
        flags: payload[2],
        scope: payload[3],
        local: None,
        address: None,
        broadcast: None,
    };
    let mut off = 8;
    while off + 4 <= payload.len() {
        let len = u16::from_ne_bytes(payload[off..off + 2].try_into().expect("2 bytes")) as usize;
        let kind = u16::from_ne_bytes(payload[off + 2..off + 4].try_into().expect("2 bytes"));
        if len < 4 || off + len > payload.len() {
            break;
        }
        let data = payload[off + 4..off + len].to_vec();
        match kind {
            IFA_LOCAL => a.local = Some(data),
            IFA_ADDRESS => a.address = Some(data),
            IFA_BROADCAST => a.broadcast = Some(data),
            _ => {}
        }
        off += (len + 3) & !3;
    }
    Some((index, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_request_layout() {
        let m = move_link(7, 42, 5, "eth1");
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
    fn acks_errors_and_splitting() {
        let mut r = vec![0u8; 36];
        r[0..4].copy_from_slice(&36u32.to_ne_bytes());
        r[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        r[8..12].copy_from_slice(&3u32.to_ne_bytes());
        let msgs = messages(&r);
        assert_eq!(msgs.len(), 1);
        assert_eq!((msgs[0].kind, msgs[0].seq), (NLMSG_ERROR, 3));
        assert!(error_code(msgs[0].payload).is_ok());
        r[16..20].copy_from_slice(&(-libc::EEXIST).to_ne_bytes());
        assert_eq!(
            error_code(messages(&r)[0].payload)
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EEXIST)
        );
        assert!(messages(&r[..20]).is_empty());
    }

    #[test]
    fn addresses_round_trip() {
        let a = Addr {
            family: libc::AF_INET as u8,
            prefix_len: 24,
            flags: 0,
            scope: 0,
            local: Some(vec![10, 1, 2, 3]),
            address: Some(vec![10, 1, 2, 3]),
            broadcast: Some(vec![10, 1, 2, 255]),
        };
        let m = add_address(1, 9, &a);
        let (index, b) = parse_addr(&m[16..]).unwrap();
        assert_eq!((index, b), (9, a));
        let ll = Addr {
            family: libc::AF_INET6 as u8,
            prefix_len: 64,
            flags: 0,
            scope: 253,
            local: None,
            address: Some([0xfe, 0x80].into_iter().chain([0; 14]).collect()),
            broadcast: None,
        };
        assert!(ll.is_automatic());
    }
}
