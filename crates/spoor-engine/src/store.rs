//! The data folder: one log per index, and the catalog of what was created at run time.
//!
//! ```text
//! <data>/catalog.json                 indexes and props stanzas created at run time
//! <data>/indexes/<index>/<n>.seg      the index's log segments
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use spoor_spl::build::Index;
use time::OffsetDateTime;

use crate::catalog::{BUILT_IN_INDEXES, Catalog};
use crate::ingest::{Parsing, PropsError};
use crate::log::{Damage, Location, Log};
use crate::record::{Record, RecordError, RecordRef};

/// The durable store of an engine: events per index, and the catalog.
///
/// Every write returns only once it is on disk. Opening a store replays every record, so the
/// caller can build its in-memory index, and cuts any torn tail a crash left behind.
///
/// ```
/// use spoor_engine::{EventMeta, Store};
/// use time::macros::datetime;
///
/// # let dir = std::env::temp_dir().join(format!("spoor-doc-{}", std::process::id()));
/// let (store, _report) = Store::open(&dir, |_, _| {})?;
/// store.create_index("shop")?;
/// let stored = store.ingest(
///     "shop",
///     &EventMeta::new("spoor", "app.log", "web-1"),
///     "2026-11-28T12:00:00.000000Z event=\"login\"\n2026-11-28T12:00:01.000000Z event=\"logout\"",
///     datetime!(2026-11-28 12:00:05 UTC),
/// )?;
/// assert_eq!(stored.records.len(), 2);
/// drop(store);
///
/// let mut replayed = Vec::new();
/// let (_store, report) = Store::open(&dir, |_, record| replayed.push(record.raw))?;
/// assert_eq!(replayed.len(), 2);
/// assert!(report.damage.is_empty());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    options: StoreOptions,
    catalog: Mutex<Catalog>,
    logs: RwLock<BTreeMap<String, Arc<Log>>>,
    parsing: RwLock<HashMap<String, Arc<Parsing>>>,
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Log")
    }
}

/// How a store lays out its data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// A log segment is closed, and the next begun, once it holds this many bytes (128 MiB by
    /// default). Smaller segments replay in more parallel runs; larger ones mean fewer files.
    pub segment_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            segment_bytes: crate::log::SEGMENT_BYTES,
        }
    }
}

impl StoreOptions {
    /// Sets the size at which a segment is closed.
    #[must_use]
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes.max(1);
        self
    }
}

/// What opening a store found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Records replayed, over all indexes.
    pub records: u64,
    /// Damage found in the logs: ranges skipped (left in place, copied beside their segment),
    /// and a torn write cut off the end of a log (never acknowledged).
    pub damage: Vec<Damage>,
}

/// The metadata events arrive with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    /// The sourcetype, whose props say how to break and time the text.
    pub sourcetype: String,
    /// The source.
    pub source: String,
    /// The host.
    pub host: String,
}

impl EventMeta {
    /// Metadata with these values.
    pub fn new(
        sourcetype: impl Into<String>,
        source: impl Into<String>,
        host: impl Into<String>,
    ) -> Self {
        Self {
            sourcetype: sourcetype.into(),
            source: source.into(),
            host: host.into(),
        }
    }
}

/// What an ingest stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Each stored record with its location, in order.
    pub records: Vec<(Location, Record)>,
    /// How many events were cut to the sourcetype's `TRUNCATE`.
    pub truncated: usize,
}

impl Store {
    /// Opens the store in `dir` (creating it if needed), giving every stored record to `visit`
    /// in the order it was written, index by index.
    pub fn open(
        dir: impl AsRef<Path>,
        mut visit: impl FnMut(Location, Record),
    ) -> Result<(Self, OpenReport), StoreError> {
        Self::open_in_place(dir, |location, record| visit(location, record.to_record()))
    }

