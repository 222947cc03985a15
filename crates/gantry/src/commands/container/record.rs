//! The engine's record of each container (`<root>/engine/<id>.json`): its name, image, command, times and exit
//! status. The image store keeps which snapshots a container uses; the runtime state under `--state-root` says
//! whether it is running; this record is what `gantry ps` shows after it stopped.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One container as the engine remembers it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    /// 64 hex digits; also the runtime and store ID.
    pub id: String,
    /// Unique, user-chosen or derived from the ID.
    pub name: String,
    /// Image name as resolved in the store.
    pub image: String,
    /// The process arguments.
    pub command: Vec<String>,
    /// RFC 3339 creation time.
    pub created: String,
    /// `created`, `running` or `exited` as last written by the engine.
    pub status: String,
    /// Exit code once the engine saw the container end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// RFC 3339 time the engine saw it end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// Removed when it exits (`--rm`).
    #[serde(default)]
    pub auto_remove: bool,
}

/// The directory of engine records under a store root.
#[derive(Debug, Clone)]
pub struct Records {
    dir: PathBuf,
}

/// Held while names are checked and claimed (an exclusive `flock` on `<dir>/.lock`).
pub struct NameLock {
    _file: File,
}

impl Records {
    /// Records under `<root>/engine` (created on first use).
    pub fn open(root: &Path) -> anyhow::Result<Records> {
        let dir = root.join("engine");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Records { dir })
    }

    /// Serialises name claims between concurrent `gantry` processes.
    pub fn lock(&self) -> anyhow::Result<NameLock> {
        let p = self.dir.join(".lock");
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .with_context(|| format!("opening {}", p.display()))?;
        rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)
            .with_context(|| format!("locking {}", p.display()))?;
        Ok(NameLock { _file: f })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Writes (or replaces) a record atomically: temp file, fsync-free rename (records are re-derivable).
    pub fn write(&self, r: &Record) -> anyhow::Result<()> {
        let tmp = self.dir.join(format!(".{}.tmp", r.id));
        let mut f = File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(&serde_json::to_vec_pretty(r)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, self.path(&r.id))
            .with_context(|| format!("renaming {} into place", tmp.display()))?;
        Ok(())
    }

    /// Every record, oldest first (unreadable files are skipped with a warning).
    pub fn list(&self) -> anyhow::Result<Vec<Record>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir)
            .with_context(|| format!("listing {}", self.dir.display()))?
        {
            let e = e?;
            let name = e.file_name();
            let Some(n) = name.to_str() else { continue };
            if n.starts_with('.') || !n.ends_with(".json") {
                continue;
            }
            match std::fs::read(e.path())
                .map_err(anyhow::Error::from)
                .and_then(|b| Ok(serde_json::from_slice::<Record>(&b)?))
            {
                Ok(r) => out.push(r),
                Err(err) => eprintln!("gantry: skipping {}: {err:#}", e.path().display()),
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Finds a container by exact name, full ID, or unique ID prefix (at least 3 characters).
    pub fn find(&self, key: &str) -> anyhow::Result<Record> {
        let all = self.list()?;
        if let Some(r) = all.iter().find(|r| r.name == key || r.id == key) {
            return Ok(r.clone());
        }
        let hits: Vec<&Record> = if key.len() >= 3 {
            all.iter().filter(|r| r.id.starts_with(key)).collect()
        } else {
            Vec::new()
        };
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            [] => anyhow::bail!("no such container: {key}"),
            _ => anyhow::bail!("{key:?} matches several container IDs; give more of the ID"),
        }
    }

    /// Removes a record (missing is fine).
    pub fn remove(&self, id: &str) -> anyhow::Result<()> {
        match std::fs::remove_file(self.path(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing the record of {id}"))
            }
            _ => Ok(()),
        }
    }
}

/// A new random container ID: 32 bytes from the kernel's CSPRNG (`/dev/urandom`) as 64 hex digits.
pub fn new_id() -> anyhow::Result<String> {
    use std::io::Read;
    let mut b = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .context("reading /dev/urandom for a container ID")?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Container names: `[A-Za-z0-9][A-Za-z0-9_.-]*`, at most 128 characters (they appear in paths and hostnames).
pub fn validate_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    anyhow::ensure!(
        ok,
        "--name {name:?}: must match [A-Za-z0-9][A-Za-z0-9_.-]* (at most 128 characters)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_names_and_lookup() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 64);
        assert_ne!(id, new_id().unwrap());
        assert!(validate_name("web-1.a_b").is_ok());
        assert!(validate_name("../x").is_err() && validate_name("").is_err());
        let d = tempfile::tempdir().unwrap();
        let recs = Records::open(d.path()).unwrap();
        let r = Record {
            id: id.clone(),
            name: "web".into(),
            image: "img".into(),
            command: vec!["/bin/true".into()],
            created: "2026-01-01T00:00:00Z".into(),
            status: "created".into(),
            exit_code: None,
            finished: None,
            auto_remove: false,
        };
        recs.write(&r).unwrap();
        assert_eq!(recs.find("web").unwrap(), r);
        assert_eq!(recs.find(&id[..5]).unwrap(), r);
        assert!(recs.find("nope").is_err());
        recs.remove(&id).unwrap();
        assert!(recs.list().unwrap().is_empty());
    }
}
