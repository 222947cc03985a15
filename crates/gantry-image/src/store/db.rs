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
    pub fn open(path: &Path) -> Result<MetaDb> {
        let db = Database::builder()
            .set_concurrency_mode(ConcurrencyMode::MultiWriter)
            .create(path)
            .map_err(|e| db_err(path, e))?;
        let me = MetaDb {
            db,
            path: path.to_owned(),
        };
        // Create every table once so readers never see "table does not exist".
        let txn = me.db.begin_write().map_err(|e| me.err(e))?;
        for t in Table::all() {
            txn.open_table(t.def()).map_err(|e| me.err(e))?;
        }
        txn.commit().map_err(|e| me.err(e))?;
        Ok(me)
    }

    fn err(&self, e: impl std::fmt::Display) -> ImageError {
        db_err(&self.path, e)
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

fn db_err(path: &Path, e: impl std::fmt::Display) -> ImageError {
    ImageError::Db {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}
