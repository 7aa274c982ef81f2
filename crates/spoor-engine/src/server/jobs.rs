//! Search jobs: `search/jobs` (exec modes `normal`, `blocking`, `oneshot`), a job's status,
//! `results` (paged), `events`, `control`, and `search/jobs/export`; the v2 forms alike.
//!
//! Searches run on blocking threads, at most [`Limits::max_searches`](super::Limits) at once
//! (more are refused with 503, as Splunk refuses past its quota). A finished job's results are
//! kept for [`Limits::job_ttl`](super::Limits) after their last use, and at most
//! [`Limits::max_jobs`](super::Limits) jobs are kept.
//!
//! Memory: every set of results in memory (a finished job's, a running search's as its rows
//! are made, an export's or a `oneshot`'s while it is sent) is measured, allocations included,
//! and claimed from one budget, [`Limits::max_result_bytes`](super::Limits). A claim that does
//! not fit drops finished jobs, least recently used first; one that still does not fit stops
//! the search, which fails with 503 (a `normal` job: `FAILED`, the reason in its messages). Its
//! share of the budget is each job's `diskUsage`, where Splunk reports the size of a job's
//! results. A page of results holds at most [`Limits::max_result_rows`](super::Limits) rows and
//! [`Limits::max_reply_bytes`](super::Limits) bytes.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http::{Method, StatusCode};
use spoor_proto::reply::{self as wire, Entry, ExportWriter, OutputMode, Table};
use spoor_proto::search::DispatchState;
use spoor_proto::{Level, Message};
use spoor_spl::ast::{Command, Head, Query};
use spoor_spl::modifier::TimeModifier;
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::body::Body;
use super::reply::{self, Paging, Req, Response, error, feed_time, job_time, respond};
use super::route::Api;
use super::{Limits, State};
use crate::search::{self, Results, SearchError, Window};

/// The jobs the server holds.
#[derive(Debug)]
pub(crate) struct Jobs {
    limits: Limits,
    table: Mutex<HashMap<String, Arc<Job>>>,
    permits: Arc<Semaphore>,
    counter: AtomicU64,
    meter: Arc<Meter>,
}

/// The bytes of search results in memory, against [`Limits::max_result_bytes`].
#[derive(Debug)]
struct Meter {
    limit: usize,
    used: AtomicUsize,
}

impl Meter {
    /// Takes `n` bytes if they fit.
    fn try_take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// The bytes claimed for one set of results; given back when the last holder lets go.
#[derive(Debug)]
struct Claim {
    meter: Arc<Meter>,
    bytes: AtomicUsize,
}

impl Claim {
    fn new(meter: &Arc<Meter>) -> Arc<Self> {
        Arc::new(Self {
            meter: Arc::clone(meter),
            bytes: AtomicUsize::new(0),
        })
    }

    fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    fn add(&self, n: usize) {
        self.bytes.fetch_add(n, Ordering::AcqRel);
    }

    /// Gives back `n` of the bytes claimed (at most all of them).
    fn release(&self, n: usize) {
        let n = n.min(self.bytes());
        self.bytes.fetch_sub(n, Ordering::AcqRel);
        self.meter.give_back(n);
    }

