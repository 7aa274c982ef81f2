//! `spoor import`: files of events, read line by line, sent in large batches with several
//! requests in flight, resumable.
//!
//! A reader thread cuts each file into chunks of whole lines; worker threads read each
//! line ([`read_line`]), encode the events as HEC envelopes (or raw lines for
//! `receivers/simple` when no HEC is configured) and send them; the collector on the calling
//! thread takes the acknowledgements in the files' order, keeps each file's progress in its
//! state file ([`state`]) and counts. Under `--strict` a chunk is sent only once every chunk
//! before it has been read whole, so nothing after the first bad line is ever sent.

mod line;
pub mod state;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Condvar, Mutex, PoisonError};

use spoor_engine::cli::{Context as _, Failure};
use spoor_event::HecMeta;
use spoor_proto::hec::Batcher;
use spoor_proto::rest::SubmitTarget;
use time::OffsetDateTime;

pub use line::{InputFormat, Line, read_line};
use state::{Progress, Range, StateFile};

use crate::CliError;
use crate::connect::Backend;

/// How an import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The files, `-` for standard input.
    pub files: Vec<PathBuf>,
    /// Their lines' format.
    pub format: InputFormat,
    /// Stop at the first bad line (nothing after it is sent) instead of skipping it.
    pub strict: bool,
    /// Forget what earlier runs imported and send every line.
    pub restart: bool,
    /// Lines a request holds at most.
    pub batch_lines: usize,
    /// Requests in flight at once.
    pub jobs: usize,
    /// Where the state files are kept.
    pub state_dir: PathBuf,
    /// Which of Splunk's intakes the events go to.
    pub via: Via,
}

/// Which of Splunk's intakes an import sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Via {
    /// `receivers/simple` for a local data folder (raw lines, the engine's fastest intake);
    /// for Splunk, HEC when it is configured, else `receivers/simple`.
    #[default]
    Auto,
    /// The HTTP Event Collector (needs an HEC URL and token).
    Hec,
    /// `receivers/simple`: raw lines over the REST API (the admin's credentials).
    Simple,
}

/// A line that is no event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The file, as given.
    pub file: String,
    /// The line's number, from 1.
    pub line: u64,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// What an import did, exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Events sent and acknowledged in this run.
    pub events: u64,
    /// Lines read in this run.
    pub lines: u64,
    /// Bad lines skipped in this run.
    pub bad: u64,
    /// Blank lines skipped in this run.
    pub blank: u64,
    /// Events an earlier run had imported from these files (their lines were not read again).
    pub earlier_events: u64,
    /// Lines an earlier run had done.
    pub earlier_lines: u64,
    /// The first bad line under `--strict`.
    pub stopped_at: Option<BadLine>,
    /// Whether it was interrupted (its progress kept).
    pub interrupted: bool,
}

/// Lines of a chunk at most, by bytes (a worker cuts its requests at HEC's batch size anyway).
const CHUNK_BYTES: usize = 4 << 20;
/// The longest line read: past it a line is reported bad without being held (no event's line
/// is a sixteenth of it, JSON included).
const MAX_LINE_READ: u64 = 4 << 20;
/// The most bytes one request holds (below the engine's and Splunk's 1 MB default).
const REQUEST_BYTES: usize = spoor_proto::hec::DEFAULT_BATCH_CAP;

/// One input, ready to read.
struct Input {
    /// As given, for messages.
    name: String,
    /// `None` for standard input.
    path: Option<PathBuf>,
    state: Option<StateFile>,
    /// Where it starts: what earlier runs did.
    start: Progress,
    /// The CRC state of the bytes before `start.bytes`.
    hasher: crc32fast::Hasher,
    /// Nothing is left to read.
    complete: bool,
}

/// A run of whole lines of one input.
struct Chunk {
    seq: u64,
    input: usize,
    first_line: u64,
    start_bytes: u64,
    hasher: crc32fast::Hasher,
    data: Vec<u8>,
    /// A line longer than [`MAX_LINE_READ`] (its length and the CRC after it), in place of
    /// `data`.
    too_long: Option<(u64, u32)>,
}

/// Where the reader is in an input.
struct Position {
    seq: u64,
    line: u64,
    bytes: u64,
    hasher: crc32fast::Hasher,
}

