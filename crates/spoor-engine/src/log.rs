//! One index's append-only log: numbered segment files of framed records, with group commit.
//!
//! ```text
//! <index dir>/00000000000000000001-3f9c0e21a4b7d865.seg   records, framed (see `record`)
//!             00000000000000000002-b07d3e5a91c4f210.seg   the next, once the first passed SEGMENT_BYTES
//!             00000000000000000001-3f9c0e21a4b7d865.seg.damaged-<offset>-<bytes>-<crc32>
//!                                                         a copy of damaged bytes found on open
//! ```
//!
//! A write is acknowledged only once it is on disk: every appender writes its frames under the
//! lock, then waits until an `fdatasync` that started after its write has finished. The first
//! waiter to find no sync running becomes the leader and syncs for everyone written so far, so
//! concurrent writers share one sync (group commit). A failed write is rolled back to the last
//! frame boundary; a failed sync poisons the log, since after a failed `fsync` the kernel may
//! have dropped the pages and a retry would wrongly report success.
//!
//! # Reading on after damage
//!
//! Each segment has a sync marker: 8 random bytes drawn when the segment is created and kept
//! in its file name (the hex digits after its number). Every frame begins with its segment's
//! marker and carries its number in the segment (0, 1, 2, …) and a checksum of its header
//! besides the payload's. On open a segment is read frame by frame; where the bytes are no
//! valid frame, the reader searches on for the marker and resumes at the first offset where a
//! whole, valid frame starts. Damage costs the records whose bytes it touches, and no others.
//!
//! - Event text cannot fake a frame. Clients choose it, but the marker is random per segment
//!   and never leaves the data folder, so text laid out as a well-formed frame lacks it (a
//!   guess has one chance in 2⁶⁴). A frame copied from another segment carries that segment's
//!   marker, and is not taken either.
//! - The marker is in the file name rather than in a header inside the file because no
//!   damaged byte can take it away there; a lost header would cost the whole segment.
//! - The numbers make each record come back once. A valid frame whose number was already read
//!   (a range duplicated over or into the file) is skipped as damage; a number found after a
//!   gap tells how many records the damage cost; a frame found out of order (a later one
//!   copied earlier) fills its place in the gap and its own copy is then a repeat.
//! - Only a frame cut short at the very end of the last segment is a torn write: a valid
//!   header announcing more bytes than the file holds, or fewer bytes than a header that begin
//!   like the marker. That write was never acknowledged; it is cut and appends go on after
//!   it. Damage anywhere else, the end of a segment included, is left in place and skipped;
//!   when the last segment ends in damage, appends go to a new segment, so the damage stays
//!   where it is and reads the same on every open.
//! - Before anything is changed, each damaged or torn range is copied beside its segment, to
//!   `<segment file>.damaged-<offset>-<bytes>-<crc32 of the bytes>` (written under a temporary
//!   name, synced, renamed). A copy already there is kept, so reopening the same folder adds
//!   none. What was found is reported ([`Damage`]).
//!
//! Segments of the first format (named `<n>.seg`, written before the marker) are still read.
//! Their frames have neither marker nor number, so after damage the reader tries each later
//! offset for a frame whose lengths fit and whose checksum matches: best effort, since there an
//! event whose text is a well-formed frame of that format could be read as a record, and a
//! duplicated range is read twice. They are never appended to: a log whose last segment is of
//! the first format goes on in a new segment.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use spoor_event::extract::Extractor;

use crate::dictionary::{Dictionaries, Dictionary};
use crate::hash::FxHashMap;
use crate::ingest::cached_extractor;
use crate::record::{
    Frame, HEADER_LEN, MARKER_LEN, MAX_PAYLOAD, Marker, Record, RecordRef, V1_HEADER_LEN,
    read_frame, read_v1_frame, seal, v1_plausible,
};
use crate::sealed::{self, BLOCK_ROWS, Block, BlockBuilder, Chunk, ChunkRecords, Texts};

/// A segment is closed and the next begun once it holds this many bytes, unless the store's
/// options say otherwise.
pub(crate) const SEGMENT_BYTES: u64 = 128 * 1024 * 1024;

/// The most records a segment holds: their numbers are 32-bit. (A segment reaches it only past
/// 190 GB; the log then begins the next.)
const MAX_RECORDS: u64 = 1 << 32;

/// Segments are read this many bytes at a time.
const READ_CHUNK: usize = 1 << 20;

/// How a segment's frames are laid out, told by its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// The first format, `<n>.seg`: no marker, no numbers.
    V1,
    /// `<n>-<marker in hex>.seg`: frames begin with the marker and carry their number.
    V2(Marker),
}

impl Format {
    /// The frame at the start of `bytes`, as this format frames records.
    fn read_frame(self, bytes: &[u8]) -> Frame<'_> {
        match self {
            Self::V1 => read_v1_frame(bytes),
            Self::V2(marker) => read_frame(bytes, &marker),
        }
    }
}

fn segment_name(segment: u64, format: Format) -> String {
    match format {
        Format::V1 => format!("{segment:020}.seg"),
        Format::V2(marker) => format!("{segment:020}-{:016x}.seg", u64::from_be_bytes(marker)),
    }
}

/// The name of a segment's sealed file (see [`sealed`]).
fn sealed_name(segment: u64, marker: Marker) -> String {
    format!("{segment:020}-{:016x}.sealed", u64::from_be_bytes(marker))
}

/// The sealed segment a file name is of, if it is one.
fn parse_sealed_name(name: &str) -> Option<(u64, Marker)> {
    match parse_stem(name.strip_suffix(".sealed")?)? {
        (segment, Format::V2(marker)) => Some((segment, marker)),
        (_, Format::V1) => None,
    }
}

/// The segment a file name is of, if it is one.
fn parse_segment_name(name: &str) -> Option<(u64, Format)> {
    parse_stem(name.strip_suffix(".seg")?)
}

/// Whether a file name is a segment's, its log file or its sealed file.
fn names_segment(name: &str) -> bool {
    parse_segment_name(name).is_some() || parse_sealed_name(name).is_some()
}

/// A segment's number and format from its file name without the suffix: `<n>` or
/// `<n>-<marker in hex>`.
fn parse_stem(stem: &str) -> Option<(u64, Format)> {
    let (number, format) = match stem.split_once('-') {
        None => (stem, Format::V1),
        Some((number, marker)) => {
            if marker.len() != 2 * MARKER_LEN || !marker.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let marker = u64::from_str_radix(marker, 16).ok()?.to_be_bytes();
            (number, Format::V2(marker))
        }
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((number.parse().ok()?, format))
}

/// Whether `path` names a segment file, of either format, or a sealed segment.
pub(crate) fn is_segment_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(names_segment)
}

/// Whether `path` names a file of an index's data: a segment (logged or sealed) or a
/// dictionary.
pub(crate) fn is_data_file(path: &Path) -> bool {
    is_segment_file(path) || crate::dictionary::is_dictionary_file(path)
}

/// Whether `path` names a copy of a segment's damaged bytes (`<segment>.damaged-…`).
pub(crate) fn is_quarantine_copy(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.split_once(".damaged-"))
        .is_some_and(|(segment, _)| names_segment(segment))
}

/// A segment as found in its folder: its log file, or its sealed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnDisk {
    Log(Format),
    Sealed(Marker),
}

/// The segments in `dir` (created if missing), in order. A segment both sealed and still in
/// its log file is one whose sealing was cut short after the sealed file was complete (it is
/// renamed into place only once synced): the log file is removed. Sealed files never renamed
/// into place are removed.
fn list_segments(dir: &Path) -> io::Result<Vec<(u64, OnDisk)>> {
    crate::files::create_dir(dir)?;
    let mut segments: Vec<(u64, OnDisk)> = Vec::new();
    let mut removed = false;
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((segment, format)) = parse_segment_name(name) {
            segments.push((segment, OnDisk::Log(format)));
        } else if let Some((segment, marker)) = parse_sealed_name(name) {
            segments.push((segment, OnDisk::Sealed(marker)));
        } else if name
            .strip_suffix(".tmp")
            .is_some_and(|sealed| parse_sealed_name(sealed).is_some())
        {
            fs::remove_file(entry.path())?;
            removed = true;
        }
    }
    // Sealed before log for the same number.
    segments.sort_unstable_by_key(|(segment, found)| (*segment, matches!(found, OnDisk::Log(_))));
    let mut kept: Vec<(u64, OnDisk)> = Vec::with_capacity(segments.len());
    for (segment, found) in segments {
        match (kept.last(), found) {
            (Some(&(last, OnDisk::Sealed(_))), OnDisk::Log(format)) if last == segment => {
                fs::remove_file(dir.join(segment_name(segment, format)))?;
                removed = true;
            }
            (Some(&(last, other)), _) if last == segment => {
                let name = |found: OnDisk| match found {
                    OnDisk::Log(format) => segment_name(segment, format),
                    OnDisk::Sealed(marker) => sealed_name(segment, marker),
                };
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} holds two segments numbered {segment}: {} and {}; move the one that does not belong out of the folder",
                        dir.display(),
                        name(other),
                        name(found)
                    ),
                ));
            }
            _ => kept.push((segment, found)),
        }
    }
    if removed {
        sync_dir(dir)?;
    }
    Ok(kept)
}

/// A fresh sync marker.
fn new_marker() -> io::Result<Marker> {
    let mut marker = [0; MARKER_LEN];
    getrandom::getrandom(&mut marker).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(marker)
}

/// Where a record is: its segment and byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The segment's number.
    pub segment: u64,
    /// The frame's byte offset in the segment.
    pub offset: u64,
}

/// Damage found in a segment when its log was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Damage {
    /// The segment file.
    pub path: PathBuf,
    /// Where the damaged bytes start.
    pub offset: u64,
    /// How many bytes are damaged (`0` where records are missing but no byte is wrong: a
    /// whole frame overwritten by a valid copy of a later one).
    pub bytes: u64,
    /// Whether the damage runs to the end of the segment (no record follows it there).
    pub to_end: bool,
    /// How many records were lost, when the records' numbers tell: they do where records
    /// follow the damage in a segment of the current format, not at a segment's end nor in
    /// the first format.
    pub records_lost: Option<u64>,
    /// What was done about it.
    pub kind: DamageKind,
    /// A copy of the damaged bytes, beside the segment (`None` when `bytes` is `0`).
    pub quarantine: Option<PathBuf>,
}

