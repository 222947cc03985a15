//! The metadata database: image names, manifests, snapshots and containers in `redb`.
//!
//! redb gives crash-safe, copy-on-write transactions; with `ConcurrencyMode::MultiWriter`
//! several `gantry` processes may have the store open at once (one write transaction at a time).
//! Values are small JSON records so the schema can grow without a migration.

use std::path::{Path, PathBuf};

use redb::{ConcurrencyMode, Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ImageError, Result};

/// A table of the metadata database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// image name (`registry/repo:tag`) → [`crate::store::ImageRecord`].
    Images,
    /// manifest digest → [`crate::store::ManifestRecord`].
    Manifests,
    /// chain ID → [`crate::snapshot::SnapshotRecord`].
    Snapshots,
    /// container ID → [`crate::container::ContainerRecord`].
    Containers,
}

impl Table {
    fn def(self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        match self {
            Table::Images => TableDefinition::new("images"),
            Table::Manifests => TableDefinition::new("manifests"),
            Table::Snapshots => TableDefinition::new("snapshots"),
            Table::Containers => TableDefinition::new("containers"),
        }
    }

    fn all() -> [Table; 4] {
        [
            Table::Images,
            Table::Manifests,
            Table::Snapshots,
            Table::Containers,
        ]
    }
}

/// The open metadata database.
pub struct MetaDb {
    db: Database,
    path: PathBuf,
}

/// One write in a batch applied atomically by [`MetaDb::write`].
pub enum Op {
    /// Insert or replace `key` with the JSON of a record.
    Put(Table, String, Vec<u8>),
    /// Remove `key` if present.
    Delete(Table, String),
}

impl Op {
    /// A `Put` of `value` serialised as JSON.
    pub fn put<T: Serialize>(table: Table, key: impl Into<String>, value: &T) -> Op {
        // Serialising our own plain records cannot fail; fall back to `null` defensively.
        let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        Op::Put(table, key.into(), bytes)
    }
}

impl MetaDb {
    /// Opens (creating if needed) the database file at `path`.
    ///
    /// A full filesystem must not lock users out of their store: a small reserve file kept
    /// beside the database is released when opening (which may need to repair the file after
    /// an interrupted write) or a write fails for lack of space, and re-created once there is
    /// room again.
    pub fn open(path: &Path) -> Result<MetaDb> {
        let reserve = reserve_path(path);
        let db = match Self::open_db(path) {
            Ok(db) => db,
            Err(first) if reserve.exists() => {
                tracing::warn!(path = %path.display(), "opening the metadata database failed ({first}); releasing the space reserve and retrying");
                let _ = std::fs::remove_file(&reserve);
                Self::open_db(path)?
            }
            Err(e) => return Err(e),
        };
        let me = MetaDb {
            db,
            path: path.to_owned(),
        };
        keep_reserve(&reserve);
        // Create every table once so readers never see "table does not exist".
        let txn = me.db.begin_write().map_err(|e| me.err(e))?;
        for t in Table::all() {
            txn.open_table(t.def()).map_err(|e| me.err(e))?;
        }
        txn.commit().map_err(|e| me.err(e))?;
        Ok(me)
    }

    fn open_db(path: &Path) -> Result<Database> {
        Database::builder()
            .set_concurrency_mode(ConcurrencyMode::MultiWriter)
            .create(path)
            .map_err(|e| db_err(path, e))
    }

    fn err(&self, e: impl std::fmt::Display) -> ImageError {
        let e = db_err(&self.path, e);
        if matches!(e, ImageError::NoSpace { .. }) {
            // Give the next open (and its repair) room to work.
            let _ = std::fs::remove_file(reserve_path(&self.path));
        }
        e
    }

    /// Reads one record.
    pub fn get<T: DeserializeOwned>(&self, table: Table, key: &str) -> Result<Option<T>> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(table.def()).map_err(|e| self.err(e))?;
        let Some(v) = t.get(key).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let rec = serde_json::from_slice(v.value())
            .map_err(|e| self.err(format!("corrupt record {key:?}: {e}")))?;
        Ok(Some(rec))
    }

    /// Lists every record of a table, in key order.
    pub fn list<T: DeserializeOwned>(&self, table: Table) -> Result<Vec<(String, T)>> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = txn.open_table(table.def()).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for item in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let rec = serde_json::from_slice(v.value())
                .map_err(|e| self.err(format!("corrupt record {:?}: {e}", k.value())))?;
            out.push((k.value().to_owned(), rec));
        }
        Ok(out)
    }

    /// Inserts `key` only if absent, atomically; returns false (and writes nothing) if present.
    pub fn insert_new<T: Serialize>(&self, table: Table, key: &str, value: &T) -> Result<bool> {
        let bytes = serde_json::to_vec(value).map_err(|e| self.err(e))?;
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = txn.open_table(table.def()).map_err(|e| self.err(e))?;
            if t.get(key).map_err(|e| self.err(e))?.is_some() {
                return Ok(false);
            }
            t.insert(key, bytes.as_slice()).map_err(|e| self.err(e))?;
        }
        txn.commit().map_err(|e| self.err(e))?;
        Ok(true)
    }

    /// Applies a batch of writes in one transaction: all or nothing.
    pub fn write(&self, ops: Vec<Op>) -> Result<()> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        for op in ops {
            match op {
                Op::Put(table, key, value) => {
                    let mut t = txn.open_table(table.def()).map_err(|e| self.err(e))?;
                    t.insert(key.as_str(), value.as_slice())
                        .map_err(|e| self.err(e))?;
                }
                Op::Delete(table, key) => {
                    let mut t = txn.open_table(table.def()).map_err(|e| self.err(e))?;
                    t.remove(key.as_str()).map_err(|e| self.err(e))?;
                }
            }
        }
        txn.commit().map_err(|e| self.err(e))
    }
}

/// Bytes kept in reserve for the database on a full filesystem.
const RESERVE_BYTES: u64 = 8 << 20;

fn reserve_path(db: &Path) -> PathBuf {
    db.with_extension("reserve")
}

/// Creates the reserve file if missing (best effort: on a full disk it stays missing).
fn keep_reserve(reserve: &Path) {
    if reserve.exists() {
        return;
    }
    let made = std::fs::File::create(reserve).and_then(|f| {
        rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::empty(), 0, RESERVE_BYTES)
            .map_err(std::io::Error::from)
    });
    if made.is_err() {
        let _ = std::fs::remove_file(reserve);
    }
}

fn db_err(path: &Path, e: impl std::fmt::Display) -> ImageError {
    let reason = e.to_string();
    // redb's errors carry the OS error only as text.
    if reason.contains("No space left on device") || reason.contains("Disk quota exceeded") {
        return ImageError::NoSpace {
            path: path.to_owned(),
            needed: None,
        };
    }
    ImageError::Db {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}