impl Position {
    /// The chunk of `lines` lines in `data`, starting here; moves past it.
    fn chunk(
        &mut self,
        input: usize,
        data: Vec<u8>,
        lines: usize,
        too_long: Option<(u64, u32)>,
    ) -> Chunk {
        let chunk = Chunk {
            seq: self.seq,
            input,
            first_line: self.line,
            start_bytes: self.bytes,
            hasher: self.hasher.clone(),
            data,
            too_long,
        };
        self.hasher.update(&chunk.data);
        self.seq += 1;
        self.line += lines as u64;
        self.bytes += chunk.data.len() as u64;
        chunk
    }
}

/// What a worker made of a chunk.
struct Done {
    seq: u64,
    input: usize,
    first_line: u64,
    /// Lines and bytes consumed (under `--strict`, those before the bad line).
    lines: u64,
    /// Of those, lines an earlier run had done (in its ranges).
    skipped: u64,
    bytes_end: u64,
    crc: u32,
    events: u64,
    blank: u64,
    bad: Vec<BadLine>,
    /// The bad line that stops a strict import.
    stop: Option<BadLine>,
    /// Whether its events were acknowledged (false when not sent: stopped before).
    acked: bool,
    error: Option<CliError>,
}

/// The transport: HEC envelopes, or raw lines for `receivers/simple`.
enum Transport {
    Hec,
    Simple(SubmitTarget),
}

/// Imports `options.files` into `backend`, reporting each bad line to `on_bad` and progress
/// (bytes done, bytes to do, events acknowledged; in this run) to `on_progress`. `interrupt` stops it cleanly: what was
/// acknowledged is kept, and running it again goes on from there.
///
/// # Errors
///
/// [`CliError::Failed`] for an input that cannot be read or changed since an earlier run,
/// [`CliError::Connect`] when the server cannot be reached, or as [`CliError::splunk`].
pub fn import(
    backend: &Backend,
    options: &ImportOptions,
    interrupt: &AtomicBool,
    mut on_bad: impl FnMut(&BadLine),
    mut on_progress: impl FnMut(u64, u64, u64),
) -> Result<Summary, CliError> {
    let target = format!("{} index={}", backend.describe(), backend.index);
    let mut inputs = Vec::new();
    for file in &options.files {
        inputs.push(prepare(file, options, &target)?);
    }
    let mut summary = Summary {
        files: inputs.len(),
        ..Summary::default()
    };
    for input in &inputs {
        summary.earlier_events +=
            input.start.events + input.start.ranges.iter().map(|r| r.events).sum::<u64>();
        summary.earlier_lines += input.start.lines
            + input
                .start
                .ranges
                .iter()
                .map(|r| r.last - r.first + 1)
                .sum::<u64>();
    }
    if inputs.iter().all(|i| i.complete) {
        return Ok(summary);
    }
    backend.setup()?;
    let client = spoor_splunk::blocking::Client::new(&backend.config)
        .map_err(|e| backend.error("making a client", e))?;
    let hec = match options.via {
        Via::Hec if backend.config.hec().is_none() => {
            return Err(CliError::Usage(
                "--via hec needs an HEC URL and token (--hec-url and --hec-token, or \
                 SPLUNK_HEC_URL and SPLUNK_HEC_TOKEN)"
                    .to_owned(),
            ));
        }
        Via::Hec => true,
        Via::Simple => false,
        Via::Auto => backend.data().is_none() && backend.config.hec().is_some(),
    };
    let transport = if hec {
        Transport::Hec
    } else {
        Transport::Simple(SubmitTarget {
            index: Some(backend.index.clone()),
            sourcetype: Some(spoor::DEFAULT_SOURCETYPE.to_owned()),
            source: None,
            host: None,
        })
    };
    let shared = Shared {
        backend,
        client,
        transport,
        options,
        inputs: &inputs,
        now: OffsetDateTime::now_utc(),
        halt: AtomicBool::new(false),
        interrupt,
        gate: Gate::default(),
    };
    let (chunks_tx, chunks_rx) = sync_channel::<Chunk>(options.jobs.max(1) * 2);
    let chunks_rx = Mutex::new(chunks_rx);
    let (done_tx, done_rx) = sync_channel::<Done>(options.jobs.max(1) * 2);
    let shared = &shared;
    let collected = std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            let done_tx = done_tx.clone();
            let chunks_rx = &chunks_rx;
            let spawned = std::thread::Builder::new()
                .name("spoor-import".to_owned())
                .spawn_scoped(scope, move || shared.work(chunks_rx, &done_tx));
            if let Err(err) = spawned {
                // The workers started end when the chunks' sender is gone.
                drop(chunks_tx);
                return Err(Failure::caused("cannot start the import's workers", err).into());
            }
        }
        // The reader owns the sender: when it ends, the workers run out of chunks and end.
        let reader = std::thread::Builder::new()
            .name("spoor-import-read".to_owned())
            .spawn_scoped(scope, move || shared.read(&chunks_tx))
            .context("cannot start the import's reader")?;
        drop(done_tx);
        let collected = collect(
            shared,
            &done_rx,
            &mut summary,
            &mut on_bad,
            &mut on_progress,
        );
        // The workers end when the reader has ended and the chunks are done.
        shared.halt_all();
        drop(done_rx);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(CliError::Failed(Failure::new("the reader thread failed"))));
        collected.and(read)
    });
    collected?;
    summary.interrupted = interrupt.load(Ordering::Relaxed);
    Ok(summary)
}