    /// Like [`open`](Store::open), lending each record in place instead of giving a copy.
    pub fn open_in_place(
        dir: impl AsRef<Path>,
        visit: impl FnMut(Location, RecordRef<'_>),
    ) -> Result<(Self, OpenReport), StoreError> {
        Self::open_with(dir, &StoreOptions::default(), visit)
    }

    /// Like [`open_in_place`](Store::open_in_place), with options.
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: &StoreOptions,
        mut visit: impl FnMut(Location, RecordRef<'_>),
    ) -> Result<(Self, OpenReport), StoreError> {
        let segment_bytes = options.segment_bytes;
        Self::open_logs(dir.as_ref(), options, |path| {
            let mut records = 0;
            let (log, damage) = Log::open(path, segment_bytes, &mut |location, record| {
                records += 1;
                visit(location, record);
            })?;
            Ok((log, damage, records))
        })
    }

    /// Like [`open_with`](Store::open_with), replaying each index's segments in `parts` runs
    /// of consecutive segments on as many threads. `visit` is told the run (from `0`) of each
    /// record; within a run, records come in the order they were written.
    pub fn open_in_parts(
        dir: impl AsRef<Path>,
        options: &StoreOptions,
        parts: usize,
        visit: impl Fn(usize, Location, RecordRef<'_>) + Sync,
    ) -> Result<(Self, OpenReport), StoreError> {
        let segment_bytes = options.segment_bytes;
        Self::open_logs(dir.as_ref(), options, |path| {
            let records = AtomicU64::new(0);
            let (log, damage) =
                Log::open_parts(path, segment_bytes, parts, &|part, location, record| {
                    records.fetch_add(1, Ordering::Relaxed);
                    visit(part, location, record);
                })?;
            Ok((log, damage, records.into_inner()))
        })
    }

    /// Opens the data folder, each index's log with `open_log`.
    fn open_logs(
        dir: &Path,
        options: &StoreOptions,
        mut open_log: impl FnMut(&Path) -> io::Result<(Log, Vec<Damage>, u64)>,
    ) -> Result<(Self, OpenReport), StoreError> {
        let dir = dir.to_owned();
        let at = |context: &str| {
            let context = format!("{context} {}", dir.display());
            move |source| StoreError::Io { context, source }
        };
        std::fs::create_dir_all(dir.join("indexes"))
            .map_err(at("cannot create the data folder"))?;
        let catalog = Catalog::load(&dir).map_err(at("cannot read the catalog in"))?;

        let mut report = OpenReport::default();
        let mut logs = BTreeMap::new();
        let names = BUILT_IN_INDEXES
            .iter()
            .map(|name| (*name).to_owned())
            .chain(catalog.indexes.iter().cloned());
        for name in names {
            let (log, damage, records) = open_log(&dir.join("indexes").join(&name))
                .map_err(at(&format!("cannot open the log of index {name:?} in")))?;
            report.records += records;
            report.damage.extend(damage);
            logs.insert(name, Arc::new(log));
        }
        let store = Self {
            dir,
            options: options.clone(),
            catalog: Mutex::new(catalog),
            logs: RwLock::new(logs),
            parsing: RwLock::new(HashMap::new()),
        };
        Ok((store, report))
    }

    fn catalog(&self) -> MutexGuard<'_, Catalog> {
        self.catalog.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The names of the indexes, sorted.
    pub fn indexes(&self) -> Vec<String> {
        self.logs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Whether the index exists.
    pub fn has_index(&self, name: &str) -> bool {
        self.logs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(name)
    }

    /// Creates an index; `false` if it already existed.
    pub fn create_index(&self, name: &str) -> Result<bool, StoreError> {
        check_index_name(name)?;
        let mut catalog = self.catalog();
        if self.has_index(name) {
            return Ok(false);
        }
        let (log, _) = Log::open(
            &self.dir.join("indexes").join(name),
            self.options.segment_bytes,
            &mut |_, _| {},
        )
        .map_err(|source| StoreError::Io {
            context: format!("cannot create the log of index {name:?}"),
            source,
        })?;
        catalog.indexes.push(name.to_owned());
        self.save(&catalog)?;
        self.logs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), Arc::new(log));
        Ok(true)
    }

    fn save(&self, catalog: &Catalog) -> Result<(), StoreError> {
        catalog.save(&self.dir).map_err(|source| StoreError::Io {
            context: format!("cannot save the catalog in {}", self.dir.display()),
            source,
        })
    }

    /// Every `props.conf` stanza created at run time, with its settings.
    pub fn props(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        self.catalog().props.clone()
    }

    /// Creates an empty props stanza; `false` if it already existed.
    pub fn create_props_stanza(&self, stanza: &str) -> Result<bool, StoreError> {
        let mut catalog = self.catalog();
        if catalog.props.contains_key(stanza) {
            return Ok(false);
        }
        let mut next = catalog.clone();
        next.props.insert(stanza.to_owned(), BTreeMap::new());
        self.save(&next)?;
        *catalog = next;
        Ok(true)
    }

    /// Sets settings of a props stanza (creating it if needed). Settings that change how text
    /// is cut into events (`LINE_BREAKER`, `TRUNCATE`, `TZ`) are checked first; a bad one
    /// changes nothing.
    pub fn set_props<K: Into<String>, V: Into<String>>(
        &self,
        stanza: &str,
        settings: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), StoreError> {
        let mut catalog = self.catalog();
        let mut next = catalog.clone();
        next.props
            .entry(stanza.to_owned())
            .or_default()
            .extend(settings.into_iter().map(|(k, v)| (k.into(), v.into())));
        let parsing = Parsing::from_props(&next.props[stanza]).map_err(StoreError::Props)?;
        self.save(&next)?;
        *catalog = next;
        self.parsing
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(stanza.to_owned(), Arc::new(parsing));
        Ok(())
    }

    /// How text of `sourcetype` is cut into events and its fields extracted.
    pub(crate) fn parsing(&self, sourcetype: &str) -> Arc<Parsing> {
        if let Some(parsing) = self
            .parsing
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(sourcetype)
        {
            return Arc::clone(parsing);
        }
        let parsing = Arc::new(Parsing::of(self.catalog().props.get(sourcetype)));
        self.parsing
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sourcetype.to_owned(), Arc::clone(&parsing));
        parsing
    }

