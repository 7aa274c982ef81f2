//! The data folder: one log per index, and the catalog of what was created at run time.
//!
//! ```text
//! <data>/engine.lock                  held while a store has the folder open; the holder's pid
//! <data>/catalog.json                 indexes and props stanzas created at run time
//! <data>/indexes/<index>/<n>-<marker>.seg   the index's log segments (`<n>.seg` in the first format)
//! ```
//!
//! One store at a time has a folder open: opening takes an exclusive lock of the operating
//! system's on `engine.lock` (released when the store is dropped, or its process ends), so a
//! second opener, in this process or another, is refused at once with [`StoreError::InUse`].
//! Every file is `0600` and every folder `0700` whatever the umask (see [`files`](crate::files));
//! opening makes those an older version left open to other users so, and says so.
//!
//! A catalog missing from a folder that holds indexes is rebuilt from the index folders that
//! hold segments (props stanzas cannot be recovered, and the report says so); an index folder
//! holding segments that the catalog does not list is taken back as an index; a damaged catalog
//! stops the open with what to do. Each of these is in the [`OpenReport`] and logged.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::Duration;

use spoor_event::extract::Extractor;
use spoor_spl::build::Index;
use time::OffsetDateTime;

use crate::catalog::{self, BUILT_IN_INDEXES, Catalog, LoadError};
use crate::files::{self, FolderLock, LockError};
use crate::ingest::{Parsing, PropsError, Timed, cached_extractor};
use crate::log::{BlockSpan, Damage, Dropped, Location, Log, Part, Retiring, Text};
// The server's credentials file, kept in the data folder: made owner-only on open like the
// store's own files.
use crate::dictionary::Dictionary;
use crate::record::{Record, RecordError, RecordRef};
use crate::retention::{self, Candidate, Retention};
use crate::sealed::Block;
use crate::server::CREDENTIALS_FILE;

/// `props.conf` as the catalog keeps it: stanza → setting → value.
pub(crate) type Props = BTreeMap<String, BTreeMap<String, String>>;

/// The folder of the indexes' logs, in the data folder.
const INDEXES: &str = "indexes";

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
    /// Seals closed segments and keeps each index's retention in the background, once started
    /// ([`Store::start`]); stopped first when the store is dropped.
    sealer: OnceLock<Sealer>,
    dir: PathBuf,
    options: StoreOptions,
    catalog: Arc<Mutex<Catalog>>,
    logs: Arc<RwLock<BTreeMap<String, Arc<Log>>>>,
    parsing: Arc<RwLock<HashMap<String, Arc<Parsing>>>>,
    /// Takes in the events of an index created over a folder that already holds segments.
    adopter: OnceLock<Box<dyn Adopt>>,
    /// Forgets the events of blocks that retention deletes (the engine's index).
    retirer: Arc<OnceLock<Box<dyn Retire>>>,
    /// Held for the store's life (declared last, so released after the logs are closed).
    _lock: FolderLock,
}

/// Takes in the events an index's folder already held when the index is created at run time
/// (the engine indexes them, so they are searchable at once).
pub(crate) trait Adopt: fmt::Debug + Send + Sync {
    /// Begins taking in one index's records.
    fn start(&self) -> Box<dyn Adopting + '_>;
}

/// Forgets the events of sealed blocks deleted by retention, so that no search sees half a
/// deletion (the engine, whose in-memory index holds them).
pub(crate) trait Retire: fmt::Debug + Send + Sync {
    /// Runs `commit`, which deletes blocks of index `name` from disk and says which are gone
    /// (and the error that stopped it, if one did), while no search runs, and forgets the
    /// events of the blocks gone before any search runs again.
    fn retire(
        &self,
        name: &str,
        commit: &mut dyn FnMut() -> (Dropped, Option<io::Error>),
    ) -> (Dropped, Option<io::Error>);
}

/// What retention deleted from an index at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retired {
    /// Sealed blocks deleted.
    pub blocks: u64,
    /// Events they held.
    pub events: u64,
    /// Bytes they took on disk.
    pub bytes: u64,
}

