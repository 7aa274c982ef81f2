//! What was created at run time: indexes and `props.conf` stanzas, kept in `catalog.json`.
//!
//! The file is replaced atomically (written beside, synced, renamed, directory synced), so it is
//! always either the old or the new catalog.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::log::sync_dir;

const FILE: &str = "catalog.json";

/// The indexes every store has, as Splunk has them.
pub(crate) const BUILT_IN_INDEXES: &[&str] = &["main"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Catalog {
    /// Index names created at run time.
    pub(crate) indexes: Vec<String>,
    /// `props.conf`: stanza name → setting → value.
    pub(crate) props: BTreeMap<String, BTreeMap<String, String>>,
}

impl Catalog {
    pub(crate) fn load(dir: &Path) -> io::Result<Self> {
        match fs::read(dir.join(FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is not a valid catalog: {err}", dir.join(FILE).display()),
                )
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Self::default()),
            Err(err) => Err(err),
        }
    }

    pub(crate) fn save(&self, dir: &Path) -> io::Result<()> {
        let tmp = dir.join(format!("{FILE}.tmp"));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(self).map_err(io::Error::other)?)?;
        file.sync_all()?;
        fs::rename(&tmp, dir.join(FILE))?;
        sync_dir(dir)
    }
}