    fn log(&self, index: &str) -> Result<Arc<Log>, StoreError> {
        self.logs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(index)
            .cloned()
            .ok_or_else(|| StoreError::UnknownIndex(index.to_owned()))
    }

    /// Cuts `text` into events by the sourcetype's line breaking, times each (a timestamp at its
    /// start, else `arrival`), and stores them durably in `index`.
    pub fn ingest(
        &self,
        index: &str,
        meta: &EventMeta,
        text: &str,
        arrival: OffsetDateTime,
    ) -> Result<Stored, StoreError> {
        let parsing = self.parsing(&meta.sourcetype);
        let (events, truncated) = parsing.split(text);
        let events = events
            .into_iter()
            .map(|raw| (parsing.time(raw, arrival), raw.to_owned()));
        let records = self.append(index, meta, events)?;
        Ok(Stored { records, truncated })
    }

    /// Stores events whose time is already known (HEC envelopes) durably in `index`.
    pub fn append(
        &self,
        index: &str,
        meta: &EventMeta,
        events: impl IntoIterator<Item = (OffsetDateTime, String)>,
    ) -> Result<Vec<(Location, Record)>, StoreError> {
        let log = self.log(index)?;
        let mut frames = Vec::new();
        let mut lens = Vec::new();
        let mut records = Vec::new();
        for (time, raw) in events {
            let record = Record {
                time_micros: time_micros(time),
                index: index.to_owned(),
                sourcetype: meta.sourcetype.clone(),
                source: meta.source.clone(),
                host: meta.host.clone(),
                raw,
            };
            let before = frames.len();
            record.encode(&mut frames).map_err(StoreError::Record)?;
            lens.push(frames.len() - before);
            records.push(record);
        }
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let locations = log
            .append(&mut frames, &lens)
            .map_err(|source| StoreError::Io {
                context: format!("cannot write to index {index:?}"),
                source,
            })?;
        Ok(locations.into_iter().zip(records).collect())
    }

    /// The bytes an index's log holds on disk (`0` for an unknown index).
    pub fn disk_bytes(&self, index: &str) -> u64 {
        self.log(index).map_or(0, |log| log.disk_bytes())
    }

    /// Reads a stored record back from disk.
    pub fn read(&self, index: &str, at: Location) -> Result<Record, StoreError> {
        self.log(index)?.read(at).map_err(|source| StoreError::Io {
            context: format!("cannot read index {index:?} at {at:?}"),
            source,
        })
    }
}

/// Microseconds since the epoch, saturating far outside any real event's time.
pub(crate) fn time_micros(time: OffsetDateTime) -> i64 {
    i64::try_from(time.unix_timestamp_nanos() / 1_000).unwrap_or(if time.year() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// Splunk's rule for the names of new indexes: a valid [`Index`] name (lower-case letters,
/// digits, `_` and `-`) that does not start with `_` (kept for Splunk's internal indexes), is at
/// most 80 characters long and does not contain `kvstore`.
fn check_index_name(name: &str) -> Result<(), StoreError> {
    let refuse = |reason: String| {
        Err(StoreError::InvalidIndexName {
            name: name.to_owned(),
            reason,
        })
    };
    if let Err(err) = Index::new(name) {
        return refuse(err.to_string());
    }
    if name.starts_with('_') {
        return refuse("names starting with `_` are kept for splunk's internal indexes".into());
    }
    if name.len() > 80 {
        return refuse("it is longer than 80 characters".into());
    }
    if name.contains("kvstore") {
        return refuse("it contains `kvstore`".into());
    }
    Ok(())
}

/// Why the store could not do something.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// A file operation failed.
    Io {
        /// What was being done, and where.
        context: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// An index name Splunk would refuse.
    InvalidIndexName {
        /// The name.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// No index of that name.
    UnknownIndex(String),
    /// A props setting the engine cannot follow.
    Props(PropsError),
    /// An event too large to store.
    Record(RecordError),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { context, .. } => f.write_str(context),
            Self::InvalidIndexName { name, reason } => {
                write!(f, "index name {name:?} is not allowed: {reason}")
            }
            Self::UnknownIndex(name) => write!(f, "no index named {name:?}; create it first"),
            Self::Props(err) => fmt::Display::fmt(err, f),
            Self::Record(err) => fmt::Display::fmt(err, f),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_follow_splunks_rule() {
        for good in ["main", "spoor", "a-b_c9", "0idx"] {
            assert!(check_index_name(good).is_ok(), "{good}");
        }
        for bad in ["", "_internal", "-x", "Shop", "a b", "my_kvstore", "é"] {
            assert!(check_index_name(bad).is_err(), "{bad}");
        }
    }
}