/// What was done about damage found on open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DamageKind {
    /// An incomplete frame at the very end of the last segment: a write cut short by a crash,
    /// never acknowledged. It was cut off, and appends go on where it began.
    TornTail,
    /// Bytes that are no valid frame, or repeat a record already read. They were skipped and
    /// left in place; the records after them were read.
    Skipped,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.kind {
            DamageKind::TornTail => write!(
                f,
                "{path}: cut a torn write of {} bytes at offset {}, the end of the log (it was never acknowledged)",
                self.bytes, self.offset
            )?,
            DamageKind::Skipped if self.bytes == 0 => {
                write!(
                    f,
                    "{path}: records are missing before offset {}",
                    self.offset
                )?;
            }
            DamageKind::Skipped if self.to_end => write!(
                f,
                "{path}: skipped {} damaged bytes at offset {}, to the end of the segment",
                self.bytes, self.offset
            )?,
            DamageKind::Skipped => write!(
                f,
                "{path}: skipped {} damaged bytes at offset {} and read on after them",
                self.bytes, self.offset
            )?,
        }
        match self.records_lost {
            Some(1) => f.write_str("; 1 record lost")?,
            Some(n) => write!(f, "; {n} records lost")?,
            None if self.kind == DamageKind::Skipped => {
                f.write_str("; how many records were lost is not known")?;
            }
            None => {}
        }
        if let Some(copy) = &self.quarantine {
            write!(f, "; a copy of the bytes is in {}", copy.display())?;
        }
        Ok(())
    }
}

pub(crate) struct Log {
    dir: PathBuf,
    segment_bytes: u64,
    /// Every segment's format, and a handle to read it with once opened.
    segments: Mutex<BTreeMap<u64, Segment>>,
    state: Mutex<State>,
    synced: Condvar,
    /// Chunks of sealed records read lately.
    chunks: Recent<ChunkRecords>,
    /// Held while a segment is sealed, so one segment is never sealed twice at once: the
    /// dictionary its blocks' fields are coded against.
    sealing: Mutex<Dictionary>,
    /// The dictionary read last to rebuild a record from its block's columns alone.
    read_dictionary: Mutex<Option<Arc<Dictionary>>>,
    /// The templates of sealed blocks read lately.
    texts: Recent<Texts>,
    /// Every template of the dictionaries, by dictionary id: read without waiting for
    /// sealing, which adds to them.
    templates: RwLock<FxHashMap<u64, Vec<Arc<str>>>>,
}

/// Parts of sealed files read lately (chunks of records, blocks' templates), most recent
/// first, for reads of neighbouring records. Each is known by its segment and its first
/// record's offset, which stay the same when retention writes the file again (its place in
/// the file may not).
struct Recent<T>(Mutex<VecDeque<(PartKey, Arc<T>)>>);

/// A part of a sealed file: its segment and its first record's offset.
type PartKey = (u64, u64);

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self(Mutex::new(VecDeque::new()))
    }
}

impl<T> Recent<T> {
    /// How many are kept.
    const KEPT: usize = 8;

    /// The part known by `key`, kept or else read with `read` (outside the lock) and kept.
    fn get_or_read(
        &self,
        key: PartKey,
        read: impl FnOnce() -> io::Result<T>,
    ) -> io::Result<Arc<T>> {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = kept.iter().position(|(k, _)| *k == key) {
            let entry = kept.remove(at).expect("found");
            let part = Arc::clone(&entry.1);
            kept.push_front(entry);
            return Ok(part);
        }
        drop(kept);
        let part = Arc::new(read()?);
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.push_front((key, Arc::clone(&part)));
        kept.truncate(Self::KEPT);
        Ok(part)
    }

    /// Forgets the parts of `segment` (its file was written again).
    fn forget(&self, segment: u64) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|((s, _), _)| *s != segment);
    }
}

/// Makes the templates of `dictionaries` readable without them, in `templates` (by
/// dictionary id): those added since they were last made so.
fn publish_templates<'d>(
    templates: &RwLock<FxHashMap<u64, Vec<Arc<str>>>>,
    dictionaries: impl Iterator<Item = &'d Dictionary>,
) {
    let mut templates = templates.write().unwrap_or_else(|e| e.into_inner());
    for dictionary in dictionaries {
        if let Some(dict) = dictionary.field(crate::template::FIELD) {
            let known = templates.entry(dictionary.id()).or_default();
            known.extend(dict.values_from(known.len()).iter().cloned());
        }
    }
}

/// A record's text as stored: whole, or a template (see [`crate::template`]), the order its
/// pairs were written in and the crc32 of the text, to be rebuilt with the record's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Text {
    Whole(Record),
    Template {
        template: Arc<str>,
        order: u32,
        crc: u32,
    },
}

/// Where a sealed record's text is.
enum SealedText {
    Whole(Record),
    Template {
        span: BlockSpan,
        texts: Arc<Texts>,
        code: u32,
        order: u32,
        crc: u32,
    },
}

struct Segment {
    format: Format,
    reader: Option<Arc<File>>,
    /// Set once the segment is sealed: its sealed file replaces its log file.
    sealed: Option<Arc<Sealed>>,
}

/// A sealed segment's file and where its records are.
struct Sealed {
    file: File,
    /// The chunks of its valid blocks, in order.
    chunks: Vec<Chunk>,
    /// Its valid blocks, in order.
    blocks: Vec<BlockSpan>,
}

/// A valid block of a sealed file: where it is, which records it holds and over what time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockSpan {
    /// Where its header starts in the sealed file, and its bytes (header and body).
    pub(crate) pos: u64,
    pub(crate) len: u64,
    /// Its first and last record's offsets in the segment's log file.
    pub(crate) first: u64,
    pub(crate) last: u64,
    pub(crate) rows: u64,
    /// Its newest event's time, in microseconds since the epoch.
    pub(crate) latest: i64,
    /// The id of the dictionary its fields are coded against, if any.
    pub(crate) dictionary: Option<u64>,
}

impl BlockSpan {
    /// The block at `pos` of a sealed file, by its header, whose newest event is at `latest`,
    /// coded against the dictionary `dictionary`.
    fn of(pos: u64, header: &sealed::Header, latest: i64, dictionary: Option<u64>) -> Self {
        Self {
            pos,
            len: (sealed::HEADER_LEN + header.len) as u64,
            first: header.first,
            last: header.last,
            rows: header.rows as u64,
            latest,
            dictionary,
        }
    }
}

/// Blocks deleted from a log's sealed files (see [`Log::drop_blocks`]): `(segment, block)`.
pub(crate) type Dropped = Vec<(u64, BlockSpan)>;

/// The newest of some times (`i64::MIN` for none).
pub(crate) fn latest_time(times: &[i64]) -> i64 {
    times.iter().copied().max().unwrap_or(i64::MIN)
}

/// What sealing a segment did.
#[derive(Debug)]
pub(crate) struct Sealing {
    /// The segment's log file, now removed.
    pub(crate) path: PathBuf,
    pub(crate) records: u64,
    /// The bytes of its log file, and of its sealed file.
    pub(crate) before: u64,
    pub(crate) after: u64,
    pub(crate) took: Duration,
    /// Damage found in the log file while reading it (each already copied beside it).
    pub(crate) damage: Vec<Damage>,
}

/// Given a sealed block while a log is opened, with the dictionary its fields are coded
/// against (`None` for a block whose fields have values of their own): `true` if it took the
/// block whole, `false` to be given its records one by one instead.
pub(crate) type BlockVisit<'a> = dyn FnMut(u64, &Block, Option<&Dictionary>) -> bool + 'a;

/// A [`BlockVisit`] of a log opened in parts, also told the part.
pub(crate) type PartBlockVisit<'a> =
    dyn Fn(Part, u64, &Block, Option<&Dictionary>) -> bool + Sync + 'a;

/// The part of a log opened in parts that a block is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part {
    /// Which part (from `0`).
    pub(crate) number: usize,
    /// The rows to make room for in the part's index: its sealed blocks' rows, as their
    /// headers announce them, and for the first part every part's, so that the others are
    /// joined to it without growing it.
    pub(crate) rows: usize,
}

struct State {
    /// The segment being appended to, its marker, length and next record number.
    file: Arc<File>,
    segment: u64,
    marker: Marker,
    len: u64,
    next_seq: u64,
    /// Appends written so far, and how many of them are known durable.
    written: u64,
    durable: u64,
    syncing: bool,
    /// Set when a sync failed: nothing more can be acknowledged.
    poisoned: Option<String>,
    /// When the last append was written.
    last_write: Instant,
    /// The newest event's time in the segment (`None` while it holds none).
    latest: Option<i64>,
}

/// Makes a directory entry (a new or renamed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// What replaying a segment found.
struct Replayed {
    /// Its length once read (after a torn tail was cut).
    len: u64,
    /// The number the next record appended to it would take.
    next_seq: u64,
    /// Whether appends may go on at its end: it is of the current format and does not end in
    /// damage.
    appendable: bool,
    damage: Vec<Damage>,
    /// The sealed file, for a sealed segment.
    sealed: Option<Sealed>,
    /// Its newest event's time, for a log file (`None` if it holds none).
    latest: Option<i64>,
}