    fn release_all(&self) {
        let n = self.bytes.swap(0, Ordering::AcqRel);
        self.meter.give_back(n);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.meter.give_back(*self.bytes.get_mut());
    }
}

/// Results in memory, with the claim that accounts for them.
#[derive(Debug)]
struct Kept {
    results: Results,
    claim: Arc<Claim>,
}

/// One search job.
#[derive(Debug)]
struct Job {
    sid: String,
    search: String,
    query: Query,
    window: Window,
    earliest_time: String,
    latest_time: String,
    published: OffsetDateTime,
    outcome: watch::Receiver<Option<Outcome>>,
    /// What the results take in memory, while the search runs and after.
    claim: Arc<Claim>,
    events: Mutex<Option<Arc<Outcome>>>,
    last_used: Mutex<Instant>,
}

impl Job {
    /// The bytes of memory the job's results (and its events, once asked for) take.
    fn bytes(&self) -> usize {
        let events = match self
            .events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_deref()
        {
            Some(Outcome::Done { kept, .. }) => kept.claim.bytes(),
            _ => 0,
        };
        self.claim.bytes() + events
    }
}

/// How a search ended.
#[derive(Debug, Clone)]
enum Outcome {
    Done {
        kept: Arc<Kept>,
        seconds: f64,
    },
    Failed(String),
    /// Its results did not fit in the memory for results: this text says so.
    TooLarge(String),
}

/// A search ready to run: its query and window.
#[derive(Debug)]
struct Parsed {
    search: String,
    query: Query,
    window: Window,
    earliest_time: String,
    latest_time: String,
}

impl Jobs {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            table: Mutex::new(HashMap::new()),
            permits: Arc::new(Semaphore::new(limits.max_searches)),
            counter: AtomicU64::new(0),
            meter: Arc::new(Meter {
                limit: limits.max_result_bytes,
                used: AtomicUsize::new(0),
            }),
        }
    }

    /// Claims `n` more bytes for `claim`, dropping finished jobs (least recently used first)
    /// while they do not fit; `false` when they cannot.
    fn claim(&self, claim: &Claim, n: usize) -> bool {
        loop {
            if self.meter.try_take(n) {
                claim.add(n);
                return true;
            }
            // The job is dropped outside the lock; its results go once no reply holds them.
            match self.evict_one() {
                Some(job) => {
                    tracing::info!(
                        sid = job.sid,
                        bytes = job.bytes(),
                        "search job dropped to make room for other results"
                    );
                    drop(job);
                }
                None => return false,
            }
        }
    }

    /// Takes the least recently used finished job that holds results out of the table.
    fn evict_one(&self) -> Option<Arc<Job>> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let sid = table
            .values()
            .filter(|j| j.outcome.borrow().is_some() && j.bytes() > 0)
            .min_by_key(|j| *j.last_used.lock().unwrap_or_else(|e| e.into_inner()))
            .map(|j| j.sid.clone())?;
        table.remove(&sid)
    }

    /// Makes `claim` exactly `bytes`, claiming or giving back the difference; `false` when
    /// more is needed and it does not fit.
    fn settle(&self, claim: &Claim, bytes: usize) -> bool {
        let held = claim.bytes();
        if bytes > held {
            self.claim(claim, bytes - held)
        } else {
            claim.release(held - bytes);
            true
        }
    }

    /// The text of a search stopped for want of memory.
    fn too_large(&self) -> String {
        format!(
            "the search's results need more memory than the engine keeps for search results \
             (max_result_bytes = {} bytes, shared by all jobs; finished jobs are dropped first \
             to make room): narrow the search (a shorter time range, fewer fields, head or \
             stats) or raise --max-result-bytes",
            self.limits.max_result_bytes
        )
    }

    fn get(&self, sid: &str) -> Option<Arc<Job>> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        self.expire(&mut table);
        let job = table.get(sid).cloned()?;
        *job.last_used.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Some(job)
    }

    fn remove(&self, sid: &str) -> bool {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(sid).is_some()
    }

    fn insert(&self, job: Arc<Job>) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        self.expire(&mut table);
        // Past the limit the least recently used finished jobs go; running ones (at most
        // `max_searches`) stay.
        while table.len() >= self.limits.max_jobs {
            let oldest = table
                .values()
                .filter(|j| j.outcome.borrow().is_some())
                .min_by_key(|j| *j.last_used.lock().unwrap_or_else(|e| e.into_inner()))
                .map(|j| j.sid.clone());
            match oldest {
                Some(sid) => table.remove(&sid),
                None => break,
            };
        }
        table.insert(job.sid.clone(), job);
    }

    /// Drops finished jobs unused for longer than the TTL.
    fn expire(&self, table: &mut HashMap<String, Arc<Job>>) {
        let now = Instant::now();
        table.retain(|_, job| {
            let used = *job.last_used.lock().unwrap_or_else(|e| e.into_inner());
            job.outcome.borrow().is_none() || now.duration_since(used) < self.limits.job_ttl
        });
    }

    fn list(&self) -> Vec<Arc<Job>> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        self.expire(&mut table);
        let mut jobs: Vec<Arc<Job>> = table.values().cloned().collect();
        jobs.sort_by(|a, b| a.sid.cmp(&b.sid));
        jobs
    }

    fn next_sid(&self, now: OffsetDateTime) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}.{n}", now.unix_timestamp())
    }
}

/// Claims memory for a search's rows as they are made, a chunk at a time.
struct Taker<'a> {
    jobs: &'a Jobs,
    claim: &'a Claim,
    /// Bytes claimed and not yet used by a row.
    spare: usize,
}

/// Bytes claimed at once for rows to come, so that a search does not claim row by row.
const CLAIM_CHUNK: usize = 1 << 20;

impl Taker<'_> {
    fn take(&mut self, n: usize) -> bool {
        if n <= self.spare {
            self.spare -= n;
            return true;
        }
        let need = n - self.spare;
        // A whole chunk if it fits as things are; else only what this row needs, making room.
        let chunk = CLAIM_CHUNK.max(need);
        if self.jobs.meter.try_take(chunk) {
            self.claim.add(chunk);
            self.spare = chunk - need;
            return true;
        }
        if self.jobs.claim(self.claim, need) {
            self.spare = 0;
            return true;
        }
        false
    }
}

