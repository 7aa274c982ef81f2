//! The search-job state machine; its diagram is on [`SearchJob`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use http::{Request, Response};

use super::results::{Row, parse_results_body};
use super::{ExecMode, SearchParams, parse_job_status, parse_sid};
use crate::call::{Action, Exchange, Machine, Outcome};
use crate::error::{Error, Level, Message};
use crate::service::{Service, Shape, check, messages_of, shape};

/// How a job is polled, read and bounded in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobOptions {
    /// The wait before the second status poll (default 10 ms); it doubles each time, so a
    /// quick search is read quickly and a long one is polled about once a second.
    pub initial_wait: Duration,
    /// The longest wait between status polls (default 1 s).
    pub max_wait: Duration,
    /// Rows asked for per results page (default 10 000, below Splunk's `maxresultrows`
    /// default of 50 000).
    pub page_size: u64,
    /// A limit on the whole job, counted from the first poll; when passed, the job is
    /// cancelled and ends with [`Error::Timeout`]. Default: none.
    pub time_limit: Option<Duration>,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            initial_wait: Duration::from_millis(10),
            max_wait: Duration::from_secs(1),
            page_size: 10_000,
            time_limit: None,
        }
    }
}

impl JobOptions {
    fn wait(&self, polls: u32) -> Duration {
        self.initial_wait
            .saturating_mul(1u32.checked_shl(polls.min(31)).unwrap_or(u32::MAX))
            .min(self.max_wait)
    }
}

/// What a finished job reports (its rows went out through [`SearchJob::next_row`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobSummary {
    /// The sid (none for `oneshot`).
    pub sid: Option<String>,
    /// The number of rows read.
    pub rows: u64,
    /// Splunk's messages from the status and result pages, without repeats.
    pub messages: Vec<Message>,
    /// Whether the job was cancelled by [`SearchJob::cancel`].
    pub cancelled: bool,
}

#[derive(Debug)]
enum State {
    Create(Exchange),
    Status {
        sid: String,
        exchange: Exchange,
        polls: u32,
    },
    Sleep {
        sid: String,
        until: Instant,
        polls: u32,
    },
    Results {
        sid: String,
        offset: u64,
        total: u64,
        exchange: Exchange,
    },
    Cancel {
        exchange: Exchange,
        then: Option<Error>,
    },
    Done,
}

impl State {
    fn exchange_mut(&mut self) -> Option<&mut Exchange> {
        match self {
            Self::Create(x)
            | Self::Status { exchange: x, .. }
            | Self::Results { exchange: x, .. }
            | Self::Cancel { exchange: x, .. } => Some(x),
            Self::Sleep { .. } | Self::Done => None,
        }
    }
}

