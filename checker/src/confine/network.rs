//! A network of its own: a new network namespace, inside a new user namespace so that no
//! privilege is needed, with its loopback interface brought up. The process can then listen and
//! connect on 127.0.0.1 and ::1, and reach nothing else: no other interface exists in it.

use anyhow::{Context, Result};
use rustix::net::{netlink, recv, sendto, socket, AddressFamily, RecvFlags, SendFlags, SocketType};
use std::fs;

pub fn enter_own() -> Result<()> {
    let (uid, gid) = (rustix::process::getuid(), rustix::process::getgid());
    // Safe for these two flags: the deprecation is about CLONE_FILES, which unshares the table
    // of file descriptors under other threads' feet; the launcher is single-threaded anyway.
    #[allow(deprecated)]
    rustix::thread::unshare(
        rustix::thread::UnshareFlags::NEWUSER | rustix::thread::UnshareFlags::NEWNET,
    )
    .context("unprivileged user and network namespaces are not available")?;
    // The same ids inside as outside, so files keep their owners; groups cannot be changed.
    fs::write("/proc/self/setgroups", "deny").context("cannot write /proc/self/setgroups")?;
    fs::write("/proc/self/uid_map", format!("{0} {0} 1", uid.as_raw()))
        .context("cannot write /proc/self/uid_map")?;
    fs::write("/proc/self/gid_map", format!("{0} {0} 1", gid.as_raw()))
        .context("cannot write /proc/self/gid_map")?;
    loopback_up().context("cannot bring up the loopback interface")
}

/// Asks the kernel, over route netlink, to set the UP flag on interface 1, loopback.
fn loopback_up() -> Result<()> {
    const RTM_NEWLINK: u16 = 16;
    const NLM_F_REQUEST: u16 = 0x1;
    const NLM_F_ACK: u16 = 0x4;
    const NLMSG_ERROR: u16 = 2;
    const IFF_UP: u32 = 0x1;
    const LOOPBACK_INDEX: i32 = 1;

    let mut message = Vec::with_capacity(32);
    // struct nlmsghdr: length, type, flags, sequence, port id.
    message.extend_from_slice(&32u32.to_ne_bytes());
    message.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    message.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    message.extend_from_slice(&1u32.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    // struct ifinfomsg: family, padding, type, index, flags, change mask.
    message.extend_from_slice(&[0u8, 0u8]);
    message.extend_from_slice(&0u16.to_ne_bytes());
    message.extend_from_slice(&LOOPBACK_INDEX.to_ne_bytes());
    message.extend_from_slice(&IFF_UP.to_ne_bytes());
    message.extend_from_slice(&IFF_UP.to_ne_bytes());

    let route = socket(AddressFamily::NETLINK, SocketType::RAW, None)?;
    let kernel = netlink::SocketAddrNetlink::new(0, 0);
    sendto(&route, &message, SendFlags::empty(), &kernel)?;
    let mut answer = [0u8; 256];
    let (read, _) = recv(&route, &mut answer, RecvFlags::empty())?;
    // The answer is an nlmsgerr: its header, then the error number (0 is success).
    let kind = answer.get(4..6).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let error = answer
        .get(16..20)
        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    match (read >= 20, kind, error) {
        (true, Some(NLMSG_ERROR), Some(0)) => Ok(()),
        (true, Some(NLMSG_ERROR), Some(code)) => {
            Err(std::io::Error::from_raw_os_error(-code).into())
        }
        _ => anyhow::bail!("the kernel's answer was not understood"),
    }
}