/// Runs a query on a blocking thread, holding a search permit until it ends; its rows are
/// claimed from the memory for results as they are made (with `claim`), and the search stops
/// when they do not fit.
fn run(
    state: &Arc<State>,
    permit: OwnedSemaphorePermit,
    query: Query,
    window: Window,
    claim: Arc<Claim>,
) -> watch::Receiver<Option<Outcome>> {
    let (tx, rx) = watch::channel(None);
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let jobs = &state.jobs;
        let mut taker = Taker {
            jobs,
            claim: &claim,
            spare: 0,
        };
        // A panic in the evaluator fails this job, never leaves it running for ever.
        let searched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            state
                .engine
                .search_while(&query, &window, |row| taker.take(row_bytes(row)))
        }));
        let outcome = match searched {
            Ok(Ok(mut results)) => {
                results.rows.shrink_to_fit();
                if jobs.settle(&claim, results_bytes(&results)) {
                    Outcome::Done {
                        kept: Arc::new(Kept {
                            results,
                            claim: Arc::clone(&claim),
                        }),
                        seconds: started.elapsed().as_secs_f64(),
                    }
                } else {
                    drop(results);
                    claim.release_all();
                    Outcome::TooLarge(jobs.too_large())
                }
            }
            Ok(Err(SearchError::Stopped)) => {
                claim.release_all();
                tracing::warn!(search = %query, "search stopped: its results do not fit in memory");
                Outcome::TooLarge(jobs.too_large())
            }
            Ok(Err(err)) => {
                claim.release_all();
                tracing::warn!(error = %err, "search failed");
                Outcome::Failed(err.to_string())
            }
            Err(_) => {
                claim.release_all();
                tracing::error!(search = %query, "the search panicked");
                Outcome::Failed(
                    "the search failed inside the engine (a bug); it was logged".to_owned(),
                )
            }
        };
        drop(permit);
        let _ = tx.send(Some(outcome));
    });
    rx
}

/// Bytes the allocator takes for a block of `n` bytes: glibc's `malloc` adds an 8-byte header
/// and rounds up to 16, at least 32 in all; an empty block takes none.
fn block(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n.saturating_add(8 + 15) / 16 * 16).max(32)
    }
}

const ROW_SLOT: usize = size_of::<Vec<Option<String>>>();
const CELL: usize = size_of::<Option<String>>();

/// The memory a result row takes: its slot in the rows, its cells and their text.
fn row_bytes(row: &[Option<String>]) -> usize {
    ROW_SLOT + cells_bytes(row, row.len())
}

/// A row's cells, `cells` of them allocated, and their text.
fn cells_bytes(row: &[Option<String>], cells: usize) -> usize {
    block(cells * CELL)
        + row
            .iter()
            .flatten()
            .map(|s| block(s.capacity()))
            .sum::<usize>()
}

/// The memory results take, as they are kept: the rows as allocated, the field names and
/// the messages.
fn results_bytes(results: &Results) -> usize {
    let rows: usize = results
        .rows
        .iter()
        .map(|row| cells_bytes(row, row.capacity()))
        .sum();
    let fields: usize = results.fields.iter().map(|f| block(f.capacity())).sum();
    let messages: usize = results
        .messages
        .iter()
        .map(|m| block(m.text.capacity()))
        .sum();
    block(size_of::<Kept>() + 16)
        + block(results.rows.capacity() * ROW_SLOT)
        + rows
        + block(results.fields.capacity() * size_of::<String>())
        + fields
        + block(results.messages.capacity() * size_of::<search::Message>())
        + messages
}

async fn finished(mut rx: watch::Receiver<Option<Outcome>>) -> Outcome {
    loop {
        if let Some(outcome) = rx.borrow_and_update().clone() {
            return outcome;
        }
        if rx.changed().await.is_err() {
            return rx
                .borrow()
                .clone()
                .unwrap_or_else(|| Outcome::Failed("the search stopped unexpectedly".to_owned()));
        }
    }
}

fn fatal(mode: OutputMode, status: StatusCode, text: impl Into<String>) -> Response {
    error(status, mode, Level::Fatal, text)
}

/// A request refused before any search ran: the status and Splunk's `FATAL` text.
#[derive(Debug)]
struct Refused(StatusCode, String);

impl Refused {
    fn bad(text: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, text.into())
    }

    fn reply(self, mode: OutputMode) -> Response {
        fatal(mode, self.0, self.1)
    }
}