/// One index's records being taken in.
pub(crate) trait Adopting {
    /// A record found in the folder, with its sourcetype's extractor.
    fn record(&mut self, location: Location, record: RecordRef<'_>, extractor: Extractor);
    /// Keeps what was taken in, once the index exists; dropped unkept, it is discarded.
    fn keep(self: Box<Self>);
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
    /// Whether closed segments are sealed in the background (on by default): rewritten as
    /// compressed blocks of columns that open without reading their text again.
    pub seal: bool,
    /// The segment being written is closed, so it can be sealed, once nothing was written to
    /// it for this long and it holds at least a sixteenth of `segment_bytes` (5 s by default).
    pub seal_idle: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            segment_bytes: crate::log::SEGMENT_BYTES,
            seal: true,
            seal_idle: Duration::from_secs(5),
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

    /// Sets whether closed segments are sealed in the background.
    #[must_use]
    pub fn seal(mut self, seal: bool) -> Self {
        self.seal = seal;
        self
    }

    /// Sets how long the segment being written must be idle to be closed and sealed.
    #[must_use]
    pub fn seal_idle(mut self, idle: Duration) -> Self {
        self.seal_idle = idle;
        self
    }
}

/// The background thread that seals closed segments (see [`crate::sealed`]).
#[derive(Debug)]
struct Sealer {
    stop: Arc<(AtomicBool, Mutex<()>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the sealer reads of the store.
struct Sealing {
    logs: Arc<RwLock<BTreeMap<String, Arc<Log>>>>,
    catalog: Arc<Mutex<Catalog>>,
    parsing: Arc<RwLock<HashMap<String, Arc<Parsing>>>>,
    retirer: Arc<OnceLock<Box<dyn Retire>>>,
    options: StoreOptions,
}

impl Sealer {
    fn none() -> Self {
        Self {
            stop: Arc::new((AtomicBool::new(false), Mutex::new(()), Condvar::new())),
            thread: None,
        }
    }

    fn start(sealing: Sealing) -> Self {
        let mut sealer = Self::none();
        if !sealing.options.seal {
            return sealer;
        }
        let stop = Arc::clone(&sealer.stop);
        let thread = std::thread::Builder::new()
            .name("spoor-sealer".into())
            .spawn(move || {
                lower_priority();
                sealing.run(&stop);
            });
        match thread {
            Ok(thread) => sealer.thread = Some(thread),
            Err(err) => tracing::warn!(
                error = %err,
                "cannot start the thread that seals segments: they stay in their logs"
            ),
        }
        sealer
    }
}

impl Drop for Sealer {
    fn drop(&mut self) {
        let (stop, lock, wake) = &*self.stop;
        stop.store(true, Ordering::Relaxed);
        drop(lock.lock().unwrap_or_else(|e| e.into_inner()));
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Sealing {
    /// Seals every closed segment and deletes what is past each index's retention, then looks
    /// again every second, until stopped.
    fn run(&self, stop: &(AtomicBool, Mutex<()>, Condvar)) {
        let (stopped, lock, wake) = stop;
        // A log whose sealing failed is left alone for a while, so one bad folder does not
        // fill the log with the same warning.
        let mut failed: HashMap<String, std::time::Instant> = HashMap::new();
        let extractor =
            |sourcetype: &str| parsing_of(&self.catalog, &self.parsing, sourcetype).extractor;
        while !stopped.load(Ordering::Relaxed) {
            for (name, log) in every_log(&self.logs) {
                if failed
                    .get(&name)
                    .is_some_and(|at| at.elapsed() < Duration::from_secs(60))
                {
                    continue;
                }
                let min = self.options.segment_bytes / 16;
                let retention = self
                    .catalog
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .retention(&name);
                let now = time_micros(OffsetDateTime::now_utc());
                let sealed = log
                    .roll_if_idle(self.options.seal_idle, min, retention.cutoff(now))
                    .and_then(|_| seal_closed(&name, &log, &extractor, stopped));
                if let Err(err) = sealed {
                    tracing::warn!(
                        index = %name,
                        error = %err,
                        "cannot seal a segment of this index; its records stay in its log, \
                         and sealing is tried again in a minute"
                    );
                    failed.insert(name, std::time::Instant::now());
                    continue;
                }
                let retirer = self.retirer.get().map(|r| &**r);
                if let Err(err) = retire(&name, &log, &retention, retirer, now) {
                    tracing::warn!(
                        index = %name,
                        error = %err,
                        "cannot delete what is past this index's retention; it is tried \
                         again in a minute"
                    );
                    failed.insert(name, std::time::Instant::now());
                }
            }
            let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            if stopped.load(Ordering::Relaxed) {
                break;
            }
            let _ = wake.wait_timeout(guard, Duration::from_secs(1));
        }
    }
}

/// Gives the calling thread (the sealer's) a lower CPU priority than the threads that ingest
/// and search (a nice value of 10), so that on a busy machine sealing takes what they leave
/// instead of a share of their time. Sealing falls behind under a sustained load and catches
/// up when it eases; the unsealed segments wait on disk meanwhile. Linux only.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(err) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10) {
        tracing::debug!(error = %err, "cannot lower the sealer's priority");
    }
}

/// Every index's log, as they are now.
fn every_log(logs: &RwLock<BTreeMap<String, Arc<Log>>>) -> Vec<(String, Arc<Log>)> {
    logs.read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(name, log)| (name.clone(), Arc::clone(log)))
        .collect()
}

/// Seals every closed segment of index `name`'s log, until `stop` is set; how many.
fn seal_closed(
    name: &str,
    log: &Log,
    extractor: &dyn Fn(&str) -> Extractor,
    stop: &AtomicBool,
) -> io::Result<u64> {
    let mut sealed = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some(sealing) = log.seal_next(extractor, stop)? else {
            break;
        };
        for damage in &sealing.damage {
            tracing::warn!(index = %name, "{damage}");
        }
        tracing::debug!(
            index = %name,
            segment = %sealing.path.display(),
            records = sealing.records,
            bytes_before = sealing.before,
            bytes_after = sealing.after,
            ms = sealing.took.as_millis() as u64,
            "sealed a segment"
        );
        sealed += 1;
    }
    Ok(sealed)
}

/// Deletes the sealed blocks of index `name` that are past `retention` at `now` (see
/// [`crate::retention`]), telling `retirer` (the engine) so that no search sees half of it.
fn retire(
    name: &str,
    log: &Log,
    retention: &Retention,
    retirer: Option<&dyn Retire>,
    now: i64,
) -> io::Result<Retired> {
    let blocks = log.sealed_blocks();
    if blocks.is_empty() {
        return Ok(Retired::default());
    }
    let candidates: Vec<Candidate> = blocks
        .iter()
        .map(|(_, block)| Candidate {
            latest: block.latest,
            bytes: block.len,
        })
        .collect();
    let gone: Vec<(u64, BlockSpan)> =
        retention::plan(&candidates, log.disk_bytes(), retention, now)
            .into_iter()
            .map(|i| blocks[i])
            .collect();
    if gone.is_empty() {
        return Ok(Retired::default());
    }
    let mut retiring = Some(log.drop_blocks(&gone)?);
    let mut commit = || retiring.take().map_or((Vec::new(), None), Retiring::commit);
    let (dropped, failed) = match retirer {
        Some(retirer) => retirer.retire(name, &mut commit),
        None => commit(),
    };
    let retired = Retired {
        blocks: dropped.len() as u64,
        events: dropped.iter().map(|(_, b)| b.rows).sum(),
        bytes: dropped.iter().map(|(_, b)| b.len).sum(),
    };
    if retired.blocks > 0 {
        tracing::info!(
            index = %name,
            events = retired.events,
            blocks = retired.blocks,
            bytes = retired.bytes,
            frozen_time_period_in_secs = retention.frozen_time_period_in_secs,
            max_total_data_size_mb = retention.max_total_data_size_mb,
            "deleted events past the index's retention"
        );
    }
    match failed {
        Some(err) => Err(err),
        None => Ok(retired),
    }
}

/// How text of `sourcetype` is cut into events and its fields extracted: from the cache, or
/// made from the catalog's props.
fn parsing_of(
    catalog: &Mutex<Catalog>,
    parsing: &RwLock<HashMap<String, Arc<Parsing>>>,
    sourcetype: &str,
) -> Arc<Parsing> {
    if let Some(parsing) = parsing
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(sourcetype)
    {
        return Arc::clone(parsing);
    }
    let made = Arc::new(Parsing::of(
        catalog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .props
            .get(sourcetype),
    ));
    parsing
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(sourcetype.to_owned(), Arc::clone(&made));
    made
}

/// What opening a store found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Records replayed, over all indexes.
    pub records: u64,
    /// Damage found in the logs: ranges skipped (left in place, copied beside their segment),
    /// and a torn write cut off the end of a log (never acknowledged).
    pub damage: Vec<Damage>,
    /// What was wrong with the data folder and set right (each also logged as a warning).
    pub repairs: Vec<Repair>,
}

