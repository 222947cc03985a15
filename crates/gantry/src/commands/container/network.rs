//! `--net none`: gantry moves itself into a new network namespace and brings its loopback device up (over
//! rtnetlink, as `ip link set lo up` does); the container then shares that namespace, so it has exactly one
//! device, `lo`, up with 127.0.0.1 — as docker and podman give. The namespace lives as long as gantry or the
//! container holds it.

use anyhow::Context;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

/// `RTM_NEWLINK`: change a link's attributes.
const RTM_NEWLINK: u16 = 16;
/// `NLMSG_ERROR`: the kernel's acknowledgement (error 0) or failure.
const NLMSG_ERROR: u16 = 2;
/// `NLM_F_REQUEST | NLM_F_ACK`.
const REQUEST_ACK: u16 = 1 | 4;
/// `IFF_UP`.
const IFF_UP: u32 = 1;

/// Moves this process into a new network namespace with `lo` up. Call before any thread is started.
pub fn private_network_namespace() -> anyhow::Result<()> {
    gantry_sys::namespace::unshare_namespaces(libc::CLONE_NEWNET as u32)
        .context("unsharing a network namespace for --net none")?;
    loopback_up().context("bringing lo up in the container's network namespace")
}

/// The `RTM_NEWLINK` request setting `IFF_UP` on interface `index`: `nlmsghdr` + `ifinfomsg`.
fn link_up_request(index: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(32);
    m.extend(32u32.to_ne_bytes()); // nlmsg_len: the whole message
    m.extend(RTM_NEWLINK.to_ne_bytes()); // nlmsg_type
    m.extend(REQUEST_ACK.to_ne_bytes()); // nlmsg_flags
    m.extend(1u32.to_ne_bytes()); // nlmsg_seq
    m.extend(0u32.to_ne_bytes()); // nlmsg_pid: the kernel fills it in
    m.push(libc::AF_UNSPEC as u8); // ifi_family
    m.push(0); // padding
    m.extend(0u16.to_ne_bytes()); // ifi_type
    m.extend(index.to_ne_bytes()); // ifi_index
    m.extend(IFF_UP.to_ne_bytes()); // ifi_flags
    m.extend(IFF_UP.to_ne_bytes()); // ifi_change: only IFF_UP
    m
}

/// Reads the kernel's answer: `Ok` for an acknowledgement with error 0.
fn parse_ack(buf: &[u8]) -> anyhow::Result<()> {
    anyhow::ensure!(
        buf.len() >= 20,
        "short netlink answer ({} bytes)",
        buf.len()
    );
    let ty = u16::from_ne_bytes([buf[4], buf[5]]);
    anyhow::ensure!(ty == NLMSG_ERROR, "unexpected netlink message type {ty}");
    let err = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
    if err != 0 {
        return Err(std::io::Error::from_raw_os_error(-err).into());
    }
    Ok(())
}

fn loopback_up() -> anyhow::Result<()> {
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        None, // protocol 0: NETLINK_ROUTE
    )
    .context("opening an rtnetlink socket")?;
    let index = rustix::net::netdevice::name_to_index(&fd, "lo").context("finding lo")?;
    // Unconnected netlink sockets send to the kernel.
    rustix::net::send(&fd, &link_up_request(index), SendFlags::empty())
        .context("sending RTM_NEWLINK")?;
    let mut buf = [0u8; 1024];
    let (n, _) = rustix::net::recv(&fd, &mut buf, RecvFlags::empty())
        .context("reading the rtnetlink answer")?;
    parse_ack(&buf[..n.min(buf.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_ack() {
        let r = link_up_request(1);
        assert_eq!(r.len(), 32);
        assert_eq!(u32::from_ne_bytes(r[20..24].try_into().unwrap()), 1);
        let mut ack = vec![0u8; 36];
        ack[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        assert!(parse_ack(&ack).is_ok());
        ack[16..20].copy_from_slice(&(-libc::EPERM).to_ne_bytes());
        assert!(parse_ack(&ack)
            .unwrap_err()
            .to_string()
            .contains("not permitted"));
        assert!(parse_ack(&ack[..8]).is_err());
    }
}