/// Reads `search`, `earliest_time` and `latest_time` from a form, as Splunk does: the search
/// must start with `search` or `|`.
fn parse(form: &spoor_proto::form::Form) -> Result<Parsed, Refused> {
    let Some(search) = form.get("search").map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(Refused::bad(
            "Empty search: give the search string in the `search` parameter",
        ));
    };
    if !(search.starts_with('|') || search.split_whitespace().next() == Some("search")) {
        let first = search.split_whitespace().next().unwrap_or(search);
        return Err(Refused::bad(format!("Unknown search command '{first}'.")));
    }
    let query = spoor_spl::parse(search).map_err(|err| Refused::bad(err.to_string()))?;
    let now = OffsetDateTime::now_utc();
    let bound = |name: &str| -> Result<Option<OffsetDateTime>, Refused> {
        let Some(text) = form.get(name).map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        TimeModifier::from_str(text)
            .map_err(|err| err.to_string())
            .and_then(|m| {
                m.resolve(now, UtcOffset::UTC)
                    .map_err(|err| err.to_string())
            })
            .map(Some)
            .map_err(|why| Refused::bad(format!("Invalid {name} '{text}': {why}")))
    };
    let window = Window {
        earliest: bound("earliest_time")?,
        latest: bound("latest_time")?,
    };
    // A chart's bounds that the window decides refuse the search now (400), not its job.
    search::check(&query, &window).map_err(|err| Refused::bad(err.to_string()))?;
    Ok(Parsed {
        search: search.to_owned(),
        query,
        window,
        earliest_time: form.get("earliest_time").unwrap_or_default().to_owned(),
        latest_time: form.get("latest_time").unwrap_or_default().to_owned(),
    })
}

/// The output mode of a POST, whose `output_mode` may be in the form body.
fn form_mode(req: &Req, form: &spoor_proto::form::Form) -> OutputMode {
    OutputMode::from_param(form.get("output_mode")).unwrap_or(req.mode)
}

/// A search slot: at once when one is free, else the first to free up within the queue wait
/// ([`Limits::search_queue_wait`](super::Limits)); past that, Splunk's 503.
async fn permit(state: &State) -> Result<OwnedSemaphorePermit, Refused> {
    let permits = Arc::clone(&state.jobs.permits);
    let waited = match permits.clone().try_acquire_owned() {
        Ok(permit) => Ok(permit),
        Err(_) => tokio::time::timeout(
            state.options.limits.search_queue_wait,
            permits.acquire_owned(),
        )
        .await
        .map_err(drop)
        .and_then(|acquired| acquired.map_err(drop)),
    };
    waited.map_err(|()| {
            Refused(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "Search not executed: The maximum number of concurrent historical searches on this instance has been reached. concurrency_limit={}",
                    state.options.limits.max_searches
                ),
            )
        })
}

/// A search read from a form, with the slot to run it in.
async fn prepare(
    state: &State,
    form: &spoor_proto::form::Form,
) -> Result<(Parsed, OwnedSemaphorePermit), Refused> {
    let parsed = parse(form)?;
    Ok((parsed, permit(state).await?))
}

/// `max_count`, when given: how many results the search keeps (`0`: no cap of its own).
fn max_count(form: &spoor_proto::form::Form) -> Result<Option<u64>, Refused> {
    let Some(text) = form
        .get("max_count")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    match text.parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(Refused::bad(format!(
            "Invalid max_count '{text}': give a whole number of results (0 for no limit)"
        ))),
    }
}

/// The query to run: with `head max_count` after it when a cap is given, so no more rows
/// than that are ever made.
fn capped(query: &Query, max_count: Option<u64>) -> Query {
    let mut query = query.clone();
    if let Some(count) = max_count {
        query.commands.push(Command::Head(Head { count }));
    }
    query
}

/// `search/jobs`: `GET` lists jobs, `POST` creates one.
pub(crate) async fn jobs(state: Arc<State>, req: Req, api: Api) -> Response {
    match req.method {
        Method::GET => list(&state, &req, api),
        Method::POST => create(state, req, api).await,
        _ => reply::wrong_method(req.mode, &req.method),
    }
}

fn list(state: &State, req: &Req, api: Api) -> Response {
    let now = feed_time(OffsetDateTime::now_utc());
    let mut feed = state.feed("jobs", jobs_path(api), &now);
    let jobs = state.jobs.list();
    feed.total = jobs.len();
    let entries: Vec<Entry> = jobs
        .iter()
        .map(|j| job_entry(state, j, api, req.mode))
        .collect();
    respond(StatusCode::OK, req.mode, feed.write(req.mode, &entries))
}

fn jobs_path(api: Api) -> &'static str {
    match api {
        Api::V1 => "/services/search/jobs",
        Api::V2 => "/services/search/v2/jobs",
    }
}