/// Something opening a store found wrong with its data folder, and set right.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Repair {
    /// Files and folders an older version left readable by other local users, made readable
    /// by their owner only.
    Tightened {
        /// The data folder.
        folder: PathBuf,
        /// The files and folders changed.
        paths: Vec<PathBuf>,
    },
    /// `catalog.json` was missing from a folder that holds indexes: rebuilt from the index
    /// folders that hold segments. Props stanzas created at run time could not be recovered.
    CatalogRebuilt {
        /// The catalog file.
        path: PathBuf,
        /// The indexes found again, besides the built-in ones.
        indexes: Vec<String>,
    },
    /// An index folder holding segments that the catalog did not list, taken back as an index.
    IndexAdopted {
        /// The index.
        name: String,
        /// Its folder.
        path: PathBuf,
    },
    /// A folder of the indexes' folder that holds segments but whose name is no index name:
    /// left alone, its events not searchable.
    FolderIgnored(PathBuf),
    /// An index whose folder was missing: it is empty now.
    IndexMissing {
        /// The index.
        name: String,
        /// The folder it should have had.
        path: PathBuf,
    },
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tightened { folder, paths } => write!(
                f,
                "made {} files and folders in the data folder {} readable by their owner only \
                 (an older version left them readable by other local users)",
                paths.len(),
                folder.display()
            ),
            Self::CatalogRebuilt { path, indexes } => {
                write!(
                    f,
                    "{} was missing: rebuilt it from the index folders (",
                    path.display()
                )?;
                if indexes.is_empty() {
                    f.write_str("no index besides the built-in ones")?;
                } else {
                    write!(f, "indexes {}", indexes.join(", "))?;
                }
                f.write_str(
                    "); props stanzas set at run time, if there were any, could not be recovered: \
                     set them again",
                )
            }
            Self::IndexAdopted { name, path } => write!(
                f,
                "index folder {} holds segments the catalog did not list: it is index {name:?} again",
                path.display()
            ),
            Self::FolderIgnored(path) => write!(
                f,
                "{} holds segments but its name is no index name: left alone, its events are not \
                 searchable",
                path.display()
            ),
            Self::IndexMissing { name, path } => write!(
                f,
                "the folder of index {name:?} ({}) was missing: the index is empty now; restore the \
                 folder from a backup while the engine is stopped to get its events back",
                path.display()
            ),
        }
    }
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

