//! Search jobs: `search/jobs` (exec modes `normal`, `blocking`, `oneshot`), a job's status,
//! `results` (paged), `events`, `control`, and `search/jobs/export`; the v2 forms alike.
//!
//! Searches run on blocking threads, at most [`Limits::max_searches`](super::Limits) at once
//! (more are refused with 503, as Splunk refuses past its quota). A finished job's results are
//! kept for [`Limits::job_ttl`](super::Limits) after their last use, and at most
//! [`Limits::max_jobs`](super::Limits) jobs are kept.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http::{Method, StatusCode};
use spoor_proto::reply::{self as wire, Content, Entry, ExportWriter, Item, OutputMode, Table};
use spoor_proto::{Level, Message};
use spoor_spl::ast::{Command, Query};
use spoor_spl::modifier::TimeModifier;
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::body::Body;
use super::reply::{self, Paging, Req, Response, error, feed_time, job_time, respond};
use super::route::Api;
use super::{Limits, State};
use crate::search::{self, Results, Window};

/// The jobs the server holds.
#[derive(Debug)]
pub(crate) struct Jobs {
    limits: Limits,
    table: Mutex<HashMap<String, Arc<Job>>>,
    permits: Arc<Semaphore>,
    counter: AtomicU64,
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
    events: Mutex<Option<Arc<Outcome>>>,
    last_used: Mutex<Instant>,
}

/// How a search ended.
#[derive(Debug, Clone)]
enum Outcome {
    Done { results: Arc<Results>, seconds: f64 },
    Failed(String),
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
        }
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