async fn create(state: Arc<State>, req: Req, api: Api) -> Response {
    let form = req.form();
    let mode = form_mode(&req, &form);
    let exec_mode = form.get("exec_mode").unwrap_or("normal");
    if !matches!(exec_mode, "normal" | "blocking" | "oneshot") {
        return fatal(
            mode,
            StatusCode::BAD_REQUEST,
            format!("Invalid exec_mode '{exec_mode}': use normal, blocking or oneshot"),
        );
    }
    let max_count = match max_count(&form) {
        Ok(n) => n,
        Err(refused) => return refused.reply(mode),
    };
    let (parsed, permit) = match prepare(&state, &form).await {
        Ok(ready) => ready,
        Err(refused) => return refused.reply(mode),
    };
    let claim = Claim::new(&state.jobs.meter);
    let query = capped(&parsed.query, max_count);
    let outcome = run(&state, permit, query, parsed.window, Arc::clone(&claim));
    if exec_mode == "oneshot" {
        let outcome = finished(outcome).await;
        return results_page(&state, &form, mode, &outcome);
    }
    let now = OffsetDateTime::now_utc();
    let job = Arc::new(Job {
        sid: state.jobs.next_sid(now),
        search: parsed.search,
        query: parsed.query,
        window: parsed.window,
        earliest_time: parsed.earliest_time,
        latest_time: parsed.latest_time,
        published: now,
        outcome: outcome.clone(),
        claim,
        events: Mutex::new(None),
        last_used: Mutex::new(Instant::now()),
    });
    state.jobs.insert(Arc::clone(&job));
    tracing::debug!(
        sid = job.sid,
        search = job.search,
        exec_mode,
        "search job created"
    );
    if exec_mode == "blocking" {
        // A blocking job whose results do not fit is refused as a whole, as Splunk refuses a
        // search past its quota; a normal one is reported FAILED.
        if let Outcome::TooLarge(text) = finished(outcome).await {
            state.jobs.remove(&job.sid);
            return fatal(mode, StatusCode::SERVICE_UNAVAILABLE, text);
        }
    } else {
        // A search that ends within moments is done by the time its id is returned, which
        // saves the client a round of polling; a longer one is returned running, as Splunk does.
        let _ = tokio::time::timeout(QUICK_SEARCH, finished(outcome)).await;
    }
    let mut response = respond(StatusCode::CREATED, mode, wire::sid(mode, &job.sid));
    let location = format!("{}/{}", jobs_path(api), job.sid);
    if let Ok(value) = http::HeaderValue::from_str(&location) {
        response.headers_mut().insert(http::header::LOCATION, value);
    }
    response
}

fn unknown_sid(mode: OutputMode) -> Response {
    fatal(mode, StatusCode::NOT_FOUND, "Unknown sid.")
}

fn messages_of(results: &Results) -> Vec<Message> {
    results
        .messages
        .iter()
        .map(|m| {
            let level = match m.level {
                search::Level::Info => Level::Info,
                search::Level::Warn => Level::Warn,
                search::Level::Error => Level::Error,
            };
            Message::new(level, m.text.clone())
        })
        .collect()
}

/// The page of an outcome a form asks for: `count` (default 100, `0` for all) rows from
/// `offset`, at most [`Limits::max_result_rows`] of them and as many as fit in
/// [`Limits::max_reply_bytes`]; 503 for results that did not fit in memory.
fn results_page(
    state: &State,
    form: &spoor_proto::form::Form,
    mode: OutputMode,
    outcome: &Outcome,
) -> Response {
    let empty = Results::default();
    let (results, messages) = match outcome {
        Outcome::Done { kept, .. } => (&kept.results, messages_of(&kept.results)),
        Outcome::Failed(text) => (&empty, vec![Message::new(Level::Fatal, text.clone())]),
        Outcome::TooLarge(text) => {
            return fatal(mode, StatusCode::SERVICE_UNAVAILABLE, text.clone());
        }
    };
    let limits = &state.options.limits;
    let rows = Paging::of(form, 100).range(results.rows.len());
    let most = limits.max_result_rows.max(1);
    let rows = rows.start..rows.end.min(rows.start.saturating_add(most));
    let fitting = match fit_reply(
        mode,
        &results.fields,
        &messages,
        &results.rows[rows.clone()],
        rows.start,
        limits.max_reply_bytes,
    ) {
        Ok(n) => n,
        Err(bytes) => {
            return fatal(
                mode,
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "result {} is {bytes} bytes as written, more than one reply may hold \
                     (max_reply_bytes = {} bytes): leave out its largest fields (fields - …) \
                     or raise --max-reply-bytes",
                    rows.start, limits.max_reply_bytes
                ),
            );
        }
    };
    let table = Table {
        fields: &results.fields,
        offset: rows.start,
        rows: &results.rows[rows.start..rows.start + fitting],
        messages: &messages,
        preview: false,
    };
    respond(StatusCode::OK, mode, wire::results(mode, &table))
}