impl Log {
    /// Opens (or creates) the log in `dir`, replaying every record into `visit` in order,
    /// skipping damage and cutting a torn tail (see the module's docs). A segment is closed
    /// once it holds `segment_bytes`.
    pub(crate) fn open(
        dir: &Path,
        segment_bytes: u64,
        visit: &mut dyn FnMut(Location, RecordRef<'_>),
        block: &mut BlockVisit<'_>,
    ) -> io::Result<(Self, Vec<Damage>)> {
        let segments = list_segments(dir)?;
        let (dictionaries, damage) = Dictionaries::open(dir)?;
        let last = segments.last().map(|(segment, _)| *segment);
        let replayed = segments
            .iter()
            .map(|&(segment, found)| {
                let last = Some(segment) == last;
                let replayed =
                    replay(dir, segment, found, None, last, &dictionaries, visit, block)?;
                Ok((segment, replayed))
            })
            .collect::<io::Result<Vec<_>>>()?;
        Self::resume(dir, segment_bytes, segments, replayed, dictionaries, damage)
    }

    /// Like [`open`](Log::open), replaying the segments in `parts` runs of consecutive
    /// segments, each on a thread of its own: `visit` is told the run (from `0`) of each
    /// record, and within a run gets the records in order.
    pub(crate) fn open_parts(
        dir: &Path,
        segment_bytes: u64,
        parts: usize,
        visit: &(dyn Fn(usize, Location, RecordRef<'_>) + Sync),
        block: &PartBlockVisit<'_>,
    ) -> io::Result<(Self, Vec<Damage>)> {
        let segments = list_segments(dir)?;
        let (opened, damage) = Dictionaries::open(dir)?;
        let dictionaries = &opened;
        let last = segments.last().map(|(segment, _)| *segment);
        let per_part = segments.len().div_ceil(parts.max(1)).max(1);
        // Each sealed file's header chain, read once: it sizes the index, then leads the
        // file's replay.
        let runs: Vec<Vec<(u64, OnDisk, Option<Chain>)>> = segments
            .chunks(per_part)
            .map(|run| {
                run.iter()
                    .map(|&(segment, found)| {
                        let chain = match found {
                            OnDisk::Sealed(marker) => Some(sealed_chain(dir, segment, marker)),
                            OnDisk::Log(_) => None,
                        };
                        (segment, found, chain)
                    })
                    .collect()
            })
            .collect();
        let rows: Vec<usize> = runs
            .iter()
            .map(|run| {
                run.iter()
                    .flat_map(|(_, _, chain)| chain.iter().flatten())
                    .map(|(_, header)| header.rows)
                    .sum()
            })
            .collect();
        let all: usize = rows.iter().sum();
        let replayed: Vec<io::Result<Vec<(u64, Replayed)>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = runs
                .into_iter()
                .enumerate()
                .map(|(number, run)| {
                    let part = Part {
                        number,
                        rows: if number == 0 { all } else { rows[number] },
                    };
                    scope.spawn(move || {
                        run.into_iter()
                            .map(|(segment, found, chain)| {
                                let replayed = replay(
                                    dir,
                                    segment,
                                    found,
                                    chain,
                                    Some(segment) == last,
                                    dictionaries,
                                    &mut |at, record| visit(part.number, at, record),
                                    &mut |segment, sealed, dictionary| {
                                        block(part, segment, sealed, dictionary)
                                    },
                                )?;
                                Ok((segment, replayed))
                            })
                            .collect::<io::Result<Vec<_>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let mut all = Vec::with_capacity(segments.len());
        for run in replayed {
            all.extend(run?);
        }
        Self::resume(dir, segment_bytes, segments, all, opened, damage)
    }

    /// The log, ready to append after its last segment, or in a new one when there is none,
    /// or the last is of the first format or ends in damage.
    /// Also gathers what replaying each segment found: the damage, returned after `damage`
    /// (found in the dictionaries), and the sealed files.
    fn resume(
        dir: &Path,
        segment_bytes: u64,
        segments: Vec<(u64, OnDisk)>,
        replayed: Vec<(u64, Replayed)>,
        dictionaries: Dictionaries,
        mut damage: Vec<Damage>,
    ) -> io::Result<(Self, Vec<Damage>)> {
        let mut tail = None;
        let mut sealed = BTreeMap::new();
        for (segment, mut replayed) in replayed {
            damage.append(&mut replayed.damage);
            if let Some(file) = replayed.sealed.take() {
                sealed.insert(segment, file);
            }
            tail = Some(replayed);
        }
        let mut map: BTreeMap<u64, Segment> = segments
            .iter()
            .map(|&(segment, found)| {
                let format = match found {
                    OnDisk::Log(format) => format,
                    OnDisk::Sealed(marker) => Format::V2(marker),
                };
                let sealed = sealed.remove(&segment).map(Arc::new);
                (
                    segment,
                    Segment {
                        format,
                        reader: None,
                        sealed,
                    },
                )
            })
            .collect();
        let current = match (segments.last(), tail) {
            (Some(&(segment, OnDisk::Log(Format::V2(marker)))), Some(tail)) if tail.appendable => {
                let file = OpenOptions::new()
                    .append(true)
                    .open(dir.join(segment_name(segment, Format::V2(marker))))?;
                (file, segment, marker, tail.len, tail.next_seq, tail.latest)
            }
            (last, _) => {
                let segment = last.map_or(1, |(segment, _)| segment + 1);
                let (file, marker) = create_segment(dir, segment)?;
                map.insert(
                    segment,
                    Segment {
                        format: Format::V2(marker),
                        reader: None,
                        sealed: None,
                    },
                );
                (file, segment, marker, 0, 0, None)
            }
        };
        let (file, segment, marker, len, next_seq, latest) = current;
        // Dictionaries no block is coded against any more go (after a crash during retention).
        let used = used_dictionaries(&map);
        let current = dictionaries.current_id();
        crate::dictionary::remove_unused(dir, current, &used)?;
        let templates = RwLock::new(FxHashMap::default());
        publish_templates(
            &templates,
            dictionaries
                .iter()
                .filter(|d| d.id() == current || used.contains(&d.id())),
        );
        let log = Self {
            dir: dir.to_owned(),
            segment_bytes,
            segments: Mutex::new(map),
            state: Mutex::new(State {
                file: Arc::new(file),
                segment,
                marker,
                len,
                next_seq,
                written: 0,
                durable: 0,
                syncing: false,
                poisoned: None,
                last_write: Instant::now(),
                latest,
            }),
            synced: Condvar::new(),
            chunks: Recent::default(),
            texts: Recent::default(),
            templates,
            read_dictionary: Mutex::new(None),
            // Sealing keeps only the dictionary it adds to in memory.
            sealing: Mutex::new(dictionaries.into_current()),
        };
        Ok((log, damage))
    }

    /// The bytes its segment and dictionary files hold on disk (copies of damaged bytes not
    /// counted).
    pub(crate) fn disk_bytes(&self) -> u64 {
        fs::read_dir(&self.dir).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| is_data_file(&e.path()))
                .filter_map(|e| e.metadata().ok())
                .filter(fs::Metadata::is_file)
                .map(|m| m.len())
                .sum()
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state consistent (every field is updated
        // after the I/O it describes), so a poisoned mutex is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends records framed by [`Record::encode`] (`frames`, whose frame lengths are `lens`;
    /// `latest` the newest of their times) and returns once they are durable, with each
    /// record's location. The frames are sealed here with their segment's marker and their
    /// numbers.
    pub(crate) fn append(
        &self,
        frames: &mut [u8],
        lens: &[usize],
        latest: i64,
    ) -> io::Result<Vec<Location>> {
        let mut state = self.lock();
        if let Some(reason) = &state.poisoned {
            return Err(io::Error::other(format!(
                "the log of {} cannot take writes since a sync failed ({reason}); restart to recover",
                self.dir.display()
            )));
        }
        let count = lens.len() as u64;
        if state.len > 0
            && (state.len + frames.len() as u64 > self.segment_bytes
                || state.next_seq + count > MAX_RECORDS)
        {
            self.roll(&mut state)?;
        }
        if state.next_seq + count > MAX_RECORDS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{count} records in one write are more than a segment holds; write fewer at a time"
                ),
            ));
        }
        let start = state.len;
        let mut offset = 0;
        for (i, len) in lens.iter().enumerate() {
            let seq = u32::try_from(state.next_seq + i as u64).expect("bounded by MAX_RECORDS");
            seal(&mut frames[offset..offset + len], &state.marker, seq);
            offset += len;
        }
        if let Err(err) = (&*state.file).write_all(frames) {
            // Put the file back at the last frame boundary, so later records stay readable.
            if state.file.set_len(start).is_err() {
                state.poisoned = Some(err.to_string());
            }
            return Err(err);
        }
        state.len += frames.len() as u64;
        state.next_seq += count;
        state.written += 1;
        state.last_write = Instant::now();
        state.latest = state.latest.max(Some(latest));
        let mine = state.written;

        let mut offset = start;
        let locations = lens
            .iter()
            .map(|len| {
                let at = Location {
                    segment: state.segment,
                    offset,
                };
                offset += *len as u64;
                at
            })
            .collect();

        loop {
            if let Some(reason) = &state.poisoned {
                return Err(io::Error::other(format!("sync failed: {reason}")));
            }
            if state.durable >= mine {
                return Ok(locations);
            }
            if state.syncing {
                state = self.synced.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            // Lead a sync for everything written so far.
            state.syncing = true;
            let target = state.written;
            let file = Arc::clone(&state.file);
            drop(state);
            let result = file.sync_data();
            state = self.lock();
            state.syncing = false;
            match result {
                Ok(()) => state.durable = state.durable.max(target),
                Err(err) => state.poisoned = Some(err.to_string()),
            }
            self.synced.notify_all();
        }
    }

    /// Closes the current segment (durably) and starts the next.
    fn roll(&self, state: &mut State) -> io::Result<()> {
        state.file.sync_data()?;
        state.durable = state.written;
        let next = state.segment + 1;
        let (file, marker) = create_segment(&self.dir, next)?;
        self.segments
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                next,
                Segment {
                    format: Format::V2(marker),
                    reader: None,
                    sealed: None,
                },
            );
        state.file = Arc::new(file);
        state.segment = next;
        state.marker = marker;
        state.len = 0;
        state.next_seq = 0;
        state.latest = None;
        Ok(())
    }

    /// Reads the record at `at` back from disk.
    pub(crate) fn read(&self, at: Location) -> io::Result<Record> {
        match self.reader(at.segment)? {
            Reader::Log(format, file) => self.read_frame(at, format, &file),
            Reader::Sealed(sealed) => self.read_sealed(at, &sealed),
        }
    }

    /// Reads the record at `at` from its segment's log file.
    fn read_frame(&self, at: Location, format: Format, file: &File) -> io::Result<Record> {
        let header_len = match format {
            Format::V1 => V1_HEADER_LEN,
            Format::V2(_) => HEADER_LEN,
        };
        let mut frame = vec![0; header_len];
        read_exact_at(file, &mut frame, at.offset)?;
        let len = match format {
            Format::V1 => &frame[..4],
            Format::V2(_) => &frame[8..12],
        };
        let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
        if len > MAX_PAYLOAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt frame"));
        }
        frame.resize(header_len + len, 0);
        read_exact_at(
            file,
            &mut frame[header_len..],
            at.offset + header_len as u64,
        )?;
        match format.read_frame(&frame) {
            Frame::Record { record, .. } => Ok(record.to_record()),
            _ => Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt frame")),
        }
    }

    /// A segment's format and a handle to read it with, kept open for the next reads.
    fn reader(&self, segment: u64) -> io::Result<Reader> {
        let mut segments = self.segments.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = segments.get_mut(&segment) else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no segment {segment} in {}", self.dir.display()),
            ));
        };
        if let Some(sealed) = &entry.sealed {
            return Ok(Reader::Sealed(Arc::clone(sealed)));
        }
        if let Some(file) = &entry.reader {
            return Ok(Reader::Log(entry.format, Arc::clone(file)));
        }
        let file = Arc::new(File::open(
            self.dir.join(segment_name(segment, entry.format)),
        )?);
        entry.reader = Some(Arc::clone(&file));
        Ok(Reader::Log(entry.format, file))
    }

