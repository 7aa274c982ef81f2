//! Search: job requests and replies, result pages, the export decoder and the job state
//! machine ([`SearchJob`]).
//!
//! The time window travels as `earliest_time` / `latest_time` strings (epoch, ISO 8601 or
//! relative like `-7d@d`), never inside the query text.

mod export;
mod job;
mod results;
mod stream;

use http::{Method, Request, Response, StatusCode};

pub use export::{DEFAULT_MAX_LINE_LEN, ExportDecoder, ExportItem};
pub use job::{JobOptions, JobSummary, SearchJob};
pub use results::{ResultsPage, Row, Value, parse_results};
pub use stream::ExportSearch;

use crate::eai::{Entry, Field, parse_feed};
use crate::error::{Error, Level, Message};
use crate::form::{Form, encode_component};
use crate::service::{Body, SearchApi, Service, Shape, check, scalar, shape};

/// How a job is created (`exec_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecMode {
    /// Returns a sid at once; poll the status until done, then read the results.
    #[default]
    Normal,
    /// Returns the sid once the job is done.
    Blocking,
    /// Returns the results themselves, no sid.
    Oneshot,
}

impl ExecMode {
    /// The `exec_mode` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Blocking => "blocking",
            Self::Oneshot => "oneshot",
        }
    }
}

/// Job parameters besides the query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchParams {
    /// `earliest_time`, e.g. `-7d@d` or `2026-11-01T00:00:00Z`.
    pub earliest_time: Option<String>,
    /// `latest_time`, e.g. `now`.
    pub latest_time: Option<String>,
    /// `max_count`: how many results the job keeps (Splunk's default is 10 000 for events).
    pub max_count: Option<u64>,
    /// Any other job parameters, sent as given.
    pub extra: Form,
}

impl SearchParams {
    /// Parameters with a time window.
    pub fn window(earliest: impl Into<String>, latest: impl Into<String>) -> Self {
        Self {
            earliest_time: Some(earliest.into()),
            latest_time: Some(latest.into()),
            ..Self::default()
        }
    }

    fn write(&self, form: &mut Form) {
        form.push_opt("earliest_time", self.earliest_time.as_deref())
            .push_opt("latest_time", self.latest_time.as_deref());
        if let Some(n) = self.max_count {
            form.push("max_count", n.to_string());
        }
        for (k, v) in self.extra.pairs() {
            form.push(k.as_str(), v.as_str());
        }
    }
}

impl Service {
    fn jobs_path(&self) -> &'static str {
        match self.search_api() {
            SearchApi::V1 => "search/jobs",
            SearchApi::V2 => "search/v2/jobs",
        }
    }

    fn job_path(&self, sid: &str) -> String {
        format!("{}/{}", self.jobs_path(), encode_component(sid))
    }

    /// `POST search/jobs` creating a job. A `oneshot` job also asks for every row
    /// (`count=0`), since its reply would otherwise stop at 100.
    ///
    /// Read a normal or blocking reply with [`parse_sid`] and a oneshot reply with
    /// [`parse_results`].
    ///
    /// ```
    /// use spoor_proto::search::{ExecMode, SearchParams};
    ///
    /// let service = spoor_proto::Service::new(&spoor_proto::Config::builder().token("t").build()?)?;
    /// let req = service.create_job_request("search index=main | stats count", ExecMode::Normal, &SearchParams::window("-24h", "now"))?;
    /// assert_eq!(req.uri().path_and_query().unwrap(), "/services/search/jobs?output_mode=json");
    /// assert_eq!(
    ///     std::str::from_utf8(req.body()).unwrap(),
    ///     "search=search%20index%3Dmain%20%7C%20stats%20count&exec_mode=normal&earliest_time=-24h&latest_time=now",
    /// );
    /// # Ok::<(), spoor_proto::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] only if the configured base URL cannot form a URI.
    pub fn create_job_request(
        &self,
        query: &str,
        mode: ExecMode,
        params: &SearchParams,
    ) -> Result<Request<Vec<u8>>, Error> {
        let mut form = Form::new();
        form.push("search", query).push("exec_mode", mode.as_str());
        if mode == ExecMode::Oneshot {
            form.push("count", "0");
        }
        params.write(&mut form);
        self.post_form(self.jobs_path(), form)
    }

    /// `GET search/jobs/{sid}`; read it with [`parse_job_status`].
    ///
    /// # Errors
    ///
    /// As [`Service::create_job_request`].
    pub fn job_status_request(&self, sid: &str) -> Result<Request<Vec<u8>>, Error> {
        let mut q = Form::new();
        q.push("output_mode", "json");
        self.request(Method::GET, &self.job_path(sid), &q, None)
    }

    /// One page of a done job's results, `count` rows from `offset` (`GET …/results` on v1,
    /// `POST` on v2); read it with [`parse_results`].
    ///
    /// # Errors
    ///
    /// As [`Service::create_job_request`].
    pub fn results_request(
        &self,
        sid: &str,
        offset: u64,
        count: u64,
    ) -> Result<Request<Vec<u8>>, Error> {
        let mut form = Form::new();
        form.push("output_mode", "json")
            .push("offset", offset.to_string())
            .push("count", count.to_string());
        let path = format!("{}/results", self.job_path(sid));
        match self.search_api() {
            SearchApi::V1 => self.request(Method::GET, &path, &form, None),
            SearchApi::V2 => {
                self.request(Method::POST, &path, &Form::new(), Some(Body::Form(form)))
            }
        }
    }

    /// `POST search/jobs/export`: results streamed as the search runs, one JSON object a
    /// line. [`ExportSearch`] wraps it with the retry and re-login rules and an
    /// [`ExportDecoder`].
    ///
    /// # Errors
    ///
    /// As [`Service::create_job_request`].
    pub fn export_request(
        &self,
        query: &str,
        params: &SearchParams,
    ) -> Result<Request<Vec<u8>>, Error> {
        let mut form = Form::new();
        form.push("search", query);
        params.write(&mut form);
        self.post_form(&format!("{}/export", self.jobs_path()), form)
    }

    /// `POST search/jobs/{sid}/control` with `action=cancel`; check it with
    /// [`check`](crate::check) (a 404 `Unknown sid` means it is gone already).
    ///
    /// # Errors
    ///
    /// As [`Service::create_job_request`].
    pub fn cancel_job_request(&self, sid: &str) -> Result<Request<Vec<u8>>, Error> {
        let mut form = Form::new();
        form.push("action", "cancel");
        self.post_form(&format!("{}/control", self.job_path(sid)), form)
    }
}