/// How many of `rows` (from the first) one results page of `limit` bytes holds; `Err` with
/// the first row's size when not even that one fits.
///
/// A page is first sized by a bound that needs no writing (every byte of text escaped at
/// most six-fold, each cell's and row's markup generously counted); only a page past the
/// limit by that bound has its rows measured by writing them.
fn fit_reply(
    mode: OutputMode,
    fields: &[String],
    messages: &[Message],
    rows: &[Vec<Option<String>>],
    offset: usize,
    limit: usize,
) -> Result<usize, usize> {
    let head = 512
        + fields.iter().map(|f| 64 + 6 * f.len()).sum::<usize>()
        + messages
            .iter()
            .map(|m| 64 + 6 * m.text.len())
            .sum::<usize>();
    let room = limit.saturating_sub(head);
    let bound = |row: &Vec<Option<String>>| {
        128 + fields
            .iter()
            .zip(row)
            .filter_map(|(f, v)| v.as_ref().map(|v| 80 + 6 * (f.len() + v.len())))
            .sum::<usize>()
    };
    let mut total = 0usize;
    if rows.iter().all(|row| {
        total = total.saturating_add(bound(row));
        total <= room
    }) {
        return Ok(rows.len());
    }
    // Rows as an export writes them, which is at least what a page writes for them.
    let writer = ExportWriter::new(mode, fields);
    let mut scratch = Vec::new();
    let mut total = 0usize;
    for (i, row) in rows.iter().enumerate() {
        scratch.clear();
        writer.row(&mut scratch, offset + i, row, false);
        total = total.saturating_add(scratch.len());
        if total > room {
            return if i == 0 { Err(scratch.len()) } else { Ok(i) };
        }
    }
    Ok(rows.len())
}

/// `search/jobs/{sid}`: `GET` its status, `DELETE` removes it.
pub(crate) fn job(state: &State, req: &Req, api: Api, sid: &str) -> Response {
    if req.method == Method::DELETE {
        return if state.jobs.remove(sid) {
            let m = Message::new(Level::Info, "Search job cancelled.");
            respond(StatusCode::OK, req.mode, wire::messages(req.mode, &[m]))
        } else {
            unknown_sid(req.mode)
        };
    }
    let Some(job) = state.jobs.get(sid) else {
        return unknown_sid(req.mode);
    };
    let now = feed_time(OffsetDateTime::now_utc());
    let mut feed = state.feed("jobs", jobs_path(api), &now);
    feed.total = 1;
    let entry = job_entry(state, &job, api, req.mode);
    respond(
        StatusCode::OK,
        req.mode,
        wire::job_entry(req.mode, &feed, &entry),
    )
}

/// The job's entry: its values, in the shape [`wire::Job`] gives them.
fn job_entry(state: &State, job: &Job, api: Api, mode: OutputMode) -> Entry {
    let outcome = job.outcome.borrow().clone();
    let (dispatch, rows, seconds, messages) = match &outcome {
        None => (DispatchState::Running, 0, 0.0, Vec::new()),
        Some(Outcome::Done { kept, seconds }) => (
            DispatchState::Done,
            kept.results.rows.len(),
            *seconds,
            messages_of(&kept.results),
        ),
        Some(Outcome::Failed(text) | Outcome::TooLarge(text)) => (
            DispatchState::Failed,
            0,
            0.0,
            vec![Message::new(Level::Fatal, text.clone())],
        ),
    };
    let transforming = job
        .query
        .commands
        .iter()
        .any(|c| matches!(c, Command::Stats(_) | Command::Timechart(_)));
    let events = if transforming { 0 } else { rows };
    let base = format!("{}://{}", state.scheme(), state.addr);
    let [published, updated, cursor_time] = [
        job.published,
        OffsetDateTime::now_utc(),
        OffsetDateTime::UNIX_EPOCH,
    ]
    .map(job_time);
    let [earliest, latest] = [job.window.earliest, job.window.latest].map(|t| t.map(job_time));
    wire::Job {
        sid: &job.sid,
        search: &job.search,
        base: &base,
        collection: jobs_path(api),
        owner: &state.options.credentials.username,
        published: &published,
        updated: &updated,
        cursor_time: &cursor_time,
        earliest_time: earliest.as_deref(),
        latest_time: latest.as_deref(),
        requested_earliest: &job.earliest_time,
        requested_latest: &job.latest_time,
        state: dispatch,
        result_count: rows as u64,
        event_count: events as u64,
        run_duration: seconds,
        messages: &messages,
        // Splunk's size of the job's results; here the memory they take.
        disk_usage: job.bytes() as u64,
        ttl: state.options.limits.job_ttl.as_secs(),
    }
    .entry(mode)
}

/// `search/jobs/{sid}/results`: a page of the results (204 while the job runs).
pub(crate) fn results(state: &State, req: &Req, sid: &str) -> Response {
    let Some(job) = state.jobs.get(sid) else {
        return unknown_sid(req.mode);
    };
    let form = req.form();
    let mode = form_mode(req, &form);
    if form.get("search").is_some_and(|s| !s.trim().is_empty()) {
        return fatal(
            mode,
            StatusCode::BAD_REQUEST,
            "post-process searches (`search` on results) are not supported by the engine; put the commands in the job's search",
        );
    }
    let Some(outcome) = job.outcome.borrow().clone() else {
        return reply::with_type(StatusCode::NO_CONTENT, mode.content_type(), Body::empty());
    };
    results_page(state, &form, mode, &outcome)
}