    /// Reads the record at `at` from its segment's sealed file: from its chunk, or rebuilt
    /// from its block's columns.
    fn read_sealed(&self, at: Location, sealed: &Sealed) -> io::Result<Record> {
        let (span, texts) = match self.sealed_text(at, sealed)? {
            SealedText::Whole(record) => return Ok(record),
            SealedText::Template { span, texts, .. } => (span, texts),
        };
        let body = self.block_body(at.segment, &span, sealed)?;
        let mut block = Block::default();
        block
            .decode_into(&body, &mut Vec::new())
            .map_err(|e| self.damaged_block(at.segment, &e))?;
        let (id, entries) = block
            .dictionary
            .ok_or_else(|| self.no_dictionary(at.segment))?;
        let dictionary = self.dictionary(id, entries)?;
        if !dictionary.holds(&block) {
            return Err(self.no_dictionary(at.segment));
        }
        block
            .rebuilt_at(at.offset, &texts, &dictionary)
            .ok_or_else(|| self.missing(at))?
    }

    /// The dictionary of id `id`, holding at least `entries` values, read from its files
    /// (not the one sealing holds, so that a read never waits for sealing) and kept for the
    /// next reads.
    fn dictionary(&self, id: u64, entries: u64) -> io::Result<Arc<Dictionary>> {
        let mut kept = self
            .read_dictionary
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(dictionary) = kept
            .as_ref()
            .filter(|d| d.id() == id && d.entries() >= entries)
        {
            return Ok(Arc::clone(dictionary));
        }
        let dictionary = crate::dictionary::read_from(&self.dir, id)?
            .filter(|d| d.entries() >= entries)
            .map(Arc::new)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "the dictionary {id:016x} in {} is missing or holds too few values; restart the engine to set the blocks coded against it aside",
                        self.dir.display()
                    ),
                )
            })?;
        *kept = Some(Arc::clone(&dictionary));
        Ok(dictionary)
    }

    /// The text of the record at `at`: the record whole, or its template and order, to be
    /// rebuilt with the values of its fields the caller holds (see [`crate::template`]).
    pub(crate) fn read_text(&self, at: Location) -> io::Result<Text> {
        let sealed = match self.reader(at.segment)? {
            Reader::Sealed(sealed) => sealed,
            Reader::Log(format, file) => {
                return self.read_frame(at, format, &file).map(Text::Whole);
            }
        };
        match self.sealed_text(at, &sealed)? {
            SealedText::Whole(record) => Ok(Text::Whole(record)),
            SealedText::Template {
                span,
                code,
                order,
                crc,
                ..
            } => {
                let templates = self.templates.read().unwrap_or_else(|e| e.into_inner());
                let template = span
                    .dictionary
                    .and_then(|id| templates.get(&id))
                    .and_then(|values| values.get((code as usize).checked_sub(1)?))
                    .ok_or_else(|| self.no_dictionary(at.segment))?;
                Ok(Text::Template {
                    template: Arc::clone(template),
                    order,
                    crc,
                })
            }
        }
    }

    /// The record at `at` of a sealed segment if it is kept whole, else its block, the block's
    /// templates, and its template's code and order.
    fn sealed_text(&self, at: Location, sealed: &Sealed) -> io::Result<SealedText> {
        let i = sealed
            .chunks
            .partition_point(|chunk| chunk.first <= at.offset)
            .checked_sub(1);
        if let Some(i) = i {
            let records = self.chunk(at.segment, i, sealed)?;
            if let Some(record) = records.at(at.offset) {
                return Ok(SealedText::Whole(record?.to_record()));
            }
        }
        let span = *sealed
            .blocks
            .iter()
            .find(|block| block.first <= at.offset && at.offset <= block.last)
            .ok_or_else(|| self.missing(at))?;
        let texts = self.texts(at.segment, &span, sealed)?;
        let (code, order, crc) = texts.find(at.offset).ok_or_else(|| self.missing(at))?;
        Ok(SealedText::Template {
            span,
            texts,
            code,
            order,
            crc,
        })
    }

    fn missing(&self, at: Location) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "no record at offset {} of sealed segment {} in {}",
                at.offset,
                at.segment,
                self.dir.display()
            ),
        )
    }

    fn no_dictionary(&self, segment: u64) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "the dictionary a block of sealed segment {segment} in {} is coded against is missing; restart the engine to set the block aside",
                self.dir.display()
            ),
        )
    }

    fn damaged_block(&self, segment: u64, err: &io::Error) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a block of sealed segment {segment} in {}: {err}; restart the engine to set it aside",
                self.dir.display()
            ),
        )
    }

    /// A sealed block's templates, from the cache or from the sealed file.
    fn texts(&self, segment: u64, span: &BlockSpan, sealed: &Sealed) -> io::Result<Arc<Texts>> {
        self.texts.get_or_read((segment, span.first), || {
            let body = self.block_body(segment, span, sealed)?;
            Texts::decode(&body).map_err(|e| self.damaged_block(segment, &e))
        })
    }

    /// A sealed block's body, read and checked.
    fn block_body(&self, segment: u64, span: &BlockSpan, sealed: &Sealed) -> io::Result<Vec<u8>> {
        let mut bytes = vec![0; span.len as usize];
        read_exact_at(&sealed.file, &mut bytes, span.pos)?;
        let format = self
            .segments
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&segment)
            .map(|entry| entry.format);
        let Some(Format::V2(marker)) = format else {
            return Err(self.missing(Location {
                segment,
                offset: span.first,
            }));
        };
        let header = sealed::read_header(&bytes, &marker)
            .filter(|header| sealed::body_ok(&bytes, header))
            .ok_or_else(|| {
                self.damaged_block(segment, &io::Error::other("its checksum does not match"))
            })?;
        bytes.truncate(sealed::HEADER_LEN + header.len);
        bytes.drain(..sealed::HEADER_LEN);
        Ok(bytes)
    }

    /// A chunk's records, from the cache or from the sealed file.
    fn chunk(&self, segment: u64, i: usize, sealed: &Sealed) -> io::Result<Arc<ChunkRecords>> {
        let chunk = &sealed.chunks[i];
        self.chunks.get_or_read((segment, chunk.first), || {
            let mut bytes = vec![0; chunk.len as usize];
            read_exact_at(&sealed.file, &mut bytes, chunk.pos)?;
            ChunkRecords::read(chunk, &bytes).map_err(|err| {
                io::Error::new(
                    err.kind(),
                    format!(
                        "sealed segment {segment} in {}: {err}; restart the engine to set the damaged block aside",
                        self.dir.display()
                    ),
                )
            })
        })
    }

    /// Closes the segment being written and begins the next, when nothing was written to it
    /// for `idle` and it holds at least `min_bytes`, or anything when its newest event is older
    /// than `expired` (microseconds since the epoch): so the segment can be sealed (and its
    /// events dropped by retention).
    pub(crate) fn roll_if_idle(
        &self,
        idle: Duration,
        min_bytes: u64,
        expired: i64,
    ) -> io::Result<bool> {
        let mut state = self.lock();
        let enough = state.len >= min_bytes.max(1) || state.latest.is_some_and(|t| t < expired);
        if state.len == 0
            || !enough
            || state.last_write.elapsed() < idle
            || state.syncing
            || state.poisoned.is_some()
        {
            return Ok(false);
        }
        self.roll(&mut state)?;
        Ok(true)
    }

    /// Seals the oldest closed segment not sealed yet (see [`sealed`]): reads its records,
    /// writes them as blocks to a new file (synced, then renamed into place), then reads it
    /// from there and removes its log file. `None` when every closed segment is sealed.
    /// Fields are extracted as `extractor` says for each sourcetype. Gives up, changing
    /// nothing, once `stop` is set.
    pub(crate) fn seal_next(
        &self,
        extractor: &dyn Fn(&str) -> Extractor,
        stop: &AtomicBool,
    ) -> io::Result<Option<Sealing>> {
        let mut dictionary = self.sealing.lock().unwrap_or_else(|e| e.into_inner());
        let dictionary = &mut *dictionary;
        dictionary.roll_if_full()?;
        let started = Instant::now();
        let current = self.lock().segment;
        let next = self
            .segments
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(segment, entry)| **segment < current && entry.sealed.is_none())
            .map(|(segment, entry)| (*segment, entry.format));
        let Some((segment, format)) = next else {
            return Ok(None);
        };
        let marker = match format {
            Format::V2(marker) => marker,
            Format::V1 => new_marker()?,
        };
        let path = self.dir.join(segment_name(segment, format));
        let before = fs::metadata(&path)?.len();
        let mut out = Vec::new();
        let mut chunks = Vec::new();
        let mut builder = BlockBuilder::default();
        let mut extractors: HashMap<String, Extractor> = HashMap::new();
        let mut failed = None;
        let mut records = 0u64;
        let mut blocks = Vec::new();
        let mut finish = |builder: &mut BlockBuilder,
                          out: &mut Vec<u8>,
                          dictionary: &Dictionary|
         -> io::Result<()> {
            let latest = builder.latest_time();
            let bytes = builder.finish(&marker, dictionary)?;
            let pos = out.len() as u64;
            let body_at = pos + sealed::HEADER_LEN as u64;
            chunks.extend(sealed::chunks(&bytes[sealed::HEADER_LEN..], body_at)?);
            let header = sealed::read_header(&bytes, &marker).ok_or_else(|| {
                io::Error::other("a sealed block's header does not read back as written")
            })?;
            blocks.push(BlockSpan::of(pos, &header, latest, Some(dictionary.id())));
            out.extend_from_slice(&bytes);
            Ok(())
        };
        let replayed = replay_segment(&self.dir, segment, format, false, &mut |at, record| {
            if failed.is_some() || stop.load(Ordering::Relaxed) {
                return;
            }
            let extractor = cached_extractor(&mut extractors, record.sourcetype, || {
                extractor(record.sourcetype)
            });
            records += 1;
            let pushed = builder.push(at.offset, &record, extractor, dictionary);
            if let Err(err) = pushed.and_then(|()| {
                if builder.rows() == BLOCK_ROWS {
                    finish(&mut builder, &mut out, dictionary)
                } else {
                    Ok(())
                }
            }) {
                failed = Some(err);
            }
        })?;
        if builder.rows() > 0 && failed.is_none() {
            finish(&mut builder, &mut out, dictionary)?;
        }
        if let Some(err) = failed {
            return Err(err);
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        // The values the blocks' codes stand for are durable before the blocks are.
        dictionary.write(&self.dir)?;
        // Its templates readable before any record is read from the sealed file.
        publish_templates(&self.templates, std::iter::once(&*dictionary));
        let name = sealed_name(segment, marker);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let mut file = crate::files::open_private(
            OpenOptions::new().write(true).create(true).truncate(true),
            &tmp,
        )?;
        file.write_all(&out)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, self.dir.join(&name))?;
        sync_dir(&self.dir)?;
        let file = File::open(self.dir.join(&name))?;
        if let Some(entry) = self
            .segments
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&segment)
        {
            entry.sealed = Some(Arc::new(Sealed {
                file,
                chunks,
                blocks,
            }));
            entry.format = Format::V2(marker);
            // Reads under way keep their handle to the log file until they finish.
            entry.reader = None;
        }
        fs::remove_file(&path)?;
        sync_dir(&self.dir)?;
        Ok(Some(Sealing {
            path,
            records,
            before,
            after: out.len() as u64,
            took: started.elapsed(),
            damage: replayed.damage,
        }))
    }
}