/// A search job, from creation to the last result row, as a machine the driver steps
/// (see [`Machine`] and the loop in [`call`](crate::call)). It never sleeps or reads a
/// clock: it is told the time and answers with [`Action::Wait`].
///
/// ```text
///           poll()               201 {"sid"} (normal, blocking)
/// new ──► Create ──────────────────────────────────► Status ◄───────────────────┐
///           │ POST search/jobs                          │ GET jobs/{sid}         │ time reached
///           │                                           ├── 204 / not done ──► Sleep: Wait(until),
///           │ 200 results page (oneshot,                │                        backoff doubling
///           │ count=0: every row)                       ├── failed ──────────► Done(Err(JobFailed))
///           │                                           │
///           │                                           ▼ done, resultCount = n
///           │                                        Results ◄──┐ GET jobs/{sid}/results
///           │                                           │       │   ?offset=k&count=c
///           │                                           ├───────┘ k += rows read, while k < n
///           ▼                                           ▼ k = n
///         Done ◄─────────────────────────────────────────
///
/// cancel(), or the time limit passed ──► Cancel ── POST jobs/{sid}/control ──► Done
///   (a create in flight is awaited first, so the new job is cancelled too)
/// ```
///
/// Every request goes through the shared retry and re-login rules of [`call`](crate::call).
/// Results are read page by page until all `resultCount` rows are in, never stopping at
/// Splunk's 100-row default; a page that comes back empty before that is an error, not a
/// silent cap. Rows wait in the machine until pulled with [`SearchJob::next_row`]; pull
/// them before each poll and memory holds at most one page.
///
/// ```
/// use std::time::Instant;
/// use spoor_proto::search::{ExecMode, SearchJob, SearchParams};
/// use spoor_proto::{Action, Config, Machine, Service};
///
/// let service = Service::new(&Config::builder().token("t").build()?)?;
/// let mut job = SearchJob::new(service, "search index=spoor | stats count by event", ExecMode::Normal, SearchParams::window("-7d@d", "now"))?;
/// # #[allow(clippy::disallowed_methods)]
/// let now = Instant::now();
/// let reply = |status: u16, body: &str| http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap();
///
/// let Action::Send(create) = job.poll(now) else { panic!() };
/// assert_eq!(create.uri().path(), "/services/search/jobs");
/// job.handle_response(reply(201, r#"{"sid":"1700000000.7"}"#), now);
///
/// let Action::Send(status) = job.poll(now) else { panic!() };
/// assert_eq!(status.uri().path(), "/services/search/jobs/1700000000.7");
/// job.handle_response(reply(200, r#"{"entry":[{"content":{"sid":"1700000000.7","dispatchState":"RUNNING","isDone":false}}]}"#), now);
/// let Action::Wait(until) = job.poll(now) else { panic!() }; // told to wait, not sleeping itself
///
/// let Action::Send(_) = job.poll(until) else { panic!() };
/// job.handle_response(reply(200, r#"{"entry":[{"content":{"dispatchState":"DONE","isDone":true,"resultCount":2}}]}"#), until);
///
/// let Action::Send(results) = job.poll(until) else { panic!() };
/// assert_eq!(results.uri().query(), Some("output_mode=json&offset=0&count=2"));
/// job.handle_response(reply(200, r#"{"preview":false,"init_offset":0,"messages":[],"results":[{"event":"login","count":"7"},{"event":"buy","count":"2"}]}"#), until);
///
/// let rows: Vec<_> = std::iter::from_fn(|| job.next_row()).collect();
/// assert_eq!(rows[1].get_str("event"), Some("buy"));
/// let Action::Done(Ok(summary)) = job.poll(until) else { panic!() };
/// assert_eq!((summary.sid.as_deref(), summary.rows), (Some("1700000000.7"), 2));
/// # Ok::<(), spoor_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct SearchJob {
    service: Service,
    mode: ExecMode,
    policy: JobOptions,
    state: State,
    rows: VecDeque<Row>,
    summary: JobSummary,
    started: bool,
    sent: bool,
    deadline: Option<Instant>,
    cancel_requested: bool,
    result: Option<Result<JobSummary, Error>>,
}

impl SearchJob {
    /// A job for `query` (which starts with `search` or `|`), created on the first poll.
    ///
    /// # Errors
    ///
    /// As [`Service::create_job_request`].
    pub fn new(
        service: Service,
        query: &str,
        mode: ExecMode,
        params: SearchParams,
    ) -> Result<Self, Error> {
        let create = Exchange::new(&service, service.create_job_request(query, mode, &params)?);
        Ok(Self {
            service,
            mode,
            policy: JobOptions::default(),
            state: State::Create(create),
            rows: VecDeque::new(),
            summary: JobSummary::default(),
            started: false,
            sent: false,
            deadline: None,
            cancel_requested: false,
            result: None,
        })
    }

    /// Uses these options.
    #[must_use]
    pub fn with_options(mut self, options: JobOptions) -> Self {
        self.policy = options;
        self
    }

    /// The sid, once Splunk has given one.
    pub fn sid(&self) -> Option<&str> {
        self.summary.sid.as_deref()
    }