/// `search/jobs/{sid}/events`: the events the search matched, before its first transforming
/// command (for a search without one, its results).
pub(crate) async fn events(state: Arc<State>, req: Req, sid: &str) -> Response {
    let Some(job) = state.jobs.get(sid) else {
        return unknown_sid(req.mode);
    };
    let form = req.form();
    let mode = form_mode(&req, &form);
    let Some(outcome) = job.outcome.borrow().clone() else {
        return reply::with_type(StatusCode::NO_CONTENT, mode.content_type(), Body::empty());
    };
    let cut = job
        .query
        .commands
        .iter()
        .position(|c| matches!(c, Command::Stats(_) | Command::Timechart(_)));
    let Some(cut) = cut else {
        return results_page(&state, &form, mode, &outcome);
    };
    let cached = job.events.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let events = match cached {
        Some(events) => events,
        None => {
            let permit = match permit(&state).await {
                Ok(permit) => permit,
                Err(refused) => return refused.reply(mode),
            };
            let query = Query {
                search: job.query.search.clone(),
                commands: job.query.commands[..cut].to_vec(),
            };
            let claim = Claim::new(&state.jobs.meter);
            let events = Arc::new(finished(run(&state, permit, query, job.window, claim)).await);
            // Events that did not fit are not kept: a later request tries again.
            if matches!(*events, Outcome::Done { .. }) {
                *job.events.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&events));
            }
            events
        }
    };
    results_page(&state, &form, mode, &events)
}

/// `search/jobs/{sid}/control`: `action=cancel` (the job goes), and the actions that change
/// nothing here (`finalize`, `pause`, `unpause`, `touch`, `setttl`, `setpriority`).
pub(crate) fn control(state: &State, req: &Req, sid: &str) -> Response {
    if req.method != Method::POST {
        return reply::wrong_method(req.mode, &req.method);
    }
    let form = req.form();
    let mode = form_mode(req, &form);
    if state.jobs.get(sid).is_none() {
        return unknown_sid(mode);
    }
    let text = match form.get("action") {
        Some("cancel") => {
            state.jobs.remove(sid);
            "Search job cancelled."
        }
        Some("finalize") => "Search job finalized.",
        Some("pause") => "Search job paused.",
        Some("unpause") => "Search job unpaused.",
        Some("touch") => "Search job touched.",
        Some("setttl") => "Search job ttl set.",
        Some("setpriority") => "Search job priority set.",
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                mode,
                Level::Error,
                format!(
                    "Unknown action '{other}': use cancel, finalize, pause, unpause, touch, setttl or setpriority"
                ),
            );
        }
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                mode,
                Level::Error,
                "Argument \"action\" is required",
            );
        }
    };
    respond(
        StatusCode::OK,
        mode,
        wire::messages(mode, &[Message::new(Level::Info, text)]),
    )
}

/// How long a `normal` job's creation waits for the search to end before returning its id.
const QUICK_SEARCH: std::time::Duration = std::time::Duration::from_millis(50);

/// Rows an export piece holds at most.
const EXPORT_ROWS_PER_PIECE: usize = 512;

/// Bytes after which an export piece ends (it ends after the row that passes them).
const EXPORT_PIECE_BYTES: usize = 1 << 20;