impl Stored {
    /// The records of events of one index and metadata stored at `locations`, in order.
    pub(crate) fn of(
        index: &str,
        meta: &EventMeta,
        locations: Vec<Location>,
        events: impl IntoIterator<Item = (i64, impl Into<String>)>,
        truncated: usize,
    ) -> Self {
        let records = locations
            .into_iter()
            .zip(events)
            .map(|(location, (time_micros, raw))| {
                let record = Record {
                    time_micros,
                    index: index.to_owned(),
                    sourcetype: meta.sourcetype.clone(),
                    source: meta.source.clone(),
                    host: meta.host.clone(),
                    raw: raw.into(),
                };
                (location, record)
            })
            .collect();
        Self { records, truncated }
    }
}

impl Store {
    /// Opens the store in `dir` (creating it if needed), giving every stored record to `visit`
    /// in the order it was written, index by index.
    ///
    /// The store has the folder to itself until dropped: opening a folder another store has
    /// open, in this process or another, fails at once with [`StoreError::InUse`]. A damaged
    /// `catalog.json` fails with [`StoreError::Catalog`]; what was set right is in the report.
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
        let (store, report) = Self::open_logs(dir.as_ref(), options, |path, _| {
            let mut records = 0;
            let (log, damage) = Log::open(
                path,
                segment_bytes,
                &mut |location, record| {
                    records += 1;
                    visit(location, record);
                },
                &mut |_, _, _| false,
            )?;
            Ok((log, damage, records))
        })?;
        store.start();
        Ok((store, report))
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
        let (store, report) = Self::open_in_parts_with_props(
            dir.as_ref(),
            options,
            parts,
            |_, part, location, record| visit(part, location, record),
            |_, _, _, _, _| false,
        )?;
        store.start();
        Ok((store, report))
    }

    /// Like [`open_in_parts`](Store::open_in_parts), also lending `visit` the catalog's props,
    /// and offering `block` each sealed block whole (when it answers `false`, the block's
    /// records go to `visit`). Nothing runs in the background until [`start`](Store::start).
    pub(crate) fn open_in_parts_with_props(
        dir: &Path,
        options: &StoreOptions,
        parts: usize,
        visit: impl Fn(&Props, usize, Location, RecordRef<'_>) + Sync,
        block: impl Fn(&Props, Part, u64, &Block, Option<&Dictionary>) -> bool + Sync,
    ) -> Result<(Self, OpenReport), StoreError> {
        let segment_bytes = options.segment_bytes;
        Self::open_logs(dir, options, |path, props| {
            let records = AtomicU64::new(0);
            let (log, damage) = Log::open_parts(
                path,
                segment_bytes,
                parts,
                &|part, location, record| {
                    records.fetch_add(1, Ordering::Relaxed);
                    visit(props, part, location, record);
                },
                &|part, segment, sealed, dictionary| {
                    let taken = block(props, part, segment, sealed, dictionary);
                    if taken {
                        records.fetch_add(sealed.rows() as u64, Ordering::Relaxed);
                    }
                    taken
                },
            )?;
            Ok((log, damage, records.into_inner()))
        })
    }

    /// Opens the data folder: creates it if needed, locks it, makes its files owner-only,
    /// reads (or rebuilds) the catalog and opens each index's log with `open_log`.
    fn open_logs(
        dir: &Path,
        options: &StoreOptions,
        mut open_log: impl FnMut(&Path, &Props) -> io::Result<(Log, Vec<Damage>, u64)>,
    ) -> Result<(Self, OpenReport), StoreError> {
        let dir = dir.to_owned();
        let io = |context: String| move |source| StoreError::Io { context, source };
        files::create_dir(&dir).map_err(io(format!(
            "cannot create the data folder {}",
            dir.display()
        )))?;
        let lock = FolderLock::take(&dir).map_err(|err| match err {
            LockError::Held(holder) => StoreError::InUse {
                folder: dir.clone(),
                holder,
            },
            LockError::Io(source) => StoreError::Io {
                context: format!("cannot lock the data folder {} ({source})", dir.display()),
                source,
            },
        })?;

        let indexes = dir.join(INDEXES);
        let fresh = fs::symlink_metadata(&indexes).is_err();
        let mut report = OpenReport::default();
        let tightened = tighten(&dir, fresh);
        if !tightened.is_empty() {
            report.repairs.push(Repair::Tightened {
                folder: dir.clone(),
                paths: tightened,
            });
        }
        files::create_dir(&indexes).map_err(io(format!(
            "cannot create the folder of the indexes {}",
            indexes.display()
        )))?;
        let catalog = open_catalog(&dir, fresh, &mut report.repairs)?;

        let mut logs = BTreeMap::new();
        let names = BUILT_IN_INDEXES
            .iter()
            .map(|name| (*name).to_owned())
            .chain(catalog.indexes.iter().cloned());
        for name in names {
            let path = indexes.join(&name);
            let made_now = fresh && BUILT_IN_INDEXES.contains(&name.as_str());
            if !made_now && !path.is_dir() {
                report.repairs.push(Repair::IndexMissing {
                    name: name.clone(),
                    path: path.clone(),
                });
            }
            let (log, damage, records) = open_log(&path, &catalog.props).map_err(io(format!(
                "cannot open the log of index {name:?} in {}",
                dir.display()
            )))?;
            report.records += records;
            report.damage.extend(damage);
            logs.insert(name, Arc::new(log));
        }
        for repair in &report.repairs {
            tracing::warn!(data = %dir.display(), "{repair}");
        }
        let store = Self {
            sealer: OnceLock::new(),
            dir,
            options: options.clone(),
            catalog: Arc::new(Mutex::new(catalog)),
            logs: Arc::new(RwLock::new(logs)),
            parsing: Arc::new(RwLock::new(HashMap::new())),
            adopter: OnceLock::new(),
            retirer: Arc::new(OnceLock::new()),
            _lock: lock,
        };
        Ok((store, report))
    }

    /// Deletes what is past each index's retention, then starts the background work: sealing
    /// and retention (when [`StoreOptions::seal`] is on). Once; later calls do nothing.
    pub(crate) fn start(&self) {
        if self.sealer.get().is_some() {
            return;
        }
        if let Err(err) = self.enforce_retention() {
            tracing::warn!(data = %self.dir.display(), "{err}");
        }
        let _ = self.sealer.set(Sealer::start(Sealing {
            logs: Arc::clone(&self.logs),
            catalog: Arc::clone(&self.catalog),
            parsing: Arc::clone(&self.parsing),
            retirer: Arc::clone(&self.retirer),
            options: self.options.clone(),
        }));
    }

    /// Has `retirer` forget the events of blocks retention deletes (set once, by the engine,
    /// before [`start`](Store::start)).
    pub(crate) fn set_retirer(&self, retirer: Box<dyn Retire>) {
        let _ = self.retirer.set(retirer);
    }

    /// Has `adopter` take in the events of an index created over a folder that already holds
    /// segments (set once, by the engine).
    pub(crate) fn set_adopter(&self, adopter: Box<dyn Adopt>) {
        let _ = self.adopter.set(adopter);
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
    ///
    /// If the index's folder already holds segments (restored from a backup, say), their events
    /// belong to the new index: an [`Engine`](crate::Engine) makes them searchable at once.
    pub fn create_index(&self, name: &str) -> Result<bool, StoreError> {
        self.create(name, None)
    }

    /// Creates an index with its retention (see [`Retention`]); `false`, changing nothing, if
    /// it already existed.
    pub fn create_index_with(&self, name: &str, retention: Retention) -> Result<bool, StoreError> {
        self.create(name, Some(retention))
    }

    fn create(&self, name: &str, retention: Option<Retention>) -> Result<bool, StoreError> {
        check_index_name(name)?;
        let mut catalog = self.catalog();
        if self.has_index(name) {
            return Ok(false);
        }
        let mut adopting = self.adopter.get().map(|adopter| adopter.start());
        let mut extractors: HashMap<String, Extractor> = HashMap::new();
        let mut found = 0u64;
        let (log, cuts) = Log::open(
            &self.dir.join(INDEXES).join(name),
            self.options.segment_bytes,
            &mut |location, record| {
                found += 1;
                let Some(adopting) = &mut adopting else {
                    return;
                };
                let extractor = cached_extractor(&mut extractors, record.sourcetype, || {
                    Parsing::of(catalog.props.get(record.sourcetype)).extractor
                });
                adopting.record(location, record, extractor);
            },
            &mut |_, _, _| false,
        )
        .map_err(|source| StoreError::Io {
            context: format!("cannot create the log of index {name:?}"),
            source,
        })?;
        let mut next = catalog.clone();
        next.indexes.push(name.to_owned());
        if let Some(retention) = retention {
            next.retention.insert(name.to_owned(), retention);
        }
        self.save(&next)?;
        *catalog = next;
        if let Some(adopting) = adopting {
            adopting.keep();
        }
        for damage in &cuts {
            tracing::warn!(index = name, "{damage}");
        }
        if found > 0 {
            tracing::info!(
                index = name,
                events = found,
                "index created over a folder that held events: they are in the index"
            );
        }
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

    /// An index's retention (see [`Retention`]); `None` for an unknown index.
    pub fn retention(&self, name: &str) -> Option<Retention> {
        let catalog = self.catalog();
        self.has_index(name).then(|| catalog.retention(name))
    }

    /// Sets an index's retention, kept in the catalog. What it puts past the limits is deleted
    /// within a second (see [`Retention`]), or at once by [`enforce_retention`].
    ///
    /// [`enforce_retention`]: Store::enforce_retention
    pub fn set_retention(&self, name: &str, retention: Retention) -> Result<(), StoreError> {
        let mut catalog = self.catalog();
        if !self.has_index(name) {
            return Err(StoreError::UnknownIndex(name.to_owned()));
        }
        let mut next = catalog.clone();
        next.retention.insert(name.to_owned(), retention);
        self.save(&next)?;
        *catalog = next;
        drop(catalog);
        self.wake_sealer();
        Ok(())
    }

    /// Deletes now, in every index, the sealed blocks past its retention (the background work
    /// does it every second when sealing is on). What was deleted, by index (indexes that lost
    /// nothing left out).
    pub fn enforce_retention(&self) -> Result<BTreeMap<String, Retired>, StoreError> {
        let mut retired = BTreeMap::new();
        for (name, log) in every_log(&self.logs) {
            let done = self.retire_now(&name, &log)?;
            if done.blocks > 0 {
                retired.insert(name, done);
            }
        }
        Ok(retired)
    }

    /// Has the background work look at the indexes now rather than within a second.
    fn wake_sealer(&self) {
        if let Some(sealer) = self.sealer.get() {
            sealer.stop.2.notify_all();
        }
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
        parsing_of(&self.catalog, &self.parsing, sourcetype)
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
        let (events, truncated) = self.parsing(&meta.sourcetype).events(text, arrival);
        let locations = self.write(index, meta, &events)?;
        Ok(Stored::of(index, meta, locations, events, truncated))
    }

    /// Stores events whose time is already known (HEC envelopes) durably in `index`.
    pub fn append(
        &self,
        index: &str,
        meta: &EventMeta,
        events: impl IntoIterator<Item = (OffsetDateTime, String)>,
    ) -> Result<Vec<(Location, Record)>, StoreError> {
        let events: Vec<(i64, String)> = events
            .into_iter()
            .map(|(time, raw)| (time_micros(time), raw))
            .collect();
        let borrowed: Vec<Timed<'_>> = events.iter().map(|(t, raw)| (*t, raw.as_str())).collect();
        let locations = self.write(index, meta, &borrowed)?;
        Ok(Stored::of(index, meta, locations, events, 0).records)
    }

    /// Stores events (their times in microseconds, their texts) durably in `index`, in one
    /// write to its log, acknowledged once on disk: what [`ingest`](Self::ingest) and
    /// [`append`](Self::append) do, with nothing copied but the frames written. Their
    /// locations, in order; nothing is stored if one of them cannot be.
    pub(crate) fn write(
        &self,
        index: &str,
        meta: &EventMeta,
        events: &[Timed<'_>],
    ) -> Result<Vec<Location>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let log = self.log(index)?;
        let mut record = RecordRef {
            time_micros: 0,
            index,
            sourcetype: &meta.sourcetype,
            source: &meta.source,
            host: &meta.host,
            raw: "",
        };
        let framing = record.frame_len();
        let mut frames =
            Vec::with_capacity(events.iter().map(|(_, raw)| framing + raw.len()).sum());
        let mut lens = Vec::with_capacity(events.len());
        let mut latest = i64::MIN;
        for &(time_micros, raw) in events {
            latest = latest.max(time_micros);
            record.time_micros = time_micros;
            record.raw = raw;
            let before = frames.len();
            record.encode(&mut frames).map_err(StoreError::Record)?;
            lens.push(frames.len() - before);
        }
        log.append(&mut frames, &lens, latest)
            .map_err(|source| StoreError::Io {
                context: format!("cannot write to index {index:?}"),
                source,
            })
    }

    /// Seals every index's data now instead of when the background sealer would: closes each
    /// segment being written that holds anything and seals every closed segment (see
    /// [`StoreOptions::seal`]). Returns how many segments were sealed.
    ///
    /// ```
    /// use spoor_engine::{EventMeta, Store};
    /// use time::macros::datetime;
    ///
    /// # let dir = std::env::temp_dir().join(format!("spoor-doc-seal-{}", std::process::id()));
    /// let (store, _) = Store::open(&dir, |_, _| {})?;
    /// let meta = EventMeta::new("spoor", "app.log", "web-1");
    /// store.ingest("main", &meta, "2026-11-28T12:00:00.000000Z event=\"login\"", datetime!(2026-11-28 12:00 UTC))?;
    /// assert_eq!(store.seal_all()?, 1);
    /// drop(store);
    /// let mut raws = Vec::new();
    /// Store::open(&dir, |_, record| raws.push(record.raw))?;
    /// assert_eq!(raws, ["2026-11-28T12:00:00.000000Z event=\"login\""]);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seal_all(&self) -> Result<u64, StoreError> {
        let mut sealed = 0;
        for (name, log) in every_log(&self.logs) {
            sealed += self.seal_now(&name, &log)?;
        }
        Ok(sealed)
    }

    /// Closes the segment of `log` being written if it holds anything, and seals every closed
    /// one; how many.
    fn seal_now(&self, name: &str, log: &Log) -> Result<u64, StoreError> {
        let never = AtomicBool::new(false);
        let extractor = |sourcetype: &str| self.parsing(sourcetype).extractor;
        let io = |source| StoreError::Io {
            context: format!("cannot seal index {name:?}"),
            source,
        };
        log.roll_if_idle(Duration::ZERO, 1, i64::MIN).map_err(io)?;
        seal_closed(name, log, &extractor, &never).map_err(io)
    }

    /// Deletes now what is past index `name`'s retention.
    fn retire_now(&self, name: &str, log: &Log) -> Result<Retired, StoreError> {
        let retention = self.catalog().retention(name);
        let retirer = self.retirer.get().map(|r| &**r);
        let now = time_micros(OffsetDateTime::now_utc());
        retire(name, log, &retention, retirer, now).map_err(|source| StoreError::Io {
            context: format!(
                "cannot delete what is past the retention of index {name:?}; it is tried \
                 again within a minute"
            ),
            source,
        })
    }

    /// Seals index `name`'s data now, as Splunk rolls an index's hot buckets: closes the
    /// segment being written if it holds anything, seals every closed segment, then deletes
    /// what is past the index's retention. Returns how many segments were sealed.
    pub fn roll_hot_buckets(&self, name: &str) -> Result<u64, StoreError> {
        let log = self.log(name)?;
        let sealed = self.seal_now(name, &log)?;
        self.retire_now(name, &log)?;
        Ok(sealed)
    }

    /// The bytes an index's log holds on disk (`0` for an unknown index).
    pub fn disk_bytes(&self, index: &str) -> u64 {
        self.log(index).map_or(0, |log| log.disk_bytes())
    }

    /// The raw text of `row` of an index's `columns`: read back from disk, or rebuilt from its
    /// template with the values the columns hold. A rebuilt text whose crc32 is not the one
    /// stored (the columns' values were extracted under other props than the template) is
    /// read again, rebuilt from its block's own columns.
    pub(crate) fn raw(
        &self,
        index: &str,
        columns: &crate::columns::Columns,
        row: u32,
    ) -> Result<String, StoreError> {
        let at = columns.location(row);
        let log = self.log(index)?;
        let failed = |source| StoreError::Io {
            context: format!("cannot read index {index:?} at {at:?}"),
            source,
        };
        match log.read_text(at).map_err(failed)? {
            Text::Whole(record) => Ok(record.raw),
            Text::Template {
                template,
                order,
                crc,
            } => match columns.rebuild(row, &template, order) {
                Ok(raw) if crc32fast::hash(raw.as_bytes()) == crc => Ok(raw),
                _ => Ok(log.read(at).map_err(failed)?.raw),
            },
        }
    }

    /// Reads a stored record back from disk.
    pub fn read(&self, index: &str, at: Location) -> Result<Record, StoreError> {
        self.log(index)?.read(at).map_err(|source| StoreError::Io {
            context: format!("cannot read index {index:?} at {at:?}"),
            source,
        })
    }
}

/// Makes the data folder's own files and folders readable by their owner only: the catalog,
/// the lock, the binary's credentials, the indexes' folders and their segments (other files a
/// user keeps in the folder are left alone). Returns what was changed; a fresh folder (the
/// caller may have just made it) is changed quietly. What cannot be changed is logged.
fn tighten(dir: &Path, fresh: bool) -> Vec<PathBuf> {
    let mut changed = Vec::new();
    let mut check = |path: PathBuf| match files::make_private(&path) {
        Ok(true) => changed.push(path),
        Ok(false) => {}
        Err(err) => tracing::warn!(
            path = %path.display(),
            error = %err,
            "cannot make this file or folder readable by its owner only; fix its mode"
        ),
    };
    check(dir.to_owned());
    if fresh {
        return Vec::new();
    }
    for name in [catalog::FILE, files::LOCK_FILE, CREDENTIALS_FILE] {
        check(dir.join(name));
    }
    let indexes = dir.join(INDEXES);
    check(indexes.clone());
    for folder in entries(&indexes) {
        if !fs::symlink_metadata(&folder).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        check(folder.clone());
        for file in entries(&folder) {
            if crate::log::is_data_file(&file) || crate::log::is_quarantine_copy(&file) {
                check(file);
            }
        }
    }
    changed
}

/// The entries of a folder (none if it cannot be read).
fn entries(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir).map_or_else(
        |_| Vec::new(),
        |entries| entries.filter_map(|e| Some(e.ok()?.path())).collect(),
    )
}

