//! One index's append-only log: numbered segment files of framed records, with group commit.
//!
//! ```text
//! <index dir>/00000000000000000001.seg   records, framed (see `record`)
//!             00000000000000000002.seg   the next segment, once the first passed SEGMENT_BYTES
//! ```
//!
//! A write is acknowledged only once it is on disk: every appender writes its frames under the
//! lock, then waits until an `fdatasync` that started after its write has finished. The first
//! waiter to find no sync running becomes the leader and syncs for everyone written so far, so
//! concurrent writers share one sync (group commit).
//!
//! On open, each segment is read frame by frame. A torn or corrupt tail is cut off (and reported)
//! so the next write starts at a frame boundary; everything before it is replayed. A failed write
//! is rolled back to the last frame boundary; a failed sync poisons the log, since after a failed
//! `fsync` the kernel may have dropped the pages and a retry would wrongly report success.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::record::{Frame, HEADER_LEN, MAX_PAYLOAD, Record, RecordRef, read_frame};

/// A segment is closed and the next begun once it holds this many bytes, unless the store's
/// options say otherwise.
pub(crate) const SEGMENT_BYTES: u64 = 128 * 1024 * 1024;

/// The segments in `dir` (created if missing), in order.
fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    crate::files::create_dir(dir)?;
    let mut segments: Vec<u64> = fs::read_dir(dir)?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            let stem = name.to_str()?.strip_suffix(".seg")?;
            stem.parse().ok()
        })
        .collect();
    segments.sort_unstable();
    Ok(segments)
}

/// Where a record is: its segment and byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The segment's number.
    pub segment: u64,
    /// The frame's byte offset in the segment.
    pub offset: u64,
}

/// A tail cut off a segment when it was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutTail {
    /// The segment file.
    pub path: PathBuf,
    /// Where the cut starts: the end of the last whole, valid record.
    pub at: u64,
    /// How many bytes were cut.
    pub bytes: u64,
    /// Whether the cut bytes were an incomplete frame (a torn write) or invalid ones.
    pub torn: bool,
}

pub(crate) struct Log {
    dir: PathBuf,
    segment_bytes: u64,
    /// Open handles for reading records back, by segment.
    readers: Mutex<HashMap<u64, Arc<File>>>,
    state: Mutex<State>,
    synced: Condvar,
}

struct State {
    /// The segment being appended to.
    file: Arc<File>,
    segment: u64,
    len: u64,
    /// Appends written so far, and how many of them are known durable.
    written: u64,
    durable: u64,
    syncing: bool,
    /// Set when a sync failed: nothing more can be acknowledged.
    poisoned: Option<String>,
}

fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("{segment:020}.seg"))
}