/// Blocks being deleted from a log's sealed files: each file that loses blocks written again
/// without them (a temporary file, synced), or removed when it loses them all; nothing is in
/// place until [`commit`](Retiring::commit). Holds the log's sealing lock meanwhile.
pub(crate) struct Retiring<'l> {
    log: &'l Log,
    sealing: MutexGuard<'l, Dictionary>,
    files: Vec<Rewrite>,
}

/// One sealed file losing blocks.
struct Rewrite {
    segment: u64,
    path: PathBuf,
    /// The file written again, or `None` when no block is left and the file goes.
    tmp: Option<PathBuf>,
    chunks: Vec<Chunk>,
    /// The blocks it keeps, where they are in the new file.
    kept: Vec<BlockSpan>,
    gone: Vec<BlockSpan>,
}

/// The ids of the dictionaries the blocks of sealed segments are coded against.
fn used_dictionaries(segments: &BTreeMap<u64, Segment>) -> HashSet<u64> {
    segments
        .values()
        .filter_map(|entry| entry.sealed.as_ref())
        .flat_map(|sealed| sealed.blocks.iter().filter_map(|block| block.dictionary))
        .collect()
}

impl Log {
    /// Every valid block of the sealed segments, in the order written: `(segment, block)`.
    pub(crate) fn sealed_blocks(&self) -> Vec<(u64, BlockSpan)> {
        let segments = self.segments.lock().unwrap_or_else(|e| e.into_inner());
        segments
            .iter()
            .filter_map(|(&segment, entry)| Some((segment, entry.sealed.as_ref()?)))
            .flat_map(|(segment, sealed)| sealed.blocks.iter().map(move |b| (segment, *b)))
            .collect()
    }

    /// Begins deleting whole sealed blocks (`(segment, block)` as [`sealed_blocks`] gave them;
    /// blocks no longer there are passed over): writes each file that loses blocks again
    /// without them, every other byte kept as it was, to a temporary file, synced. Nothing
    /// changes until the result is committed; dropped, it removes its temporary files.
    ///
    /// [`sealed_blocks`]: Log::sealed_blocks
    pub(crate) fn drop_blocks(&self, gone: &[(u64, BlockSpan)]) -> io::Result<Retiring<'_>> {
        let sealing = self.sealing.lock().unwrap_or_else(|e| e.into_inner());
        let mut retiring = Retiring {
            log: self,
            sealing,
            files: Vec::new(),
        };
        let mut by_segment: BTreeMap<u64, Vec<BlockSpan>> = BTreeMap::new();
        for &(segment, block) in gone {
            by_segment.entry(segment).or_default().push(block);
        }
        for (segment, gone) in by_segment {
            let found = {
                let segments = self.segments.lock().unwrap_or_else(|e| e.into_inner());
                segments.get(&segment).and_then(|entry| match entry.format {
                    Format::V2(marker) => Some((marker, Arc::clone(entry.sealed.as_ref()?))),
                    Format::V1 => None,
                })
            };
            let Some((marker, sealed)) = found else {
                continue;
            };
            let gone: Vec<BlockSpan> = sealed
                .blocks
                .iter()
                .filter(|b| gone.contains(b))
                .copied()
                .collect();
            if gone.is_empty() {
                continue;
            }
            let path = self.dir.join(sealed_name(segment, marker));
            let mut rewrite = Rewrite {
                segment,
                path,
                tmp: None,
                chunks: Vec::new(),
                kept: Vec::new(),
                gone,
            };
            if rewrite.gone.len() < sealed.blocks.len() {
                rewrite.write(&sealed)?;
            }
            retiring.files.push(rewrite);
        }
        Ok(retiring)
    }
}

impl Rewrite {
    /// Writes the sealed file again without the blocks that go, to a temporary file, synced.
    fn write(&mut self, sealed: &Sealed) -> io::Result<()> {
        let len = sealed.file.metadata()?.len();
        let mut old = vec![0; usize::try_from(len).map_err(io::Error::other)?];
        read_exact_at(&sealed.file, &mut old, 0)?;
        let mut out = Vec::with_capacity(old.len());
        let mut at = 0u64;
        for block in &sealed.blocks {
            if self.gone.contains(block) {
                out.extend_from_slice(&old[at as usize..block.pos as usize]);
                at = block.pos + block.len;
                continue;
            }
            // Damage between blocks is kept where it was found.
            out.extend_from_slice(&old[at as usize..block.pos as usize]);
            let pos = out.len() as u64;
            out.extend_from_slice(&old[block.pos as usize..(block.pos + block.len) as usize]);
            at = block.pos + block.len;
            let body = &out[(pos as usize + sealed::HEADER_LEN)..];
            self.chunks
                .extend(sealed::chunks(body, pos + sealed::HEADER_LEN as u64)?);
            self.kept.push(BlockSpan { pos, ..*block });
        }
        out.extend_from_slice(&old[at as usize..]);
        let tmp = self.path.with_extension("sealed.tmp");
        let mut file = crate::files::open_private(
            OpenOptions::new().write(true).create(true).truncate(true),
            &tmp,
        )?;
        self.tmp = Some(tmp);
        file.write_all(&out)?;
        file.sync_all()
    }
}

impl Retiring<'_> {
    /// Puts each rewritten file in place of its old one and removes the files that lost every
    /// block, then syncs the folder. Returns the blocks now gone, and the error that stopped
    /// it if one did (the blocks of the files done before it are gone all the same).
    pub(crate) fn commit(mut self) -> (Dropped, Option<io::Error>) {
        let mut dropped = Vec::new();
        let files = std::mem::take(&mut self.files);
        let mut failed = None;
        for rewrite in files {
            if failed.is_some() {
                if let Some(tmp) = &rewrite.tmp {
                    let _ = fs::remove_file(tmp);
                }
                continue;
            }
            match self.log.put_in_place(&rewrite) {
                Ok(()) => dropped.extend(rewrite.gone.iter().map(|b| (rewrite.segment, *b))),
                Err(err) => failed = Some(err),
            }
        }
        if !dropped.is_empty()
            && let Err(err) = sync_dir(&self.log.dir)
        {
            failed.get_or_insert(err);
        }
        // The dictionaries only deleted blocks were coded against go with them.
        if !dropped.is_empty() {
            let used =
                used_dictionaries(&self.log.segments.lock().unwrap_or_else(|e| e.into_inner()));
            let current = self.sealing.id();
            if let Err(err) = crate::dictionary::remove_unused(&self.log.dir, current, &used) {
                failed.get_or_insert(err);
            }
            self.log
                .templates
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|id, _| *id == current || used.contains(id));
        }
        (dropped, failed)
    }
}

impl Drop for Retiring<'_> {
    fn drop(&mut self) {
        for rewrite in &self.files {
            if let Some(tmp) = &rewrite.tmp {
                let _ = fs::remove_file(tmp);
            }
        }
    }
}

impl Log {
    /// Puts a rewritten sealed file in place (or removes one that lost every block), and reads
    /// the segment from there on.
    fn put_in_place(&self, rewrite: &Rewrite) -> io::Result<()> {
        let file = match &rewrite.tmp {
            Some(tmp) => {
                fs::rename(tmp, &rewrite.path)?;
                Some(File::open(&rewrite.path)?)
            }
            None => {
                fs::remove_file(&rewrite.path)?;
                None
            }
        };
        let mut segments = self.segments.lock().unwrap_or_else(|e| e.into_inner());
        match file {
            Some(file) => {
                if let Some(entry) = segments.get_mut(&rewrite.segment) {
                    // Reads under way keep their handle to the old file until they finish.
                    entry.sealed = Some(Arc::new(Sealed {
                        file,
                        chunks: rewrite.chunks.clone(),
                        blocks: rewrite.kept.clone(),
                    }));
                }
            }
            None => {
                segments.remove(&rewrite.segment);
            }
        }
        drop(segments);
        self.chunks.forget(rewrite.segment);
        self.texts.forget(rewrite.segment);
        Ok(())
    }
}

