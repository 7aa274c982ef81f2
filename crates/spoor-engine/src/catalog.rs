//! What was created at run time: indexes and `props.conf` stanzas, kept in `catalog.json`.
//!
//! The file is replaced atomically ([`files::write_atomic`]), so it is always either the old or
//! the new catalog. A store's first open writes an empty one, so a catalog missing from a
//! folder that holds indexes is known to be lost: the store then rebuilds it from the index
//! folders (see [`Store`](crate::Store)).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::files;
use crate::retention::Retention;

/// The catalog's file name in the data folder.
pub(crate) const FILE: &str = "catalog.json";

/// The indexes every store has, as Splunk has them.
pub(crate) const BUILT_IN_INDEXES: &[&str] = &["main"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Catalog {
    /// Index names created at run time.
    pub(crate) indexes: Vec<String>,
    /// `props.conf`: stanza name → setting → value.
    pub(crate) props: BTreeMap<String, BTreeMap<String, String>>,
    /// The retention of each index whose retention was set (the others keep the default).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) retention: BTreeMap<String, Retention>,
}

/// Why the catalog could not be read.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// The file could not be read.
    Io(PathBuf, io::Error),
    /// The file is there but is no catalog: what is wrong with it.
    Damaged(PathBuf, String),
}

impl Catalog {
    /// The catalog in `dir`; `None` if there is no catalog file.
    pub(crate) fn load(dir: &Path) -> Result<Option<Self>, LoadError> {
        let path = dir.join(FILE);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(LoadError::Io(path, err)),
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(LoadError::Damaged(path, "is empty".to_owned()));
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|err| LoadError::Damaged(path, format!("is not a valid catalog ({err})")))
    }

    /// The retention of index `name`.
    pub(crate) fn retention(&self, name: &str) -> Retention {
        self.retention.get(name).copied().unwrap_or_default()
    }

    pub(crate) fn save(&self, dir: &Path) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        files::write_atomic(&dir.join(FILE), &bytes)
    }
}