/// Makes a directory entry (a new or renamed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Log {
    /// Opens (or creates) the log in `dir`, replaying every record into `visit` in order and
    /// cutting torn or corrupt tails. A segment is closed once it holds `segment_bytes`.
    pub(crate) fn open(
        dir: &Path,
        segment_bytes: u64,
        visit: &mut dyn FnMut(Location, RecordRef<'_>),
    ) -> io::Result<(Self, Vec<CutTail>)> {
        let segments = list_segments(dir)?;
        let mut cuts = Vec::new();
        let mut last_len = 0;
        for &segment in &segments {
            let (len, cut) = replay_segment(&segment_path(dir, segment), segment, visit)?;
            cuts.extend(cut);
            last_len = len;
        }
        Ok((Self::resume(dir, segment_bytes, &segments, last_len)?, cuts))
    }

    /// Like [`open`](Log::open), replaying the segments in `parts` runs of consecutive
    /// segments, each on a thread of its own: `visit` is told the run (from `0`) of each
    /// record, and within a run gets the records in order.
    pub(crate) fn open_parts(
        dir: &Path,
        segment_bytes: u64,
        parts: usize,
        visit: &(dyn Fn(usize, Location, RecordRef<'_>) + Sync),
    ) -> io::Result<(Self, Vec<CutTail>)> {
        let segments = list_segments(dir)?;
        let per_part = segments.len().div_ceil(parts.max(1)).max(1);
        let runs: Vec<&[u64]> = segments.chunks(per_part).collect();
        let replayed: Vec<io::Result<Vec<Replayed>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = runs
                .iter()
                .enumerate()
                .map(|(part, run)| {
                    scope.spawn(move || {
                        run.iter()
                            .map(|&segment| {
                                replay_segment(
                                    &segment_path(dir, segment),
                                    segment,
                                    &mut |at, record| visit(part, at, record),
                                )
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
        let mut cuts = Vec::new();
        let mut last_len = 0;
        for run in replayed {
            for (len, cut) in run? {
                cuts.extend(cut);
                last_len = len;
            }
        }
        Ok((Self::resume(dir, segment_bytes, &segments, last_len)?, cuts))
    }

    /// The log, ready to append after its last segment (created if there is none).
    fn resume(dir: &Path, segment_bytes: u64, segments: &[u64], last_len: u64) -> io::Result<Self> {
        let segment = match segments.last() {
            Some(&last) => last,
            None => {
                crate::files::open_private(
                    OpenOptions::new().write(true).create(true).truncate(true),
                    &segment_path(dir, 1),
                )?
                .sync_all()?;
                sync_dir(dir)?;
                1
            }
        };
        let file = OpenOptions::new()
            .append(true)
            .open(segment_path(dir, segment))?;
        Ok(Self {
            dir: dir.to_owned(),
            segment_bytes,
            readers: Mutex::new(HashMap::new()),
            state: Mutex::new(State {
                file: Arc::new(file),
                segment,
                len: last_len,
                written: 0,
                durable: 0,
                syncing: false,
                poisoned: None,
            }),
            synced: Condvar::new(),
        })
    }

    /// The bytes its segment files hold on disk.
    pub(crate) fn disk_bytes(&self) -> u64 {
        fs::read_dir(&self.dir).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
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

    /// Appends already framed records (`frames`, whose frame lengths are `lens`) and returns once
    /// they are durable, with each record's location.
    pub(crate) fn append(&self, frames: &[u8], lens: &[usize]) -> io::Result<Vec<Location>> {
        let mut state = self.lock();
        if let Some(reason) = &state.poisoned {
            return Err(io::Error::other(format!(
                "the log of {} cannot take writes since a sync failed ({reason}); restart to recover",
                self.dir.display()
            )));
        }
        if state.len > 0 && state.len + frames.len() as u64 > self.segment_bytes {
            self.roll(&mut state)?;
        }
        let start = state.len;
        if let Err(err) = (&*state.file).write_all(frames) {
            // Put the file back at the last frame boundary, so later records stay readable.
            if state.file.set_len(start).is_err() {
                state.poisoned = Some(err.to_string());
            }
            return Err(err);
        }
        state.len += frames.len() as u64;
        state.written += 1;
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
        let file = crate::files::open_private(
            OpenOptions::new().create_new(true).append(true),
            &segment_path(&self.dir, next),
        )?;
        sync_dir(&self.dir)?;
        state.file = Arc::new(file);
        state.segment = next;
        state.len = 0;
        Ok(())
    }

    /// Reads the record at `at` back from disk.
    pub(crate) fn read(&self, at: Location) -> io::Result<Record> {
        let file = self.reader(at.segment)?;
        let mut header = [0; HEADER_LEN];
        read_exact_at(&file, &mut header, at.offset)?;
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        if len > MAX_PAYLOAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt frame"));
        }
        let mut frame = header.to_vec();
        frame.resize(HEADER_LEN + len, 0);
        read_exact_at(
            &file,
            &mut frame[HEADER_LEN..],
            at.offset + HEADER_LEN as u64,
        )?;
        match read_frame(&frame) {
            Frame::Record { record, .. } => Ok(record.to_record()),
            _ => Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt frame")),
        }
    }

    /// A handle to read `segment` with, kept open for the next reads.
    fn reader(&self, segment: u64) -> io::Result<Arc<File>> {
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = readers.get(&segment) {
            return Ok(Arc::clone(file));
        }
        let file = Arc::new(File::open(segment_path(&self.dir, segment))?);
        readers.insert(segment, Arc::clone(&file));
        Ok(file)
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
    use std::io::{Seek, SeekFrom};
    let mut file = file.try_clone()?;
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

/// What replaying a segment found: the length of its valid part, and the tail cut off.
type Replayed = (u64, Option<CutTail>);

/// Replays one segment; returns the length of its valid part and the tail cut off, if any.
fn replay_segment(
    path: &Path,
    segment: u64,
    visit: &mut dyn FnMut(Location, RecordRef<'_>),
) -> io::Result<Replayed> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    let file_len = file.metadata()?.len();
    let mut reader = BufReader::with_capacity(1 << 20, &file);
    let mut buf: Vec<u8> = Vec::with_capacity(2 << 20);
    let mut consumed = 0; // bytes of `buf` already replayed
    let mut offset = 0u64; // file offset of buf[consumed]
    let mut eof = false;
    let mut torn = true;
    loop {
        match read_frame(&buf[consumed..]) {
            Frame::Record { record, len } => {
                visit(Location { segment, offset }, record);
                consumed += len;
                offset += len as u64;
                continue;
            }
            Frame::Corrupt => {
                torn = false;
                break;
            }
            Frame::Incomplete if eof => break,
            Frame::Incomplete => {}
        }
        // Refill: keep the unread part, read more.
        buf.drain(..consumed);
        consumed = 0;
        let before = buf.len();
        buf.resize(before + (1 << 20), 0);
        let n = reader.read(&mut buf[before..])?;
        buf.truncate(before + n);
        eof = n == 0;
    }
    if offset == file_len {
        return Ok((offset, None));
    }
    file.set_len(offset)?;
    file.sync_all()?;
    Ok((
        offset,
        Some(CutTail {
            path: path.to_owned(),
            at: offset,
            bytes: file_len - offset,
            torn,
        }),
    ))
}