/// How a segment is read.
enum Reader {
    Log(Format, Arc<File>),
    Sealed(Arc<Sealed>),
}

/// Creates segment `segment` of the current format with a fresh marker, durably.
fn create_segment(dir: &Path, segment: u64) -> io::Result<(File, Marker)> {
    let marker = new_marker()?;
    let file = crate::files::open_private(
        OpenOptions::new().create_new(true).append(true),
        &dir.join(segment_name(segment, Format::V2(marker))),
    )?;
    sync_dir(dir)?;
    Ok((file, marker))
}

/// The blocks of a sealed file as their headers give them: each block's place and header.
type Chain = Vec<(u64, sealed::Header)>;

/// The header chain of a sealed segment's file (see [`header_chain`]), empty when the file
/// cannot be read (its replay reports why): the records its headers announce are what to make
/// room for before reading it.
fn sealed_chain(dir: &Path, segment: u64, marker: Marker) -> Chain {
    let Ok(file) = File::open(dir.join(sealed_name(segment, marker))) else {
        return Chain::new();
    };
    let file_len = file.metadata().map_or(0, |m| m.len());
    header_chain(&file, file_len, &marker)
}

/// The blocks of a sealed file as their headers give them, each header leading to the next,
/// up to the first that does not check out: each block's place and header. Bodies are not
/// read, so a block listed may still be damaged.
fn header_chain(file: &File, file_len: u64, marker: &Marker) -> Chain {
    let mut header = [0; sealed::HEADER_LEN];
    let mut chain = Vec::new();
    let mut pos = 0;
    while pos + sealed::HEADER_LEN as u64 <= file_len {
        let read = read_exact_at(file, &mut header, pos).ok();
        let Some(found) = read.and_then(|()| sealed::read_header(&header, marker)) else {
            break;
        };
        chain.push((pos, found));
        pos += (sealed::HEADER_LEN + found.len) as u64;
    }
    chain
}

/// A sealed file's blocks decoded ahead of its replay by a helper thread, so that reading
/// and decompressing a block overlaps with indexing the one before. Either thread decodes a
/// block: the helper claims blocks ahead in order, and the replay decodes itself a block the
/// helper has not claimed, so neither waits for long on the other.
struct Ahead {
    chain: Chain,
    state: Mutex<AheadState>,
    changed: Condvar,
}

#[derive(Default)]
struct AheadState {
    /// The first block of the chain neither thread has claimed.
    next: usize,
    /// The blocks the replay has used.
    used: usize,
    /// Blocks the helper decoded, by place in the chain: `None` if it found one damaged
    /// (the replay reads it again and deals with the damage).
    ready: BTreeMap<usize, Option<Decoded>>,
    /// Decoded blocks used and given back, their vectors reused.
    spare: Vec<Decoded>,
    stop: bool,
}

/// The buffers a thread decodes blocks with: a block's bytes, its columns decompressed.
#[derive(Default)]
struct Scratch {
    bytes: Vec<u8>,
    plain: Vec<u8>,
}

/// A block decoded ahead.
#[derive(Default)]
struct Decoded {
    header: Option<sealed::Header>,
    chunks: Vec<Chunk>,
    columns: Block,
}

/// How many blocks are decoded ahead of the replay. One helper: a second made the reopen
/// slower on two cores, the replay itself decoding while it would wait.
const AHEAD: usize = 4;