/// Opens an input and reads where an earlier run stopped.
fn prepare(file: &Path, options: &ImportOptions, target: &str) -> Result<Input, CliError> {
    let name = file.display().to_string();
    if name == "-" {
        return Ok(Input {
            name: "<stdin>".to_owned(),
            path: None,
            state: None,
            start: Progress::default(),
            hasher: crc32fast::Hasher::new(),
            complete: false,
        });
    }
    let path = std::fs::canonicalize(file).with_context(|| format!("cannot open {name}"))?;
    std::fs::create_dir_all(&options.state_dir).with_context(|| {
        format!(
            "cannot make the import state folder {}",
            options.state_dir.display()
        )
    })?;
    let state = StateFile::new(&options.state_dir, &path, target);
    if options.restart {
        state
            .remove()
            .with_context(|| format!("cannot remove {}", state.path().display()))?;
    }
    let start = state
        .load()
        .with_context(|| format!("cannot read {}", state.path().display()))?
        .unwrap_or_default();
    let mut opened = File::open(&path).with_context(|| format!("cannot open {name}"))?;
    let length = opened
        .metadata()
        .with_context(|| format!("cannot read {name}"))?
        .len();
    let hasher = state::prefix_crc(&mut opened, start.bytes)
        .with_context(|| format!("cannot read {name}"))?
        .filter(|h| h.clone().finalize() == start.crc)
        .ok_or_else(|| {
            CliError::Failed(Failure::new(format!(
                "{name} changed since an earlier import sent its first {} lines (kept in {}); \
                 pass --restart to send the whole file again",
                start.lines,
                state.path().display()
            )))
        })?;
    Ok(Input {
        name,
        complete: start.bytes == length && start.ranges.is_empty(),
        path: Some(path),
        state: Some(state),
        start,
        hasher,
    })
}

/// Lets chunks be sent only in order of their reading, under `--strict`.
#[derive(Debug, Default)]
struct Gate {
    next: Mutex<u64>,
    turn: Condvar,
}

/// What the reader, the workers and the collector share.
struct Shared<'a> {
    backend: &'a Backend,
    client: spoor_splunk::blocking::Client,
    transport: Transport,
    options: &'a ImportOptions,
    inputs: &'a [Input],
    now: OffsetDateTime,
    /// Set when nothing more is to be read or sent (an error, a strict stop, the end).
    halt: AtomicBool,
    interrupt: &'a AtomicBool,
    gate: Gate,
}

