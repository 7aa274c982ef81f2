//! The engine: the durable store and its in-memory index, searched together.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use spoor_event::extract::Extractor;
use spoor_spl::ast::Query;
use time::OffsetDateTime;

use crate::columns::Columns;
use crate::ingest::{Parsing, Timed, cached_extractor};
use crate::log::{Dropped, Location};
use crate::record::RecordRef;
use crate::search::{self, Results, SearchError, Window};
use crate::store::{
    Adopt, Adopting, EventMeta, OpenReport, Retire, Store, StoreError, StoreOptions, Stored,
    time_micros,
};

/// The in-memory index: columns per engine index.
type Index = RwLock<BTreeMap<String, Columns>>;

/// What one replay run has indexed.
#[derive(Debug, Default)]
struct Part {
    index: BTreeMap<String, Columns>,
    extractors: HashMap<String, Extractor>,
}

/// Where [`Engine::receive`] stored the events of a text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// Where each event was stored, in order.
    pub locations: Vec<Location>,
    /// How many events were cut to the sourcetype's `TRUNCATE`.
    pub truncated: usize,
}

/// What an index holds, in short.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexSummary {
    /// Its events.
    pub events: u64,
    /// The bytes of its log on disk.
    pub bytes: u64,
    /// Its earliest event's time.
    pub earliest: Option<OffsetDateTime>,
    /// Its latest event's time.
    pub latest: Option<OffsetDateTime>,
}

/// spoor's embedded engine: a [`Store`] and a columnar index of every stored event, rebuilt on
/// open, answering the `spoor-spl` subset with Splunk's semantics (see [`search`]).
///
/// ```
/// use spoor_engine::{Engine, EventMeta, Window};
/// use time::macros::datetime;
///
/// # let dir = std::env::temp_dir().join(format!("spoor-engine-doc-{}", std::process::id()));
/// let (engine, _) = Engine::open(&dir)?;
/// engine.ingest(
///     "main",
///     &EventMeta::new("spoor", "app", "web-1"),
///     "2026-11-28T12:00:00.000000Z application=\"shop\" event=\"login\"\n\
///      2026-11-28T12:00:01.000000Z application=\"shop\" event=\"login\"",
///     datetime!(2026-11-28 12:00 UTC),
/// )?;
/// let query = "search application=shop | stats count by event".parse()?;
/// let results = engine.search(&query, &Window::default())?;
/// assert_eq!(results.fields, ["event", "count"]);
/// assert_eq!(results.rows, [[Some("login".to_owned()), Some("2".to_owned())]]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Engine {
    store: Store,
    /// Shared with the store's adopter, which adds the events of an index created over a
    /// folder that already held some.
    index: Arc<Index>,
}

/// Indexes the events an index's folder already held when it is created at run time.
#[derive(Debug)]
struct Adopter(Arc<Index>);

/// One index's adopted events, indexed apart until the index exists.
struct Taking<'a> {
    into: &'a Index,
    taken: BTreeMap<String, Columns>,
}

impl Adopt for Adopter {
    fn start(&self) -> Box<dyn Adopting + '_> {
        Box::new(Taking {
            into: &self.0,
            taken: BTreeMap::new(),
        })
    }
}

impl Adopting for Taking<'_> {
    fn record(&mut self, location: Location, record: RecordRef<'_>, extractor: Extractor) {
        self.taken
            .entry(record.index.to_owned())
            .or_default()
            .push(location, &record, extractor);
    }

    fn keep(self: Box<Self>) {
        let mut index = self.into.write().unwrap_or_else(|e| e.into_inner());
        for (name, mut columns) in self.taken {
            columns.shrink();
            index.entry(name).or_default().append(columns);
        }
    }
}

/// Forgets the events of the blocks retention deletes, holding the index meanwhile.
#[derive(Debug)]
struct Retirer(Arc<Index>);