impl Ahead {
    fn new(chain: Chain) -> Self {
        Self {
            chain,
            state: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, AheadState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The helper's work: decodes claimed blocks until the chain's end or [`stop`](Ahead::stop).
    fn decode(&self, file: &File) {
        let mut scratch = Scratch::default();
        loop {
            let (k, decoded) = {
                let mut state = self.lock();
                while !state.stop
                    && state.next < self.chain.len()
                    && state.next >= state.used + AHEAD
                {
                    state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                if state.stop || state.next >= self.chain.len() {
                    return;
                }
                Self::claim(&mut state)
            };
            self.decode_one(k, decoded, file, &mut scratch);
        }
    }

    /// Claims the next block: its place in the chain, and a block to decode it into.
    fn claim(state: &mut AheadState) -> (usize, Decoded) {
        state.next += 1;
        (state.next - 1, state.spare.pop().unwrap_or_default())
    }

    /// Decodes block `k` (claimed) into `decoded` and makes it ready.
    fn decode_one(&self, k: usize, mut decoded: Decoded, file: &File, scratch: &mut Scratch) {
        /// Should decoding panic on the helper, the block is left to the replay to read
        /// itself, so that the replay never waits for it (the panic is raised when the replay
        /// ends).
        struct Unfinished<'a>(&'a Ahead, usize);
        impl Drop for Unfinished<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.lock().ready.insert(self.1, None);
                    self.0.changed.notify_all();
                }
            }
        }
        let _unfinished = Unfinished(self, k);
        let (pos, header) = self.chain[k];
        let whole = Self::read(file, pos, header, scratch, &mut decoded);
        decoded.header = Some(header);
        self.lock().ready.insert(k, whole.then_some(decoded));
        self.changed.notify_all();
    }

    /// Reads and decodes the block at `pos`: whether it is whole and decodes.
    fn read(
        file: &File,
        pos: u64,
        header: sealed::Header,
        scratch: &mut Scratch,
        decoded: &mut Decoded,
    ) -> bool {
        let Scratch { bytes, plain } = scratch;
        bytes.resize(sealed::HEADER_LEN + header.len, 0);
        if read_exact_at(file, bytes, pos).is_err() || !sealed::body_ok(bytes, &header) {
            return false;
        }
        let body = &bytes[sealed::HEADER_LEN..];
        let body_at = pos + sealed::HEADER_LEN as u64;
        let Ok(chunks) = sealed::chunks(body, body_at) else {
            return false;
        };
        decoded.chunks = chunks;
        decoded.columns.decode_into(body, plain).is_ok() && decoded.columns.rows() == header.rows
    }

    /// The block at `pos` decoded by either thread; `None` when the replay is to read it
    /// itself (not in the chain, or found damaged). While the helper is at work on it, the
    /// replay decodes the next block no one has claimed (with `scratch`) rather than wait.
    fn take(&self, pos: u64, file: &File, scratch: &mut Scratch) -> Option<Decoded> {
        let k = self.chain.binary_search_by_key(&pos, |(at, _)| *at).ok()?;
        let mut state = self.lock();
        loop {
            if let Some(ready) = state.ready.remove(&k) {
                state.used = k + 1;
                self.changed.notify_all();
                return ready;
            }
            if state.next <= k || (state.next < self.chain.len() && state.next < k + AHEAD) {
                let (j, decoded) = Self::claim(&mut state);
                drop(state);
                self.decode_one(j, decoded, file, scratch);
                state = self.lock();
                continue;
            }
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Gives a used block back for its vectors to be reused.
    fn give_back(&self, decoded: Decoded) {
        self.lock().spare.push(decoded);
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.changed.notify_all();
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, without moving a shared cursor.
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Reads exactly `buf.len()` bytes at `offset`, on a handle of its own.
#[cfg(not(unix))]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = file.try_clone()?;
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

/// The bytes of a file read so far and not yet let go, read on as needed.
struct Window<'f> {
    file: &'f File,
    file_len: u64,
    buf: Vec<u8>,
    /// The file offset of `buf[0]`.
    start: u64,
}

impl<'f> Window<'f> {
    fn new(file: &'f File, file_len: u64) -> Self {
        Self {
            file,
            file_len,
            buf: Vec::with_capacity(2 * READ_CHUNK),
            start: 0,
        }
    }

    /// The bytes read from file offset `at` on (`at` between the window's start and end).
    fn from(&self, at: u64) -> &[u8] {
        &self.buf[usize::try_from(at - self.start).expect("within the buffer")..]
    }

    /// The file offset after the last byte read.
    fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    fn at_eof(&self) -> bool {
        self.end() >= self.file_len
    }

    /// Reads on until the window holds the `n` bytes from `at` (`at` in the window or past
    /// it), or the file's end.
    fn fill(&mut self, at: u64, n: usize) -> io::Result<()> {
        if at > self.end() {
            // Past what was read (blocks read by other means were skipped).
            self.buf.clear();
            self.start = at;
        }
        let want = (at + n as u64).min(self.file_len);
        while self.end() < want {
            self.read_on(at)?;
        }
        Ok(())
    }

    /// Lets go of the bytes before `keep`, and reads on.
    fn read_on(&mut self, keep: u64) -> io::Result<()> {
        self.buf
            .drain(..usize::try_from(keep - self.start).expect("within the buffer"));
        self.start = keep;
        let n = usize::try_from(self.file_len - self.end())
            .unwrap_or(usize::MAX)
            .min(READ_CHUNK);
        let (before, at) = (self.buf.len(), self.end());
        self.buf.resize(before + n, 0);
        read_exact_at(self.file, &mut self.buf[before..], at)
    }
}

/// The record numbers read so far in a segment, and the gaps in them.
#[derive(Default)]
struct Seqs {
    /// One past the highest number read.
    next: u64,
    /// Numbers not read below `next`, by the first of each run: `from -> (to, the damage they
    /// are counted against)`.
    holes: BTreeMap<u64, (u64, usize)>,
}

/// What a record's number says about it.
enum Take {
    /// The next one: read it.
    InOrder,
    /// After a gap of this many: read it, and count them lost.
    After(u64),
    /// One missing from a gap counted against this damage: read it, one fewer lost.
    Fill(usize),
    /// Read already: skip it.
    Repeat,
}

impl Seqs {
    /// Takes note of record `seq`; a gap it opens is counted against damage `damage`.
    fn take(&mut self, seq: u32, damage: usize) -> Take {
        let seq = u64::from(seq);
        if seq == self.next {
            self.next += 1;
            return Take::InOrder;
        }
        if seq > self.next {
            let missing = seq - self.next;
            self.holes.insert(self.next, (seq, damage));
            self.next = seq + 1;
            return Take::After(missing);
        }
        let Some((&from, &(to, damage))) = self.holes.range(..=seq).next_back() else {
            return Take::Repeat;
        };
        if seq >= to {
            return Take::Repeat;
        }
        self.holes.remove(&from);
        if from < seq {
            self.holes.insert(from, (seq, damage));
        }
        if seq + 1 < to {
            self.holes.insert(seq + 1, (to, damage));
        }
        Take::Fill(damage)
    }
}

/// A damaged range found while reading a segment.
struct Range {
    offset: u64,
    bytes: u64,
    /// Records lost, if known.
    lost: Option<u64>,
}

/// Replays one segment: gives each record to `visit`, skips damage, and cuts a torn tail if it
/// is the `last` segment.
fn replay_segment(
    dir: &Path,
    segment: u64,
    format: Format,
    last: bool,
    visit: &mut dyn FnMut(Location, RecordRef<'_>),
) -> io::Result<Replayed> {
    let path = dir.join(segment_name(segment, format));
    let file = OpenOptions::new().read(true).write(last).open(&path)?;
    let file_len = file.metadata()?.len();
    let mut window = Window::new(&file, file_len);
    let mut seqs = Seqs::default();
    let mut ranges: Vec<Range> = Vec::new();
    // Where the frame to read next starts; where the damage it follows began, if any; and
    // whether that damage began with a frame cut short by the end of the file.
    let mut pos = 0u64;
    let mut damaged_from: Option<u64> = None;
    let mut cut_short = false;
    loop {
        let bytes = window.from(pos);
        match format.read_frame(bytes) {
            Frame::Record { record, seq, len } => {
                // Whatever came before, a frame cut short is not followed by a whole one.
                cut_short = false;
                let take = match format {
                    Format::V1 => Take::InOrder,
                    Format::V2(_) => seqs.take(seq, ranges.len()),
                };
                if let Take::Repeat = take {
                    damaged_from.get_or_insert(pos);
                } else {
                    let missing = match take {
                        Take::After(missing) => Some(missing),
                        _ => None,
                    };
                    if damaged_from.is_some() || missing.is_some() {
                        let from = damaged_from.take().unwrap_or(pos);
                        ranges.push(Range {
                            offset: from,
                            bytes: pos - from,
                            lost: match format {
                                Format::V1 => None,
                                Format::V2(_) => Some(missing.unwrap_or(0)),
                            },
                        });
                    }
                    if let Take::Fill(damage) = take
                        && let Some(lost) = &mut ranges[damage].lost
                    {
                        *lost = lost.saturating_sub(1);
                    }
                    visit(
                        Location {
                            segment,
                            offset: pos,
                        },
                        record,
                    );
                }
                pos += len as u64;
                continue;
            }
            Frame::Incomplete if !window.at_eof() => {
                window.read_on(pos)?;
                continue;
            }
            Frame::Incomplete if pos == file_len => break,
            // A frame cut short by the end of the file: a torn write if it follows the last
            // record and no whole frame follows it.
            Frame::Incomplete => {
                if damaged_from.is_none() {
                    damaged_from = Some(pos);
                    cut_short = true;
                }
            }
            Frame::Corrupt => {
                damaged_from.get_or_insert(pos);
            }
        }
        pos = next_candidate(&mut window, format, pos + 1)?;
        if pos == file_len {
            break;
        }
    }
    let torn = cut_short;
    // A run of damage that reaches the end of the file, or a frame cut short at the end.
    let tail_from = damaged_from.unwrap_or(pos);
    if tail_from < file_len {
        ranges.push(Range {
            offset: tail_from,
            bytes: file_len - tail_from,
            lost: None,
        });
    }
    let mut damage = Vec::with_capacity(ranges.len());
    for range in ranges {
        let quarantine = if range.bytes > 0 {
            Some(quarantine(&file, &path, range.offset, range.bytes)?)
        } else {
            None
        };
        let is_torn = torn && last && range.offset == tail_from;
        damage.push(Damage {
            path: path.clone(),
            offset: range.offset,
            bytes: range.bytes,
            to_end: range.offset + range.bytes == file_len && range.offset == tail_from,
            records_lost: range.lost,
            kind: if is_torn {
                DamageKind::TornTail
            } else {
                DamageKind::Skipped
            },
            quarantine,
        });
    }
    let mut len = file_len;
    if torn && last {
        // Copied above; now cut, so the next write starts at a frame boundary.
        file.set_len(tail_from)?;
        file.sync_all()?;
        len = tail_from;
    }
    Ok(Replayed {
        len,
        next_seq: seqs.next,
        appendable: matches!(format, Format::V2(_)) && len == tail_from,
        damage,
        sealed: None,
        latest: None,
    })
}

/// Replays a segment from its log file or its sealed file (led by `chain`, its header chain,
/// when it was read already).
#[allow(
    clippy::too_many_arguments,
    reason = "the segment, what was found of it, and where its records go"
)]
fn replay(
    dir: &Path,
    segment: u64,
    found: OnDisk,
    chain: Option<Chain>,
    last: bool,
    dictionaries: &Dictionaries,
    visit: &mut dyn FnMut(Location, RecordRef<'_>),
    block: &mut BlockVisit<'_>,
) -> io::Result<Replayed> {
    match found {
        OnDisk::Log(format) => {
            let mut latest = None;
            let mut replayed = replay_segment(dir, segment, format, last, &mut |at, record| {
                latest = latest.max(Some(record.time_micros));
                visit(at, record);
            })?;
            replayed.latest = latest;
            Ok(replayed)
        }
        OnDisk::Sealed(marker) => {
            replay_sealed(dir, segment, marker, chain, dictionaries, visit, block)
        }
    }
}

/// Reads a sealed segment block by block, handing each to `block` (or, when it will not take
/// it whole, its records to `visit`). A damaged block is skipped, copied beside the file and
/// reported with its records, and reading goes on at the next block that checks out.
fn replay_sealed(
    dir: &Path,
    segment: u64,
    marker: Marker,
    chain: Option<Chain>,
    dictionaries: &Dictionaries,
    visit: &mut dyn FnMut(Location, RecordRef<'_>),
    block: &mut BlockVisit<'_>,
) -> io::Result<Replayed> {
    let path = dir.join(sealed_name(segment, marker));
    let file = File::open(&path)?;
    let file_len = file.metadata()?.len();
    let chain = chain.unwrap_or_else(|| header_chain(&file, file_len, &marker));
    let ahead = Ahead::new(chain);
    /// Stops the helper however the replay ends.
    struct Stop<'a>(&'a Ahead);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.stop();
        }
    }
    std::thread::scope(|scope| {
        if ahead.chain.len() > 1 {
            scope.spawn(|| ahead.decode(&file));
        }
        let _stop = Stop(&ahead);
        let read = SealedFile {
            path,
            file: &file,
            file_len,
            segment,
            marker,
            ahead: &ahead,
        };
        read.replay(dictionaries, visit, block)
    })
    .map(|(damage, chunks, blocks)| Replayed {
        len: file_len,
        next_seq: 0,
        appendable: false,
        damage,
        sealed: Some(Sealed {
            file,
            chunks,
            blocks,
        }),
        latest: None,
    })
}

/// A sealed file being replayed.
struct SealedFile<'a> {
    path: PathBuf,
    file: &'a File,
    file_len: u64,
    segment: u64,
    marker: Marker,
    ahead: &'a Ahead,
}

impl SealedFile<'_> {
    /// Replays the file's blocks in order, each decoded by the helper or here: the damage
    /// found, the chunks and the blocks.
    fn replay(
        self,
        dictionaries: &Dictionaries,
        visit: &mut dyn FnMut(Location, RecordRef<'_>),
        block: &mut BlockVisit<'_>,
    ) -> io::Result<(Vec<Damage>, Vec<Chunk>, Vec<BlockSpan>)> {
        let Self {
            path,
            file,
            file_len,
            segment,
            marker,
            ahead,
        } = self;
        // Read a block at a time through one buffer, reused.
        let mut window = Window::new(file, file_len);
        let mut scratch = Scratch::default();
        let mut chunks = Vec::new();
        let mut blocks = Vec::new();
        let mut ranges: Vec<Range> = Vec::new();
        let mut damaged: Option<Range> = None;
        let mut pos = 0u64;
        while pos < file_len {
            if let Some(mut decoded) = ahead.take(pos, file, &mut scratch) {
                let columns = &decoded.columns;
                if let (Some(header), (true, _)) =
                    (decoded.header, offer(columns, segment, dictionaries, block))
                {
                    if let Some(range) = damaged.take() {
                        ranges.push(range);
                    }
                    let latest = latest_time(&columns.times);
                    let coded = columns.dictionary.map(|(id, _)| id);
                    chunks.append(&mut decoded.chunks);
                    let span = BlockSpan::of(pos, &header, latest, coded);
                    blocks.push(span);
                    pos += span.len;
                    ahead.give_back(decoded);
                    continue;
                }
                // Not taken whole: read again below, its records given one by one.
                ahead.give_back(decoded);
            }
            window.fill(pos, sealed::HEADER_LEN)?;
            let header = sealed::read_header(window.from(pos), &marker);
            let whole = match header {
                Some(header) => {
                    window.fill(pos, sealed::HEADER_LEN + header.len)?;
                    sealed::body_ok(window.from(pos), &header)
                }
                None => false,
            };
            let good = match header {
                Some(header) if whole => {
                    let at = window.from(pos);
                    let body = &at[sealed::HEADER_LEN..sealed::HEADER_LEN + header.len];
                    let body_at = pos + sealed::HEADER_LEN as u64;
                    read_sealed_block(body, body_at, header, segment, dictionaries, visit, block)
                }
                _ => None,
            };
            if let (Some((mut found, latest, dictionary)), Some(header)) = (good, header) {
                if let Some(range) = damaged.take() {
                    ranges.push(range);
                }
                chunks.append(&mut found);
                let block = BlockSpan::of(pos, &header, latest, dictionary);
                blocks.push(block);
                pos += block.len;
                continue;
            }
            let range = damaged.get_or_insert(Range {
                offset: pos,
                bytes: 0,
                lost: Some(0),
            });
            range.lost = match (range.lost, header) {
                (Some(lost), Some(header)) => Some(lost + header.rows as u64),
                _ => None,
            };
            let skip = match header {
                Some(header) if whole => sealed::HEADER_LEN + header.len,
                _ => 1,
            };
            pos = (pos + skip as u64).min(file_len);
            if pos < file_len {
                pos = next_candidate(&mut window, Format::V2(marker), pos)?;
            }
            range.bytes = pos - range.offset;
        }
        ranges.extend(damaged);
        let mut damage = Vec::with_capacity(ranges.len());
        for range in ranges {
            damage.push(Damage {
                path: path.clone(),
                offset: range.offset,
                bytes: range.bytes,
                to_end: range.offset + range.bytes == file_len,
                records_lost: range.lost,
                kind: DamageKind::Skipped,
                quarantine: Some(quarantine(file, &path, range.offset, range.bytes)?),
            });
        }
        Ok((damage, chunks, blocks))
    }
}