/// The catalog of the folder `dir`: read; on a fresh folder, made; when missing from a folder
/// that holds indexes, rebuilt from the index folders that hold segments. Index folders holding
/// segments that it does not list are taken back. Each change is saved and added to `repairs`.
fn open_catalog(dir: &Path, fresh: bool, repairs: &mut Vec<Repair>) -> Result<Catalog, StoreError> {
    let indexes = dir.join(INDEXES);
    // Index folders that hold segments, by name, sorted.
    let mut found: Vec<String> = Vec::new();
    for folder in entries(&indexes) {
        if !folder.is_dir()
            || !entries(&folder)
                .iter()
                .any(|file| crate::log::is_segment_file(file))
        {
            continue;
        }
        match folder.file_name().and_then(|name| name.to_str()) {
            Some(name) if check_index_name(name).is_ok() => found.push(name.to_owned()),
            _ => repairs.push(Repair::FolderIgnored(folder)),
        }
    }
    found.sort();
    found.retain(|name| !BUILT_IN_INDEXES.contains(&name.as_str()));

    let (mut catalog, mut changed) = match Catalog::load(dir) {
        Ok(Some(catalog)) => (catalog, false),
        Ok(None) if fresh => (Catalog::default(), true),
        Ok(None) => {
            repairs.push(Repair::CatalogRebuilt {
                path: dir.join(catalog::FILE),
                indexes: found.clone(),
            });
            let catalog = Catalog {
                indexes: found.clone(),
                ..Catalog::default()
            };
            (catalog, true)
        }
        Err(LoadError::Io(path, source)) => {
            return Err(StoreError::Io {
                context: format!("cannot read the catalog {} ({source})", path.display()),
                source,
            });
        }
        Err(LoadError::Damaged(path, problem)) => {
            return Err(StoreError::Catalog { path, problem });
        }
    };
    for name in found {
        if !catalog.indexes.contains(&name) {
            repairs.push(Repair::IndexAdopted {
                path: indexes.join(&name),
                name: name.clone(),
            });
            catalog.indexes.push(name);
            changed = true;
        }
    }
    if changed {
        catalog.save(dir).map_err(|source| StoreError::Io {
            context: format!("cannot save the catalog in {} ({source})", dir.display()),
            source,
        })?;
    }
    Ok(catalog)
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
    /// The data folder is open in another store, in this process or another.
    InUse {
        /// The data folder.
        folder: PathBuf,
        /// The process that has it open, if its id could be read.
        holder: Option<u32>,
    },
    /// `catalog.json` is there but damaged: the store will not guess what it held.
    Catalog {
        /// The catalog file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
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
            Self::InUse { folder, holder } => {
                write!(f, "the data folder {} is in use ", folder.display())?;
                match holder {
                    Some(pid) if *pid == std::process::id() => write!(
                        f,
                        "by this process (id {pid}): close the engine that has it open first"
                    ),
                    Some(pid) => write!(
                        f,
                        "by process {pid} (another spoor-engine or spoor-dashboard): stop it \
                         first, or give this one another data folder"
                    ),
                    None => f.write_str(
                        "by another process: stop it first, or give this one another data folder",
                    ),
                }
            }
            Self::Catalog { path, problem } => write!(
                f,
                "the catalog {} {problem}: restore it from a backup, or move it away to \
                 rebuild it from the index folders (props stanzas set at run time are then \
                 lost and must be set again)",
                path.display()
            ),
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