/// `search/jobs/export`: the search's results streamed as they are written, never held whole.
pub(crate) async fn export(state: Arc<State>, req: Req) -> Response {
    if req.method != Method::GET && req.method != Method::POST {
        return reply::wrong_method(req.mode, &req.method);
    }
    let form = req.form();
    let mode = form_mode(&req, &form);
    let max_count = match max_count(&form) {
        Ok(n) => n,
        Err(refused) => return refused.reply(mode),
    };
    let (parsed, permit) = match prepare(&state, &form).await {
        Ok(ready) => ready,
        Err(refused) => return refused.reply(mode),
    };
    let claim = Claim::new(&state.jobs.meter);
    let query = capped(&parsed.query, max_count);
    // The results stay claimed until the last piece is sent (or the client goes).
    let kept = match finished(run(&state, permit, query, parsed.window, claim)).await {
        Outcome::Done { kept, .. } => kept,
        Outcome::Failed(text) => Arc::new(Kept {
            results: Results {
                messages: vec![search::Message {
                    level: search::Level::Error,
                    text,
                }],
                ..Results::default()
            },
            claim: Claim::new(&state.jobs.meter),
        }),
        Outcome::TooLarge(text) => return fatal(mode, StatusCode::SERVICE_UNAVAILABLE, text),
    };
    let messages = messages_of(&kept.results);
    let mut next = 0;
    let mut head = Some(messages);
    let mut done = false;
    let pieces = std::iter::from_fn(move || {
        if done {
            return None;
        }
        let results = &kept.results;
        let writer = ExportWriter::new(mode, &results.fields);
        let mut out = Vec::new();
        if let Some(messages) = head.take() {
            writer.head(&mut out, &messages);
        }
        let total = results.rows.len();
        let end = (next + EXPORT_ROWS_PER_PIECE).min(total);
        while next < end && out.len() < EXPORT_PIECE_BYTES {
            writer.row(&mut out, next, &results.rows[next], next + 1 == total);
            next += 1;
        }
        if next == total {
            writer.tail(&mut out);
            done = true;
        }
        Some(Bytes::from(out))
    });
    reply::with_type(
        StatusCode::OK,
        mode.content_type(),
        Body::Pieces(Box::new(pieces)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{Credentials, Server, ServerOptions};

    /// A page sized by `fit_reply` is never over its limit as written, in either mode, even
    /// for text that escaping makes six times longer, and holds all the rows that fit.
    #[test]
    fn a_page_fits_its_byte_limit() {
        let fields: Vec<String> = ["_raw", "k'\"&", "n"].map(str::to_owned).to_vec();
        let rows: Vec<Vec<Option<String>>> = (0..200)
            .map(|i| {
                vec![
                    Some(format!("{i} <a href=\"x\">&'\u{1}\u{2028}é</a>").repeat(i % 13 + 1)),
                    (i % 3 != 0).then(|| "\u{0}\u{1f}\"".repeat(i % 40)),
                    Some(i.to_string()),
                ]
            })
            .collect();
        let messages = [Message::new(Level::Warn, "a <warning> & more")];
        for mode in [OutputMode::Json, OutputMode::Xml] {
            let write = |n: usize| {
                wire::results(
                    mode,
                    &Table {
                        fields: &fields,
                        offset: 7,
                        rows: &rows[..n],
                        messages: &messages,
                        preview: false,
                    },
                )
                .len()
            };
            for limit in [2_000, 5_000, 20_000, 100_000, 1 << 20] {
                let n = fit_reply(mode, &fields, &messages, &rows, 7, limit).unwrap();
                assert!(write(n) <= limit, "{mode:?} {limit}: {n} rows");
                // Not much room left unused: one more row would not have fitted by much.
                if n < rows.len() {
                    assert!(write(n + 1) > limit / 2, "{mode:?} {limit}: {n} rows");
                }
            }
            assert!(fit_reply(mode, &fields, &messages, &rows, 7, 600).is_err());
        }
    }

    /// The Python SDK reads a job's namespace from its `eai:acl` once it has read the job's
    /// status; without it `job.results()` fails inside the SDK (`access` is `None`).
    #[test]
    fn a_job_entry_has_splunks_eai_acl() {
        let dir = std::env::temp_dir().join(format!("spoor-jobs-acl-{}", std::process::id()));
        let (engine, _) = crate::Engine::open(&dir).unwrap();
        let options = ServerOptions::new(Credentials::new("ada", "pw"))
            .listen("127.0.0.1:0".parse().unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = runtime
            .block_on(async { Server::bind(Arc::new(engine), options) })
            .unwrap();
        let (_tx, outcome) = watch::channel(None);
        let job = Job {
            sid: "1.0".into(),
            search: "search index=x".into(),
            query: spoor_spl::parse("search index=x").unwrap(),
            window: Window::default(),
            earliest_time: String::new(),
            latest_time: String::new(),
            published: OffsetDateTime::UNIX_EPOCH,
            outcome,
            claim: Claim::new(&server.state.jobs.meter),
            events: Mutex::new(None),
            last_used: Mutex::new(Instant::now()),
        };
        let state = &server.state;
        let feed = state.feed("jobs", jobs_path(Api::V2), "t");
        let entry = job_entry(state, &job, Api::V2, OutputMode::Xml);
        let xml = String::from_utf8(wire::job_entry(OutputMode::Xml, &feed, &entry)).unwrap();
        for key in [
            r#"<s:key name="eai:acl">"#,
            r#"<s:key name="owner">ada</s:key>"#,
            r#"<s:key name="app">search</s:key>"#,
            r#"<s:key name="sharing">global</s:key>"#,
        ] {
            assert!(xml.contains(key), "{key} missing in {xml}");
        }
        let entry = job_entry(state, &job, Api::V2, OutputMode::Json);
        let json = String::from_utf8(wire::job_entry(OutputMode::Json, &feed, &entry)).unwrap();
        assert!(json.contains(r#""acl":{"app":"search""#), "{json}");
        drop(server);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