/// Offers a block's columns to `block`, with the dictionary they are coded against when it
/// is there whole: whether it took them, and that dictionary.
fn offer<'d>(
    columns: &Block,
    segment: u64,
    dictionaries: &'d Dictionaries,
    block: &mut BlockVisit<'_>,
) -> (bool, Option<&'d Dictionary>) {
    let dictionary = columns
        .dictionary
        .and_then(|(id, entries)| dictionaries.get(id, entries))
        .filter(|dictionary| dictionary.holds(columns));
    let taken = match columns.dictionary {
        None => block(segment, columns, None),
        Some(_) => dictionary.is_some_and(|dictionary| block(segment, columns, Some(dictionary))),
    };
    (taken, dictionary)
}

/// Reads one checked block of a sealed file: its columns to `block`, or, when it will not
/// take them or the dictionary they are coded against is not there whole, its records to
/// `visit`. Its chunks, its newest event's time and the id of the dictionary its fields are
/// coded against, or `None` when what the checksum let through cannot be read (the block is
/// then damage like any other).
fn read_sealed_block(
    body: &[u8],
    body_at: u64,
    header: sealed::Header,
    segment: u64,
    dictionaries: &Dictionaries,
    visit: &mut dyn FnMut(Location, RecordRef<'_>),
    block: &mut BlockVisit<'_>,
) -> Option<(Vec<Chunk>, i64, Option<u64>)> {
    thread_local! {
        /// A block's columns and their decompressed bytes, reused block after block.
        static SCRATCH: std::cell::RefCell<(Block, Vec<u8>)> = std::cell::RefCell::default();
    }
    let chunks = sealed::chunks(body, body_at).ok()?;
    let (taken, times, coded, rebuilt) = SCRATCH.with_borrow_mut(|(columns, buf)| {
        columns.decode_into(body, buf).ok()?;
        if columns.rows() != header.rows {
            return None;
        }
        let (taken, dictionary) = offer(columns, segment, dictionaries, block);
        let mut rebuilt = Vec::new();
        if !taken {
            // Text kept as templates is rebuilt with the dictionary; without it, the block is
            // damage like any other.
            let texts = Texts::decode(body).ok()?;
            if !texts.is_empty() {
                columns
                    .each_rebuilt(&texts, dictionary?, |offset, record| {
                        rebuilt.push((offset, record));
                    })
                    .ok()?;
            }
        }
        let coded = columns.dictionary.map(|(id, _)| id);
        Some((taken, latest_time(&columns.times), coded, rebuilt))
    })?;
    if !taken {
        let mut read = Vec::with_capacity(chunks.len());
        for chunk in &chunks {
            let at = usize::try_from(chunk.pos - body_at).ok()?;
            let bytes = body.get(at..at + chunk.len as usize)?;
            let records = ChunkRecords::read(chunk, bytes).ok()?;
            for i in 0..records.len() {
                records.get(i).ok()?;
            }
            read.push(records);
        }
        // The records kept whole and those rebuilt, in the order they were written.
        let mut rebuilt = rebuilt.into_iter().peekable();
        for records in &read {
            for i in 0..records.len() {
                if let Ok((offset, record)) = records.get(i) {
                    while let Some((before, record)) = rebuilt.next_if(|(at, _)| *at < offset) {
                        visit(
                            Location {
                                segment,
                                offset: before,
                            },
                            record.as_ref(),
                        );
                    }
                    visit(Location { segment, offset }, record);
                }
            }
        }
        for (offset, record) in rebuilt {
            visit(Location { segment, offset }, record.as_ref());
        }
    }
    Some((chunks, times, coded))
}

/// The offset, from `from` on, of the next place a frame may start: one beginning with the
/// marker, or in the first format one whose lengths fit. The end of the file if none.
fn next_candidate(window: &mut Window<'_>, format: Format, mut from: u64) -> io::Result<u64> {
    // The bytes a candidate is judged by.
    let needed = match format {
        Format::V1 => V1_HEADER_LEN,
        Format::V2(_) => MARKER_LEN,
    };
    loop {
        let bytes = window.from(from);
        let found = match format {
            Format::V2(marker) => find_marker(bytes, &marker),
            Format::V1 => {
                let left = window.file_len - from;
                (0..bytes.len().saturating_sub(needed - 1))
                    .find(|&at| v1_plausible(&bytes[at..], left - at as u64))
            }
        };
        if let Some(at) = found {
            return Ok(from + at as u64);
        }
        if window.at_eof() {
            return Ok(window.file_len);
        }
        // Keep the last bytes, too few to judge, and read on.
        from = from.max(window.end().saturating_sub(needed as u64 - 1));
        window.read_on(from)?;
    }
}

/// The first offset in `bytes` where the whole marker is.
fn find_marker(bytes: &[u8], marker: &Marker) -> Option<usize> {
    let mut at = 0;
    while let Some(i) = bytes.get(at..)?.iter().position(|&b| b == marker[0]) {
        let candidate = at + i;
        match bytes.get(candidate..candidate + MARKER_LEN) {
            Some(window) if window == marker => return Some(candidate),
            Some(_) => at = candidate + 1,
            None => return None,
        }
    }
    None
}

/// Copies `bytes` bytes of `file` at `offset` beside it (see the module's docs), unless the
/// same bytes were copied already; returns the copy's path.
pub(crate) fn quarantine(file: &File, path: &Path, offset: u64, bytes: u64) -> io::Result<PathBuf> {
    let context = |what: &str, err: io::Error| {
        io::Error::new(
            err.kind(),
            format!(
                "cannot {what} the {bytes} damaged bytes at offset {offset} of {}: {err}",
                path.display()
            ),
        )
    };
    let mut crc = crc32fast::Hasher::new();
    each_chunk(file, offset, bytes, |chunk| {
        crc.update(chunk);
        Ok(())
    })
    .map_err(|e| context("read", e))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("segment");
    let copy = path.with_file_name(format!(
        "{name}.damaged-{offset}-{bytes}-{:08x}",
        crc.finalize()
    ));
    if fs::metadata(&copy).is_ok_and(|m| m.len() == bytes) {
        return Ok(copy);
    }
    let write = || -> io::Result<()> {
        let mut tmp_name = copy.clone().into_os_string();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        let mut out = crate::files::open_private(
            OpenOptions::new().write(true).create(true).truncate(true),
            &tmp,
        )?;
        each_chunk(file, offset, bytes, |chunk| out.write_all(chunk))?;
        out.sync_all()?;
        fs::rename(&tmp, &copy)?;
        sync_dir(path.parent().unwrap_or(Path::new(".")))
    };
    write().map_err(|e| context("copy", e))?;
    Ok(copy)
}

/// Calls `f` with the `bytes` bytes of `file` at `offset`, a chunk at a time.
fn each_chunk(
    file: &File,
    offset: u64,
    bytes: u64,
    mut f: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = vec![0; READ_CHUNK.min(usize::try_from(bytes).unwrap_or(READ_CHUNK))];
    let mut done = 0;
    while done < bytes {
        let n = buf
            .len()
            .min(usize::try_from(bytes - done).unwrap_or(usize::MAX));
        read_exact_at(file, &mut buf[..n], offset + done)?;
        f(&buf[..n])?;
        done += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        let marker = *b"\x00\x9f\x10\xff\x01\x02\x03\x04";
        for format in [Format::V1, Format::V2(marker)] {
            let name = segment_name(42, format);
            assert_eq!(parse_segment_name(&name), Some((42, format)), "{name}");
        }
        assert_eq!(
            segment_name(3, Format::V2(marker)),
            "00000000000000000003-009f10ff01020304.seg"
        );
        for other in [
            "1.seg.damaged-0-5-00000000",
            "1-009f10ff0102030.seg",
            "1-009f10ff01020304x.seg",
            "+1.seg",
            "-009f10ff01020304.seg",
            "1-+09f10ff01020304.seg",
            "catalog.json",
        ] {
            assert_eq!(parse_segment_name(other), None, "{other}");
        }
    }

    #[test]
    fn the_marker_is_found_across_partial_matches() {
        let marker = *b"abcdefgh";
        assert_eq!(find_marker(b"aabcdefabcdefgh", &marker), Some(7));
        assert_eq!(find_marker(b"xxabcdefg", &marker), None);
        assert_eq!(find_marker(b"", &marker), None);
    }

    #[test]
    fn record_numbers_count_gaps_and_refuse_repeats() {
        let mut seqs = Seqs::default();
        assert!(matches!(seqs.take(0, 0), Take::InOrder));
        assert!(matches!(seqs.take(4, 1), Take::After(3)));
        assert!(matches!(seqs.take(2, 2), Take::Fill(1)));
        assert!(matches!(seqs.take(2, 2), Take::Repeat));
        assert!(matches!(seqs.take(0, 2), Take::Repeat));
        assert!(matches!(seqs.take(1, 2), Take::Fill(1)));
        assert!(matches!(seqs.take(3, 2), Take::Fill(1)));
        assert!(matches!(seqs.take(4, 2), Take::Repeat));
        assert!(matches!(seqs.take(5, 2), Take::InOrder));
        assert!(seqs.holes.is_empty());
    }
}