impl Shared<'_> {
    fn stopped(&self) -> bool {
        self.halt.load(Ordering::Relaxed) || self.interrupt.load(Ordering::Relaxed)
    }

    fn halt_all(&self) {
        self.halt.store(true, Ordering::Relaxed);
        let _next = self
            .gate
            .next
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.gate.turn.notify_all();
    }

    /// The reader: every input in turn, in chunks of whole lines.
    fn read(&self, chunks: &SyncSender<Chunk>) -> Result<(), CliError> {
        let mut seq = 0;
        for (index, input) in self.inputs.iter().enumerate() {
            if input.complete {
                continue;
            }
            let source: Box<dyn Read + Send> = match &input.path {
                Some(path) => {
                    let mut file =
                        File::open(path).with_context(|| format!("cannot open {}", input.name))?;
                    file.seek(SeekFrom::Start(input.start.bytes))
                        .with_context(|| format!("cannot read {}", input.name))?;
                    Box::new(file)
                }
                None => Box::new(std::io::stdin()),
            };
            let mut reader = BufReader::with_capacity(1 << 20, source);
            let mut at = Position {
                seq,
                line: input.start.lines + 1,
                bytes: input.start.bytes,
                hasher: input.hasher.clone(),
            };
            let cannot_read = || format!("cannot read {}", input.name);
            let mut data = Vec::with_capacity(CHUNK_BYTES + 4096);
            let mut lines = 0;
            loop {
                if self.stopped() {
                    return Ok(());
                }
                let before = data.len();
                let n = (&mut reader)
                    .take(MAX_LINE_READ)
                    .read_until(b'\n', &mut data)
                    .with_context(cannot_read)?;
                let long = n as u64 == MAX_LINE_READ && data.last() != Some(&b'\n');
                if n > 0 && !long {
                    lines += 1;
                }
                let full = lines >= self.options.batch_lines || data.len() >= CHUNK_BYTES;
                if (n == 0 || long || full) && lines > 0 {
                    // The chunk so far, without the long line's start.
                    let mut next = Vec::with_capacity(CHUNK_BYTES + 4096);
                    if long {
                        next.extend_from_slice(&data[before..]);
                        data.truncate(before);
                    }
                    let chunk = at.chunk(index, std::mem::replace(&mut data, next), lines, None);
                    lines = 0;
                    if chunks.send(chunk).is_err() {
                        return Ok(());
                    }
                }
                if long {
                    // A line no event can be: read through, never held, reported bad.
                    let before = at.hasher.clone();
                    at.hasher.update(&data);
                    let mut length = data.len() as u64;
                    data.clear();
                    loop {
                        let buf = reader.fill_buf().with_context(cannot_read)?;
                        if buf.is_empty() {
                            break;
                        }
                        let end = buf.iter().position(|b| *b == b'\n').map(|i| i + 1);
                        let take = end.unwrap_or(buf.len());
                        at.hasher.update(&buf[..take]);
                        length += take as u64;
                        reader.consume(take);
                        if end.is_some() {
                            break;
                        }
                    }
                    let chunk = Chunk {
                        seq: at.seq,
                        input: index,
                        first_line: at.line,
                        start_bytes: at.bytes,
                        hasher: before,
                        data: Vec::new(),
                        too_long: Some((length, at.hasher.clone().finalize())),
                    };
                    at.seq += 1;
                    at.line += 1;
                    at.bytes += length;
                    if chunks.send(chunk).is_err() {
                        return Ok(());
                    }
                }
                if n == 0 {
                    break;
                }
            }
            seq = at.seq;
        }
        Ok(())
    }

    /// A worker: chunks read, encoded and sent until there are no more.
    fn work(&self, chunks: &Mutex<Receiver<Chunk>>, done: &SyncSender<Done>) {
        loop {
            let next = chunks.lock().unwrap_or_else(PoisonError::into_inner).recv();
            let Ok(chunk) = next else { return };
            let result = self.chunk(&chunk);
            if done.send(result).is_err() {
                return;
            }
        }
    }

    /// Reads, encodes and sends one chunk.
    fn chunk(&self, chunk: &Chunk) -> Done {
        let input = &self.inputs[chunk.input];
        let meta = HecMeta::new()
            .index(&self.backend.index)
            .sourcetype(spoor::DEFAULT_SOURCETYPE)
            .source(&input.name);
        let mut batcher = Batcher::new(REQUEST_BYTES);
        let mut requests = Vec::new();
        let mut raw = Vec::new();
        let mut envelope = Vec::with_capacity(512);
        let mut result = Done {
            seq: chunk.seq,
            input: chunk.input,
            first_line: chunk.first_line,
            lines: 0,
            skipped: 0,
            bytes_end: chunk.start_bytes,
            crc: 0,
            events: 0,
            blank: 0,
            bad: Vec::new(),
            stop: None,
            acked: false,
            error: None,
        };
        if let Some((length, crc_after)) = chunk.too_long {
            return self.too_long(chunk, result, length, crc_after);
        }
        let mut consumed = 0;
        for (i, line) in chunk.data.split_inclusive(|b| *b == b'\n').enumerate() {
            let number = chunk.first_line + i as u64;
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            if input.start.ranges.iter().any(|r| r.holds(number)) {
                consumed += line.len();
                result.lines += 1;
                result.skipped += 1;
                continue;
            }
            match read_line(text, self.options.format, self.now) {
                Line::Blank => result.blank += 1,
                Line::Bad(reason) => {
                    let bad = BadLine {
                        file: input.name.clone(),
                        line: number,
                        reason,
                    };
                    if self.options.strict {
                        result.stop = Some(bad);
                        break;
                    }
                    result.bad.push(bad);
                }
                Line::Event(event) => {
                    result.events += 1;
                    match &self.transport {
                        Transport::Hec => {
                            envelope.clear();
                            event.encode_hec(&meta, &mut envelope);
                            match batcher.push(&envelope) {
                                Ok(Some(full)) => requests.push(full),
                                Ok(None) => {}
                                Err(err) => {
                                    result.error = Some(CliError::BadInput(format!(
                                        "{}:{number}: {err}",
                                        input.name
                                    )));
                                    return result;
                                }
                            }
                        }
                        Transport::Simple(_) => {
                            if !raw.is_empty() {
                                raw.push(b'\n');
                            }
                            event.encode_line(&mut raw);
                        }
                    }
                }
            }
            consumed += line.len();
            result.lines += 1;
        }
        requests.extend(batcher.finish());
        let mut hasher = chunk.hasher.clone();
        hasher.update(&chunk.data[..consumed]);
        result.crc = hasher.finalize();
        result.bytes_end = chunk.start_bytes + consumed as u64;
        let passed = self.options.strict;
        if passed && !self.pass_gate(chunk.seq, result.stop.is_some()) {
            return result;
        }
        // A chunk that has had its turn is sent even when a later chunk's bad line stopped the
        // import since: every line before the bad one goes. Only an interrupt stops it then.
        let halted = if passed {
            self.interrupt.load(Ordering::Relaxed)
        } else {
            self.stopped()
        };
        if halted && result.stop.is_none() {
            return result;
        }
        let sent = match &self.transport {
            Transport::Hec => requests
                .into_iter()
                .try_for_each(|request| self.client.hec_send(request).map(drop)),
            Transport::Simple(target) if !raw.is_empty() => {
                // Lines spoor-event wrote: UTF-8, one event each, newline-joined.
                let body = String::from_utf8(raw).unwrap_or_default();
                self.client.submit(target, [body.as_str()]).map(drop)
            }
            Transport::Simple(_) => Ok(()),
        };
        match sent {
            Ok(()) => result.acked = true,
            Err(err) => {
                self.halt_all();
                result.error = Some(self.backend.error("sending events", err));
            }
        }
        result
    }

    /// The result of a line longer than [`MAX_LINE_READ`]: bad, or done by an earlier run.
    fn too_long(&self, chunk: &Chunk, mut result: Done, length: u64, crc_after: u32) -> Done {
        let input = &self.inputs[chunk.input];
        let number = chunk.first_line;
        let earlier = input.start.ranges.iter().any(|r| r.holds(number));
        let bad = BadLine {
            file: input.name.clone(),
            line: number,
            reason: format!(
                "longer than {} MiB, which no event's line is",
                MAX_LINE_READ >> 20
            ),
        };
        if self.options.strict && !earlier {
            result.crc = chunk.hasher.clone().finalize();
            result.acked = self.pass_gate(chunk.seq, true);
            result.stop = Some(bad);
            return result;
        }
        Done {
            lines: 1,
            skipped: u64::from(earlier),
            bad: if earlier { Vec::new() } else { vec![bad] },
            bytes_end: chunk.start_bytes + length,
            crc: crc_after,
            acked: true,
            ..result
        }
    }

    /// Waits for chunk `seq`'s turn; false when the import stops before it. A chunk that
    /// holds a bad line stops the ones after it.
    fn pass_gate(&self, seq: u64, bad: bool) -> bool {
        let mut next = self
            .gate
            .next
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *next != seq && !self.halt.load(Ordering::Relaxed) {
            next = self
                .gate
                .turn
                .wait(next)
                .unwrap_or_else(PoisonError::into_inner);
        }
        // A bad line before this chunk, or a failure, stops it.
        if *next != seq || self.halt.load(Ordering::Relaxed) {
            return false;
        }
        *next += 1;
        if bad {
            self.halt.store(true, Ordering::Relaxed);
        }
        self.gate.turn.notify_all();
        true
    }
}