/// Reads the sid from a job-creation reply: JSON `{"sid":…}` or XML
/// `<response><sid>…</sid></response>`.
///
/// # Errors
///
/// [`Error::Api`] for an error status (400 for bad SPL, with Splunk's `FATAL` message),
/// [`Error::Parse`] when there is no sid.
pub fn parse_sid<B: AsRef<[u8]>>(response: &Response<B>) -> Result<String, Error> {
    scalar(check(response)?, "sid", "job creation reply")
}

/// A job's `dispatchState`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DispatchState {
    /// `QUEUED`.
    Queued,
    /// `PARSING`.
    Parsing,
    /// `RUNNING`.
    Running,
    /// `PAUSED` (or `PAUSE`).
    Paused,
    /// `FINALIZING`.
    Finalizing,
    /// `FAILED`.
    Failed,
    /// `DONE`.
    Done,
    /// Anything else, as received.
    Other(String),
}

impl DispatchState {
    /// The state as Splunk writes it (`DONE`); [`Other`](Self::Other) as received.
    ///
    /// ```
    /// use spoor_proto::search::DispatchState;
    ///
    /// assert_eq!(DispatchState::Running.as_str(), "RUNNING");
    /// assert_eq!(DispatchState::Other("BAD".into()).as_str(), "BAD");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "QUEUED",
            Self::Parsing => "PARSING",
            Self::Running => "RUNNING",
            Self::Paused => "PAUSED",
            Self::Finalizing => "FINALIZING",
            Self::Failed => "FAILED",
            Self::Done => "DONE",
            Self::Other(other) => other,
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "QUEUED" => Self::Queued,
            "PARSING" => Self::Parsing,
            "RUNNING" => Self::Running,
            "PAUSE" | "PAUSED" => Self::Paused,
            "FINALIZING" => Self::Finalizing,
            "FAILED" => Self::Failed,
            "DONE" => Self::Done,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// What `search/jobs/{sid}` says about a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStatus {
    /// The sid.
    pub sid: String,
    /// `dispatchState`.
    pub dispatch_state: DispatchState,
    /// `isDone`.
    pub is_done: bool,
    /// `isFailed`.
    pub is_failed: bool,
    /// `doneProgress`, 0 to 1.
    pub done_progress: f64,
    /// `resultCount`: how many result rows there are to read.
    pub result_count: u64,
    /// `eventCount`.
    pub event_count: u64,
    /// The job's messages.
    pub messages: Vec<Message>,
}

impl JobStatus {
    /// Whether the job has finished successfully.
    pub fn is_complete(&self) -> bool {
        (self.is_done || self.dispatch_state == DispatchState::Done) && !self.is_failed()
    }

    /// Whether the job has failed.
    pub fn is_failed(&self) -> bool {
        self.is_failed || self.dispatch_state == DispatchState::Failed
    }
}

/// Reads a job status reply (JSON or Atom `<entry>`); `None` for 204 No Content, which
/// Splunk answers right after dispatch when the job is not ready yet.
///
/// # Errors
///
/// [`Error::Api`] for an error status (404 `Unknown sid`), [`Error::Parse`] when there is
/// no entry.
pub fn parse_job_status<B: AsRef<[u8]>>(
    response: &Response<B>,
) -> Result<Option<JobStatus>, Error> {
    if response.status() == StatusCode::NO_CONTENT {
        return Ok(None);
    }
    let body = check(response)?;
    if shape(body) == Shape::Empty {
        return Ok(None);
    }
    let entry = parse_feed(body)?
        .entries
        .into_iter()
        .next()
        .ok_or_else(|| Error::parse("job status"))?;
    Ok(Some(JobStatus {
        sid: entry.get_str("sid").unwrap_or_default().to_owned(),
        dispatch_state: DispatchState::parse(entry.get_str("dispatchState").unwrap_or_default()),
        is_done: entry.get_bool("isDone").unwrap_or(false),
        is_failed: entry.get_bool("isFailed").unwrap_or(false),
        done_progress: entry.get_f64("doneProgress").unwrap_or(0.0),
        result_count: entry.get_u64("resultCount").unwrap_or(0),
        event_count: entry.get_u64("eventCount").unwrap_or(0),
        messages: job_messages(&entry),
    }))
}