    /// The next result row received so far.
    pub fn next_row(&mut self) -> Option<Row> {
        self.rows.pop_front()
    }

    /// Asks for the job to be cancelled: the next poll sends the cancel request (once the
    /// sid is known) and the job ends with `cancelled: true`. Rows not yet pulled are
    /// dropped.
    pub fn cancel(&mut self) {
        self.cancel_requested = true;
        self.rows.clear();
    }

    fn fail(&mut self, e: Error) -> Action<JobSummary> {
        self.state = State::Done;
        Action::Done(Err(e))
    }

    /// Goes to `Cancel` when there is a sid to cancel, else ends at once.
    fn start_cancel(&mut self, then: Option<Error>) {
        self.rows.clear();
        let request = self
            .summary
            .sid
            .as_deref()
            .map(|sid| self.service.cancel_job_request(sid));
        match (request, &self.state) {
            // A create already sent has no sid yet: wait for it, then cancel.
            (None, State::Create(_)) if then.is_none() && self.sent => {}
            (Some(Ok(req)), _) => {
                self.state = State::Cancel {
                    exchange: Exchange::new(&self.service, req),
                    then,
                }
            }
            (Some(Err(e)), _) => self.finish(Err(e)),
            (None, _) => self.finish(then.map_or_else(|| Ok(()), Err)),
        }
    }

    fn finish(&mut self, result: Result<(), Error>) {
        self.state = State::Done;
        self.result = Some(result.map(|()| {
            self.summary.cancelled |= self.cancel_requested;
            std::mem::take(&mut self.summary)
        }));
    }

    fn on_failure(&mut self, e: Error) {
        match std::mem::replace(&mut self.state, State::Done) {
            // The cancel failed (e.g. the job is gone already): end as planned.
            State::Cancel { then, .. } => self.finish(then.map_or_else(|| Ok(()), Err)),
            _ => self.finish(Err(e)),
        }
    }

    fn on_complete(&mut self, resp: &Response<Vec<u8>>, now: Instant) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Create(_) if self.mode == ExecMode::Oneshot => {
                if !self.cancel_requested {
                    self.take_oneshot(resp)?;
                }
                self.finish(Ok(()));
            }
            State::Create(_) => {
                let sid = parse_sid(resp)?;
                self.summary.sid = Some(sid.clone());
                if self.cancel_requested {
                    self.start_cancel(None);
                } else {
                    self.state = State::Status {
                        exchange: self.exchange(self.service.job_status_request(&sid)?),
                        sid,
                        polls: 0,
                    };
                }
            }
            State::Status { sid, polls, .. } => match parse_job_status(resp)? {
                Some(status) if status.is_failed() => {
                    return Err(Error::JobFailed {
                        sid,
                        messages: status.messages,
                    });
                }
                Some(status) if status.is_complete() => {
                    self.add_messages(status.messages);
                    self.next_page(sid, 0, status.result_count)?;
                }
                _ => {
                    self.state = State::Sleep {
                        sid,
                        until: now + self.policy.wait(polls),
                        polls: polls + 1,
                    }
                }
            },
            State::Results {
                sid, offset, total, ..
            } => {
                let page = parse_results_body(check(resp)?)?;
                let n = page.rows.len() as u64;
                self.add_messages(page.messages);
                self.summary.rows += n;
                self.rows.extend(page.rows);
                if n == 0 {
                    return Err(Error::parse("results (fewer rows than resultCount)"));
                }
                self.next_page(sid, offset + n, total)?;
            }
            State::Cancel { then, .. } => self.finish(then.map_or_else(|| Ok(()), Err)),
            State::Sleep { .. } | State::Done => {}
        }
        Ok(())
    }

    fn exchange(&self, request: Request<Vec<u8>>) -> Exchange {
        Exchange::new(&self.service, request)
    }

    fn next_page(&mut self, sid: String, offset: u64, total: u64) -> Result<(), Error> {
        if offset >= total {
            self.finish(Ok(()));
        } else {
            let count = self.policy.page_size.max(1).min(total - offset);
            let exchange = self.exchange(self.service.results_request(&sid, offset, count)?);
            self.state = State::Results {
                sid,
                offset,
                total,
                exchange,
            };
        }
        Ok(())
    }

    fn take_oneshot(&mut self, resp: &Response<Vec<u8>>) -> Result<(), Error> {
        let body = check(resp)?;
        // A oneshot search error can come back as 200 with an XML message body.
        if shape(body) == Shape::Xml {
            return Err(Error::JobFailed {
                sid: String::new(),
                messages: messages_of(body),
            });
        }
        let page = parse_results_body(body)?;
        if page.messages.iter().any(|m| m.level == Level::Fatal) {
            return Err(Error::JobFailed {
                sid: String::new(),
                messages: page.messages,
            });
        }
        self.add_messages(page.messages);
        self.summary.rows = page.rows.len() as u64;
        self.rows.extend(page.rows);
        Ok(())
    }

    fn add_messages(&mut self, messages: Vec<Message>) {
        for m in messages {
            if !self.summary.messages.contains(&m) {
                self.summary.messages.push(m);
            }
        }
    }
}

