//! Resolving a user spec (`name`, `uid`, `name:group`, `uid:gid`) against the image's own
//! `/etc/passwd` and `/etc/group`, read safely inside the rootfs (podman CVE-2024-9676):
//! symlinks resolved inside the rootfs only, FIFOs/devices refused, reads bounded.

use std::io::ErrorKind;
use std::path::Path;

use crate::beneath::Beneath;
use crate::error::{ImageError, Result};
use crate::store::read_bounded;

/// Largest /etc/passwd or /etc/group read.
pub const MAX_ACCOUNT_FILE: u64 = 4 << 20;

/// A resolved user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    /// User ID.
    pub uid: u32,
    /// Primary group ID.
    pub gid: u32,
    /// Supplementary groups from /etc/group membership.
    pub additional_gids: Vec<u32>,
    /// Home directory from /etc/passwd, if the user is listed there.
    pub home: Option<String>,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn read_account_file(root: &Beneath, rel: &str, user: &str) -> Result<Option<String>> {
    match root.file(rel) {
        Ok(f) => {
            let bytes = read_bounded(f, MAX_ACCOUNT_FILE, "account file", rel)?;
            Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Err(ImageError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ImageError::User {
            user: user.to_owned(),
            reason: format!("reading /{rel} in the image: {e}"),
        }),
    }
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_owned(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            let members = f[3]
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect();
            Some(GroupEntry {
                name: f[0].to_owned(),
                gid: f[2].parse().ok()?,
                members,
            })
        })
        .collect()
}

/// Resolves `spec` inside `rootfs` (an unpacked or mounted image root). An empty spec is root.
pub fn resolve_user(rootfs: &Path, spec: &str) -> Result<ResolvedUser> {
    let err = |reason: String| ImageError::User {
        user: spec.to_owned(),
        reason,
    };
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = if user.is_empty() { "0" } else { user };
    let root = Beneath::open(rootfs)?;
    let passwd = read_account_file(&root, "etc/passwd", spec)?
        .map(|t| parse_passwd(&t))
        .unwrap_or_default();
    let groups_text = read_account_file(&root, "etc/group", spec)?;
    let groups = groups_text.as_deref().map(parse_group).unwrap_or_default();

    let entry = match user.parse::<u32>() {
        Ok(uid) => passwd.iter().find(|p| p.uid == uid),
        Err(_) => Some(
            passwd
                .iter()
                .find(|p| p.name == user)
                .ok_or_else(|| err(format!("no user {user:?} in the image's /etc/passwd")))?,
        ),
    };
    let uid = match user.parse::<u32>() {
        Ok(u) => u,
        Err(_) => entry.map(|e| e.uid).unwrap_or(0),
    };
    let gid = match group {
        Some(g) if !g.is_empty() => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => groups
                .iter()
                .find(|x| x.name == g)
                .map(|x| x.gid)
                .ok_or_else(|| err(format!("no group {g:?} in the image's /etc/group")))?,
        },
        _ => entry.map(|e| e.gid).unwrap_or(0),
    };
    let mut additional_gids = Vec::new();
    if group.is_none() {
        if let Some(e) = entry {
            for g in &groups {
                if g.members.iter().any(|m| m == &e.name)
                    && g.gid != gid
                    && !additional_gids.contains(&g.gid)
                {
                    additional_gids.push(g.gid);
                }
            }
        }
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home: entry.map(|e| e.home.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nwww:x:33:\nadm:x:4:www,other\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn resolves_names_and_numbers() {
        let d = rootfs();
        let u = resolve_user(d.path(), "www").unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone(), u.home.as_deref()),
            (33, 33, vec![4], Some("/var/www"))
        );
        assert_eq!(resolve_user(d.path(), "").unwrap().uid, 0);
        let u = resolve_user(d.path(), "1000:adm").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 4));
        assert_eq!(resolve_user(d.path(), "5:6").unwrap().gid, 6);
        assert!(resolve_user(d.path(), "nobody")
            .unwrap_err()
            .to_string()
            .contains("nobody"));
        assert!(resolve_user(d.path(), "www:nogroup").is_err());
    }

    #[test]
    fn refuses_fifo_and_symlink_out() {
        let d = rootfs();
        std::fs::remove_file(d.path().join("etc/passwd")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            d.path().join("etc/passwd"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let e = resolve_user(d.path(), "www").unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        // A symlink climbing out of the rootfs is resolved as if the rootfs were `/`.
        std::fs::remove_file(d.path().join("etc/passwd")).unwrap();
        std::fs::write(d.path().join("etc/real"), "app:x:5:5::/h:/bin/sh\n").unwrap();
        std::os::unix::fs::symlink("/../../../../../../etc/real", d.path().join("etc/passwd"))
            .unwrap();
        assert_eq!(resolve_user(d.path(), "app").unwrap().uid, 5);
        // ... so the host's accounts are never seen.
        std::fs::remove_file(d.path().join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink("/../../../../../../etc/shadow", d.path().join("etc/passwd"))
            .unwrap();
        assert!(resolve_user(d.path(), "root").is_err());
    }
}