/// Job messages come as a JSON list of `{"type","text"}` or an XML dict of
/// level → list of texts.
fn job_messages(entry: &Entry) -> Vec<Message> {
    let text = |f: &Field| f.as_str().map(str::to_owned);
    match entry.get("messages") {
        Some(Field::List(items)) => items
            .iter()
            .filter_map(|item| match item {
                Field::Dict(kv) => {
                    let get = |k: &str| {
                        kv.iter()
                            .find(|(key, _)| key == k)
                            .and_then(|(_, v)| text(v))
                    };
                    Some(Message {
                        level: Level::parse(&get("type").unwrap_or_default()),
                        code: None,
                        text: get("text")?,
                    })
                }
                _ => None,
            })
            .collect(),
        Some(Field::Dict(levels)) => levels
            .iter()
            .flat_map(|(level, texts)| {
                let texts = match texts {
                    Field::List(items) => items.iter().filter_map(text).collect(),
                    other => text(other).into_iter().collect::<Vec<_>>(),
                };
                texts
                    .into_iter()
                    .map(move |t| Message::new(Level::parse(level), t))
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigBuilder;

    fn service(api: SearchApi) -> Service {
        let mut s = Service::new(&ConfigBuilder::new().token("t").build().unwrap()).unwrap();
        s.set_search_api(api);
        s
    }

    #[test]
    fn v1_and_v2_paths() {
        let v1 = service(SearchApi::V1);
        let r = v1.results_request("1403964060.2", 100, 50).unwrap();
        assert_eq!(
            (r.method(), r.uri().path()),
            (&Method::GET, "/services/search/jobs/1403964060.2/results")
        );
        assert_eq!(
            r.uri().query(),
            Some("output_mode=json&offset=100&count=50")
        );
        let v2 = service(SearchApi::V2);
        let r = v2.results_request("a b", 0, 10).unwrap();
        assert_eq!(
            (r.method(), r.uri().path()),
            (&Method::POST, "/services/search/v2/jobs/a%20b/results")
        );
        assert_eq!(r.body(), b"output_mode=json&offset=0&count=10");
        assert_eq!(
            v2.export_request("search x", &SearchParams::default())
                .unwrap()
                .uri()
                .path(),
            "/services/search/v2/jobs/export"
        );
        let r = v1.cancel_job_request("s").unwrap();
        assert_eq!(
            (r.uri().path(), r.body().as_slice()),
            ("/services/search/jobs/s/control", &b"action=cancel"[..])
        );
        let r = v1
            .create_job_request(
                "| makeresults",
                ExecMode::Oneshot,
                &SearchParams {
                    max_count: Some(5),
                    ..SearchParams::default()
                },
            )
            .unwrap();
        assert_eq!(
            r.body(),
            b"search=%7C%20makeresults&exec_mode=oneshot&count=0&max_count=5"
        );
    }

    #[test]
    fn sid_in_json_and_xml() {
        let json = Response::builder()
            .status(201)
            .body(r#"{"sid":"1403964060.2"}"#)
            .unwrap();
        assert_eq!(parse_sid(&json).unwrap(), "1403964060.2");
        let xml = Response::builder()
            .status(201)
            .body("<?xml version=\"1.0\"?>\n<response>\n  <sid>1403964060.2</sid>\n</response>\n")
            .unwrap();
        assert_eq!(parse_sid(&xml).unwrap(), "1403964060.2");
        assert!(parse_sid(&Response::new("{}")).is_err());
    }

    #[test]
    fn status_204_is_not_ready() {
        let r = Response::builder().status(204).body("").unwrap();
        assert_eq!(parse_job_status(&r).unwrap(), None);
    }

    #[test]
    fn xml_job_messages_dict() {
        let body = r#"<entry xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://dev.splunk.com/ns/rest"><title>x</title><content type="text/xml"><s:dict>
<s:key name="dispatchState">FAILED</s:key><s:key name="isDone">1</s:key><s:key name="isFailed">1</s:key>
<s:key name="messages"><s:dict><s:key name="fatal"><s:list><s:item>Unknown search command 'x'.</s:item></s:list></s:key></s:dict></s:key>
</s:dict></content></entry>"#;
        let s = parse_job_status(&Response::new(body)).unwrap().unwrap();
        assert!(s.is_failed() && !s.is_complete());
        assert_eq!(
            s.messages,
            vec![Message::new(Level::Fatal, "Unknown search command 'x'.")]
        );
    }
}