impl Retire for Retirer {
    fn retire(
        &self,
        name: &str,
        commit: &mut dyn FnMut() -> (Dropped, Option<std::io::Error>),
    ) -> (Dropped, Option<std::io::Error>) {
        let mut index = self.0.write().unwrap_or_else(|e| e.into_inner());
        let (dropped, failed) = commit();
        let mut gone: Vec<(u64, u64, u64)> = dropped
            .iter()
            .map(|(segment, block)| (*segment, block.first, block.last))
            .collect();
        gone.sort_unstable();
        if let Some(columns) = index.get_mut(name) {
            columns.forget(&gone);
        }
        (dropped, failed)
    }
}

impl Engine {
    /// Opens the engine's data folder (creating it if needed), replaying and indexing every
    /// stored event.
    ///
    /// The engine has the folder to itself until dropped: opening a folder that another engine
    /// or store has open, in this process or another, fails at once with
    /// [`StoreError::InUse`], naming the folder and the holder's process id.
    pub fn open(dir: impl AsRef<Path>) -> Result<(Self, OpenReport), StoreError> {
        Self::open_with(dir, &StoreOptions::default())
    }

    /// Like [`open`](Engine::open), with the store's options.
    ///
    /// Each index's segments are replayed and indexed in one run, while a helper thread
    /// reads and decodes the next blocks of each sealed file: the index is built in one piece,
    /// sized beforehand from the blocks' headers. (Two runs on two threads, joined at the end,
    /// held a second copy of the largest column while joining: 12 % above the resident set at
    /// 100 million events.)
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: &StoreOptions,
    ) -> Result<(Self, OpenReport), StoreError> {
        const PARTS: usize = 1;
        let dir = dir.as_ref();
        // Each run indexes into its own columns (its lock is only ever taken by its thread).
        let parts: Vec<Mutex<Part>> = (0..PARTS).map(|_| Mutex::default()).collect();
        // How far the open has got, said every few seconds while it lasts.
        let indexed = AtomicU64::new(0);
        let done = (Mutex::new(false), Condvar::new());
        let opened = std::thread::scope(|scope| {
            scope.spawn(|| {
                let started = Instant::now();
                let (finished, wake) = &done;
                let mut guard = finished.lock().unwrap_or_else(|e| e.into_inner());
                while !*guard {
                    guard = wake
                        .wait_timeout(guard, Duration::from_secs(2))
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                    if !*guard {
                        tracing::info!(
                            data = %dir.display(),
                            events = indexed.load(Ordering::Relaxed),
                            seconds = started.elapsed().as_secs(),
                            "opening the data folder"
                        );
                    }
                }
            });
            let opened = Self::open_parts(dir, options, &parts, &indexed);
            let (finished, wake) = &done;
            *finished.lock().unwrap_or_else(|e| e.into_inner()) = true;
            wake.notify_all();
            opened
        });
        let (store, report) = opened?;
        let mut index: BTreeMap<String, Columns> = BTreeMap::new();
        for part in parts {
            let part = part.into_inner().unwrap_or_else(|e| e.into_inner());
            for (name, columns) in part.index {
                index.entry(name).or_default().append(columns);
            }
        }
        for columns in index.values_mut() {
            columns.shrink();
        }
        let index = Arc::new(RwLock::new(index));
        store.set_adopter(Box::new(Adopter(Arc::clone(&index))));
        store.set_retirer(Box::new(Retirer(Arc::clone(&index))));
        store.start();
        let engine = Self { store, index };
        Ok((engine, report))
    }

    /// Opens the store, indexing its records and blocks into `parts`, counting them in `indexed`.
    fn open_parts(
        dir: &Path,
        options: &StoreOptions,
        parts: &[Mutex<Part>],
        indexed: &AtomicU64,
    ) -> Result<(Store, OpenReport), StoreError> {
        Store::open_in_parts_with_props(
            dir,
            options,
            parts.len(),
            |props, part, location, record| {
                indexed.fetch_add(1, Ordering::Relaxed);
                let mut part = parts[part].lock().unwrap_or_else(|e| e.into_inner());
                let Part { index, extractors } = &mut *part;
                let extractor = cached_extractor(extractors, record.sourcetype, || {
                    Parsing::of(props.get(record.sourcetype)).extractor
                });
                match index.get_mut(record.index) {
                    Some(columns) => columns.push(location, &record, extractor),
                    None => index
                        .entry(record.index.to_owned())
                        .or_default()
                        .push(location, &record, extractor),
                }
            },
            |props, part, segment, block, dictionary| {
                // A block is taken whole when its fields were extracted as its sourcetypes'
                // props say today; else its records are indexed again one by one.
                let rows = part.rows;
                let mut part = parts[part.number].lock().unwrap_or_else(|e| e.into_inner());
                let Part { index, extractors } = &mut *part;
                let current = block.meta[1].values.iter().zip(&block.extractors).all(
                    |(sourcetype, sealed)| {
                        let today = cached_extractor(extractors, sourcetype, || {
                            Parsing::of(props.get(sourcetype)).extractor
                        });
                        today == *sealed
                    },
                );
                // Records of one index only, as every log holds.
                let names = &block.meta[0].values;
                let (true, 1, Some(name)) = (current, names.len(), names.first()) else {
                    return false;
                };
                let columns = index.entry(name.to_owned()).or_default();
                columns.reserve(rows);
                columns.append_block(segment, block, dictionary);
                indexed.fetch_add(block.rows() as u64, Ordering::Relaxed);
                true
            },
        )
    }

    /// The store, for indexes and props.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Columns>> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Columns>> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores events (their times in microseconds, their texts) of one index and metadata
    /// durably in one write (see [`Store::write`]), then indexes them: the one path of every
    /// write.
    fn put(
        &self,
        index: &str,
        meta: &EventMeta,
        events: &[Timed<'_>],
        extractor: Extractor,
    ) -> Result<Vec<Location>, StoreError> {
        let locations = self.store.write(index, meta, events)?;
        if locations.is_empty() {
            return Ok(locations);
        }
        let mut indexes = self.write();
        let columns = match indexes.get_mut(index) {
            Some(columns) => columns,
            None => indexes.entry(index.to_owned()).or_default(),
        };
        for (&(time_micros, raw), &location) in events.iter().zip(&locations) {
            let record = RecordRef {
                time_micros,
                index,
                sourcetype: &meta.sourcetype,
                source: &meta.source,
                host: &meta.host,
                raw,
            };
            columns.push(location, &record, extractor);
        }
        Ok(locations)
    }

    /// Stores text durably (see [`Store::ingest`]) and indexes its events; the records stored
    /// (see [`receive`](Self::receive) for a write that needs none back).
    pub fn ingest(
        &self,
        index: &str,
        meta: &EventMeta,
        text: &str,
        arrival: OffsetDateTime,
    ) -> Result<Stored, StoreError> {
        let (events, received) = self.take(index, meta, text, arrival)?;
        let Received {
            locations,
            truncated,
        } = received;
        Ok(Stored::of(index, meta, locations, events, truncated))
    }

    /// Stores text durably and indexes its events, as [`ingest`](Self::ingest) does, without
    /// making a copy of each record to give back: where they were stored.
    ///
    /// ```
    /// use spoor_engine::{Engine, EventMeta};
    /// use time::macros::datetime;
    ///
    /// # let dir = std::env::temp_dir().join(format!("spoor-receive-doc-{}", std::process::id()));
    /// let (engine, _) = Engine::open(&dir)?;
    /// let meta = EventMeta::new("spoor", "app", "web-1");
    /// let received = engine.receive("main", &meta, "a=1\n\nb=2\n", datetime!(2026-11-28 12:00 UTC))?;
    /// assert_eq!(received.locations.len(), 2);
    /// assert_eq!(received.truncated, 0);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn receive(
        &self,
        index: &str,
        meta: &EventMeta,
        text: &str,
        arrival: OffsetDateTime,
    ) -> Result<Received, StoreError> {
        Ok(self.take(index, meta, text, arrival)?.1)
    }

    /// Cuts `text` into events by the sourcetype's props, stores and indexes them: the events
    /// (their times in microseconds, their texts) and where they went.
    fn take<'t>(
        &self,
        index: &str,
        meta: &EventMeta,
        text: &'t str,
        arrival: OffsetDateTime,
    ) -> Result<(Vec<Timed<'t>>, Received), StoreError> {
        // The parsing is asked before the index is locked: the store's catalog is never waited
        // for while the index is held (creating an index holds the catalog, then takes the
        // index).
        let parsing = self.store.parsing(&meta.sourcetype);
        let (events, truncated) = parsing.events(text, arrival);
        let locations = self.put(index, meta, &events, parsing.extractor)?;
        let received = Received {
            locations,
            truncated,
        };
        Ok((events, received))
    }

    /// Stores events of known times (HEC envelopes) durably in one write (see
    /// [`Store::append`]) and indexes them; where they were stored, in order.
    pub fn append<S: AsRef<str>>(
        &self,
        index: &str,
        meta: &EventMeta,
        events: impl IntoIterator<Item = (OffsetDateTime, S)>,
    ) -> Result<Vec<Location>, StoreError> {
        let extractor = self.store.parsing(&meta.sourcetype).extractor;
        let events: Vec<(i64, S)> = events
            .into_iter()
            .map(|(time, raw)| (time_micros(time), raw))
            .collect();
        let events: Vec<Timed<'_>> = events
            .iter()
            .map(|(time, raw)| (*time, raw.as_ref()))
            .collect();
        self.put(index, meta, &events, extractor)
    }

    /// About how many bytes of memory the in-memory index holds (raw text stays on disk).
    pub fn index_bytes(&self) -> usize {
        self.read().values().map(Columns::heap_bytes).sum()
    }

    /// How many events an index holds and over what time; `None` for an unknown index.
    pub fn index_summary(&self, name: &str) -> Option<IndexSummary> {
        if !self.store.has_index(name) {
            return None;
        }
        let index = self.read();
        let Some(columns) = index.get(name) else {
            return Some(IndexSummary::default());
        };
        let times = &columns.times;
        let (first, last) = if columns.sorted {
            (times.first().copied(), times.last().copied())
        } else {
            (times.iter().min().copied(), times.iter().max().copied())
        };
        let at = |micros: i64| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok()
        };
        Some(IndexSummary {
            events: times.len() as u64,
            bytes: self.store.disk_bytes(name),
            earliest: first.and_then(at),
            latest: last.and_then(at),
        })
    }

    /// Runs a query over the window.
    pub fn search(&self, query: &Query, window: &Window) -> Result<Results, SearchError> {
        self.search_while(query, window, |_| true)
    }

    /// Runs a query over the window, handing each result row to `keep` as it is made (the
    /// server measures them against its memory budget); when `keep` answers `false` the
    /// search stops at once with [`SearchError::Stopped`] and its rows are dropped.
    pub fn search_while(
        &self,
        query: &Query,
        window: &Window,
        mut keep: impl FnMut(&[Option<String>]) -> bool,
    ) -> Result<Results, SearchError> {
        let mut index = self.read();
        // Indexes created but still empty are searchable too.
        let missing: Vec<String> = self
            .store
            .indexes()
            .into_iter()
            .filter(|n| !index.contains_key(n))
            .collect();
        if !missing.is_empty() {
            drop(index);
            let mut write = self.write();
            for name in missing {
                write.entry(name).or_default();
            }
            drop(write);
            index = self.read();
        }
        search::evaluate(&index, &self.store, query, window, &mut keep)
    }
}