impl Machine for SearchJob {
    type Output = JobSummary;

    fn service(&self) -> &Service {
        &self.service
    }

    fn poll(&mut self, now: Instant) -> Action<JobSummary> {
        if !self.started {
            self.started = true;
            self.deadline = self
                .policy
                .time_limit
                .and_then(|limit| now.checked_add(limit));
        }
        if !matches!(self.state, State::Cancel { .. } | State::Done) {
            if self.cancel_requested {
                self.start_cancel(None);
            } else if self.deadline.is_some_and(|d| now >= d) {
                let limit = self.policy.time_limit.unwrap_or_default();
                self.start_cancel(Some(Error::Timeout {
                    what: "search job",
                    limit,
                }));
            }
        }
        if let Some(result) = self.result.take() {
            self.state = State::Done;
            return Action::Done(result);
        }
        if let State::Sleep { sid, until, polls } = &self.state {
            if now < *until {
                return Action::Wait(*until);
            }
            let (sid, polls) = (sid.clone(), *polls);
            match self.service.job_status_request(&sid) {
                Ok(req) => {
                    self.state = State::Status {
                        exchange: Exchange::new(&self.service, req),
                        sid,
                        polls,
                    }
                }
                Err(e) => return self.fail(e),
            }
        }
        let Some(exchange) = self.state.exchange_mut() else {
            return Action::Done(Err(Error::Finished));
        };
        match exchange.poll(&self.service, now) {
            Ok(Action::Send(r)) => {
                self.sent = true;
                Action::Send(r)
            }
            Ok(Action::Wait(t)) => Action::Wait(t),
            Ok(Action::Done(_)) => Action::Done(Err(Error::Finished)),
            Err(e) => self.fail(e),
        }
    }

    fn handle_response(&mut self, response: Response<Vec<u8>>, now: Instant) {
        let Some(exchange) = self.state.exchange_mut() else {
            return;
        };
        match exchange.handle_response(&mut self.service, response, now) {
            Outcome::Pending => {}
            Outcome::Failed(e) => self.on_failure(e),
            Outcome::Complete(resp) => {
                if let Err(e) = self.on_complete(&resp, now) {
                    self.on_failure(e);
                }
            }
        }
    }

    fn handle_transport_error(&mut self, error: Error, now: Instant) {
        let Some(exchange) = self.state.exchange_mut() else {
            return;
        };
        if let Outcome::Failed(e) = exchange.handle_transport_error(&mut self.service, error, now) {
            self.on_failure(e);
        }
    }
}

#[cfg(test)]
mod tests;
