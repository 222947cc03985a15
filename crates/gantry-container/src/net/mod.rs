//! Network setup the runtime does from the host side.

pub mod devices;
pub mod netlink;
pub mod route;