/// One input's progress as the collector keeps it.
#[derive(Default)]
struct Kept {
    prefix: Progress,
    /// Chunks acknowledged past the prefix, by sequence number.
    ahead: BTreeMap<u64, Range>,
}

/// Takes the workers' results in order of reading and keeps every input's progress.
fn collect(
    shared: &Shared<'_>,
    done: &Receiver<Done>,
    summary: &mut Summary,
    on_bad: &mut impl FnMut(&BadLine),
    on_progress: &mut impl FnMut(u64, u64, u64),
) -> Result<(), CliError> {
    let mut kept: Vec<Kept> = shared
        .inputs
        .iter()
        .map(|input| Kept {
            prefix: input.start.clone(),
            ahead: BTreeMap::new(),
        })
        .collect();
    let total_bytes: u64 = shared
        .inputs
        .iter()
        .filter_map(|i| {
            let length = std::fs::metadata(i.path.as_ref()?).ok()?.len();
            Some(length.saturating_sub(i.start.bytes))
        })
        .sum();
    let mut waiting: BTreeMap<u64, Done> = BTreeMap::new();
    let mut next = 0;
    // Once a chunk is not acknowledged, the prefix stops there; later acknowledged chunks
    // are kept as ranges.
    let mut broken = false;
    let mut first_error = None;
    // Bytes read this run, in every input, for the progress bar (whose total is the inputs'
    // sizes less what earlier runs did).
    let mut bytes_done = 0;
    let mut events_done = 0;
    for result in done {
        let input = result.input;
        if result.acked && (broken || result.seq != next) {
            // Acknowledged ahead of the prefix: a range, until the prefix reaches it.
            kept[input].ahead.insert(
                result.seq,
                Range {
                    first: result.first_line,
                    last: result.first_line + result.lines.max(1) - 1,
                    events: result.events,
                    bad: result.bad.len() as u64,
                    blank: result.blank,
                },
            );
        }
        waiting.insert(result.seq, result);
        while !broken && let Some(result) = waiting.remove(&next) {
            next += 1;
            if let Some(err) = result.error {
                first_error.get_or_insert(err);
                broken = true;
                break;
            }
            let k = &mut kept[result.input];
            k.ahead.remove(&result.seq);
            if result.acked || result.events == 0 {
                // Done: counted and its bad lines reported (a chunk not sent is read again,
                // and its bad lines reported then).
                for bad in &result.bad {
                    on_bad(bad);
                }
                summary.lines += result.lines - result.skipped;
                summary.blank += result.blank;
                summary.bad += result.bad.len() as u64;
                summary.events += result.events;
                k.prefix.lines += result.lines;
                bytes_done += result.bytes_end - k.prefix.bytes;
                k.prefix.bytes = result.bytes_end;
                k.prefix.crc = result.crc;
                k.prefix.events += result.events;
                k.prefix.bad += result.bad.len() as u64;
                k.prefix.blank += result.blank;
                // Earlier runs' ranges the prefix now covers join it.
                let upto = k.prefix.lines;
                let (covered, rest): (Vec<Range>, Vec<Range>) =
                    k.prefix.ranges.iter().partition(|r| r.last <= upto);
                for r in covered {
                    k.prefix.events += r.events;
                    k.prefix.bad += r.bad;
                    k.prefix.blank += r.blank;
                }
                k.prefix.ranges = rest;
                events_done += result.events;
            } else {
                broken = true;
            }
            if let Some(stop) = result.stop {
                summary.stopped_at = Some(stop);
                broken = true;
            }
        }
        // Results past the break that were acknowledged are counted where they are.
        if broken {
            for result in std::mem::take(&mut waiting).into_values() {
                if result.acked {
                    summary.events += result.events;
                    summary.lines += result.lines - result.skipped;
                    summary.bad += result.bad.len() as u64;
                    summary.blank += result.blank;
                    for bad in &result.bad {
                        on_bad(bad);
                    }
                }
                if let Some(err) = result.error {
                    first_error.get_or_insert(err);
                }
            }
            shared.halt_all();
        }
        on_progress(bytes_done, total_bytes, events_done);
        save(&shared.inputs[input], &kept[input], false)?;
    }
    for (input, k) in shared.inputs.iter().zip(&kept) {
        save(input, k, true)?;
    }
    first_error.map_or(Ok(()), Err)
}

/// Keeps an input's progress in its state file (none for standard input).
fn save(input: &Input, kept: &Kept, durable: bool) -> Result<(), CliError> {
    let Some(state) = &input.state else {
        return Ok(());
    };
    let mut progress = kept.prefix.clone();
    progress.ranges.extend(kept.ahead.values().copied());
    progress.ranges.sort_by_key(|r| r.first);
    state
        .save(&progress, durable)
        .with_context(|| {
            format!(
                "cannot keep the import's progress in {}",
                state.path().display()
            )
        })
        .map_err(CliError::from)
}