/// Runs a query on a blocking thread, holding a search permit until it ends.
fn run(
    state: &Arc<State>,
    permit: OwnedSemaphorePermit,
    query: Query,
    window: Window,
) -> watch::Receiver<Option<Outcome>> {
    let (tx, rx) = watch::channel(None);
    let engine = Arc::clone(&state.engine);
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        // A panic in the evaluator fails this job, never leaves it running for ever.
        let searched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine.search(&query, &window)
        }));
        let outcome = match searched {
            Ok(Ok(results)) => Outcome::Done {
                results: Arc::new(results),
                seconds: started.elapsed().as_secs_f64(),
            },
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "search failed");
                Outcome::Failed(err.to_string())
            }
            Err(_) => {
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
    let (parsed, permit) = match prepare(&state, &form).await {
        Ok(ready) => ready,
        Err(refused) => return refused.reply(mode),
    };
    let outcome = run(&state, permit, parsed.query.clone(), parsed.window);
    if exec_mode == "oneshot" {
        let outcome = finished(outcome).await;
        return results_page(&form, mode, &outcome);
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
        finished(outcome).await;
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
/// `offset`.
fn results_page(form: &spoor_proto::form::Form, mode: OutputMode, outcome: &Outcome) -> Response {
    let (results, messages) = match outcome {
        Outcome::Done { results, .. } => (Arc::clone(results), messages_of(results)),
        Outcome::Failed(text) => (
            Arc::new(Results::default()),
            vec![Message::new(Level::Fatal, text.clone())],
        ),
    };
    let rows = Paging::of(form, 100).range(results.rows.len());
    let table = Table {
        fields: &results.fields,
        offset: rows.start,
        rows: &results.rows[rows],
        messages: &messages,
        preview: false,
    };
    respond(StatusCode::OK, mode, wire::results(mode, &table))
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

fn job_entry(state: &State, job: &Job, api: Api, mode: OutputMode) -> Entry {
    let path = format!("{}/{}", jobs_path(api), job.sid);
    let outcome = job.outcome.borrow().clone();
    let (dispatch, done, failed, rows, seconds, messages) = match &outcome {
        None => ("RUNNING", false, false, 0, 0.0, Vec::new()),
        Some(Outcome::Done { results, seconds }) => (
            "DONE",
            true,
            false,
            results.rows.len(),
            *seconds,
            messages_of(results),
        ),
        Some(Outcome::Failed(text)) => (
            "FAILED",
            true,
            true,
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
    let time = |t: Option<OffsetDateTime>| t.map_or(Item::Null, |t| Item::Text(job_time(t)));
    let messages = match mode {
        OutputMode::Json => Item::List(
            messages
                .iter()
                .map(|m| {
                    Item::Dict(vec![
                        ("type".into(), Item::from(m.level.as_str())),
                        ("text".into(), Item::from(m.text.as_str())),
                    ])
                })
                .collect(),
        ),
        OutputMode::Xml => {
            let mut levels: Vec<(String, Item)> = Vec::new();
            for m in &messages {
                let level = m.level.as_str().to_ascii_lowercase();
                match levels.iter_mut().find(|(l, _)| *l == level) {
                    Some((_, Item::List(texts))) => texts.push(Item::from(m.text.as_str())),
                    _ => levels.push((level, Item::List(vec![Item::from(m.text.as_str())]))),
                }
            }
            Item::Dict(levels)
        }
    };
    let ttl = state.options.limits.job_ttl.as_secs();
    let links = [
        "search.log",
        "events",
        "results",
        "results_preview",
        "timeline",
        "summary",
        "control",
    ];
    let mut all_links = vec![("alternate".to_owned(), path.clone())];
    all_links.extend(
        links
            .iter()
            .map(|l| ((*l).to_owned(), format!("{path}/{l}"))),
    );
    Entry {
        name: job.search.clone(),
        id: format!("{}://{}{path}", state.scheme(), state.addr),
        updated: job_time(OffsetDateTime::now_utc()),
        published: Some(job_time(job.published)),
        author: state.options.credentials.username.clone(),
        links: all_links,
        content: Content::Dict(vec![
            ("cursorTime".into(), time(Some(OffsetDateTime::UNIX_EPOCH))),
            ("defaultSaveTTL".into(), Item::from("604800")),
            ("defaultTTL".into(), Item::from(ttl.to_string())),
            ("dispatchState".into(), Item::from(dispatch)),
            (
                "doneProgress".into(),
                Item::Num(if done { 1.0 } else { 0.0 }),
            ),
            ("eai:acl".into(), job_acl(state, ttl)),
            ("earliestTime".into(), time(job.window.earliest)),
            ("eventCount".into(), Item::from(events as u64)),
            ("isDone".into(), Item::Bool(done)),
            ("isFailed".into(), Item::Bool(failed)),
            ("isFinalized".into(), Item::Bool(false)),
            ("isPaused".into(), Item::Bool(false)),
            ("isSaved".into(), Item::Bool(false)),
            ("isZombie".into(), Item::Bool(false)),
            ("latestTime".into(), time(job.window.latest)),
            ("messages".into(), messages),
            (
                "request".into(),
                Item::Dict(vec![
                    (
                        "earliest_time".into(),
                        Item::from(job.earliest_time.as_str()),
                    ),
                    ("latest_time".into(), Item::from(job.latest_time.as_str())),
                    ("search".into(), Item::from(job.search.as_str())),
                ]),
            ),
            ("resultCount".into(), Item::from(rows as u64)),
            ("runDuration".into(), Item::Num(seconds)),
            ("sid".into(), Item::from(job.sid.as_str())),
            (
                "ttl".into(),
                Item::Int(i64::try_from(ttl).unwrap_or(i64::MAX)),
            ),
        ]),
    }
}

/// A job's `eai:acl`, as Splunk gives it: owned by the user who ran it, in app `search`,
/// shared globally. The Python SDK needs it: once a job's status was read, the job's later
/// requests (`results`, `control`) take their namespace from it (`state.access.owner`).
fn job_acl(state: &State, ttl: u64) -> Item {
    let owner = state.options.credentials.username.as_str();
    Item::Dict(vec![
        ("app".into(), Item::from("search")),
        ("can_write".into(), Item::Bool(true)),
        ("modifiable".into(), Item::Bool(true)),
        ("owner".into(), Item::from(owner)),
        (
            "perms".into(),
            Item::Dict(vec![
                ("read".into(), Item::List(vec![Item::from(owner)])),
                ("write".into(), Item::List(vec![Item::from(owner)])),
            ]),
        ),
        ("sharing".into(), Item::from("global")),
        ("ttl".into(), Item::from(ttl.to_string())),
    ])
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
    results_page(&form, mode, &outcome)
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
        return results_page(&form, mode, &outcome);
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
            let events = Arc::new(finished(run(&state, permit, query, job.window)).await);
            *job.events.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&events));
            events
        }
    };
    results_page(&form, mode, &events)
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

/// Rows an export piece holds.
const EXPORT_ROWS_PER_PIECE: usize = 512;

/// `search/jobs/export`: the search's results streamed as they are written, never held whole.
pub(crate) async fn export(state: Arc<State>, req: Req) -> Response {
    if req.method != Method::GET && req.method != Method::POST {
        return reply::wrong_method(req.mode, &req.method);
    }
    let form = req.form();
    let mode = form_mode(&req, &form);
    let (parsed, permit) = match prepare(&state, &form).await {
        Ok(ready) => ready,
        Err(refused) => return refused.reply(mode),
    };
    let results = match finished(run(&state, permit, parsed.query, parsed.window)).await {
        Outcome::Done { results, .. } => results,
        Outcome::Failed(text) => Arc::new(Results {
            messages: vec![search::Message {
                level: search::Level::Error,
                text,
            }],
            ..Results::default()
        }),
    };
    let messages = messages_of(&results);
    let mut next = 0;
    let mut head = Some(messages);
    let mut done = false;
    let pieces = std::iter::from_fn(move || {
        if done {
            return None;
        }
        let writer = ExportWriter::new(mode, &results.fields);
        let mut out = Vec::new();
        if let Some(messages) = head.take() {
            writer.head(&mut out, &messages);
        }
        let total = results.rows.len();
        let end = (next + EXPORT_ROWS_PER_PIECE).min(total);
        for i in next..end {
            writer.row(&mut out, i, &results.rows[i], i + 1 == total);
        }
        next = end;
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
            .block_on(Server::bind(Arc::new(engine), options))
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
