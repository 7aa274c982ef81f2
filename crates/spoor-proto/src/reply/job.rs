//! A search job's entry: what `search/jobs` lists and `search/jobs/{sid}` answers, as Splunk
//! writes it (the keys the SDKs read, `eai:acl` and the job's links included).

use super::{Content, Entry, Item, OutputMode};
use crate::error::Message;
use crate::search::DispatchState;

/// The links a job's entry carries after `alternate`, each a path under the job's own.
const LINKS: [&str; 7] = [
    "search.log",
    "events",
    "results",
    "results_preview",
    "timeline",
    "summary",
    "control",
];

/// Splunk's `defaultSaveTTL`: a saved job is kept for seven days.
const DEFAULT_SAVE_TTL: &str = "604800";

/// What a server knows of one search job; [`Job::entry`] makes it the entry Splunk writes,
/// for [`job_entry`](super::job_entry) (a job's status) or [`Feed::write`](super::Feed::write)
/// (the list of jobs).
///
/// A job is done when its state is [`DispatchState::Done`] or [`DispatchState::Failed`]
/// (`isDone`, `doneProgress` 1), failed in the second (`isFailed`).
///
/// ```
/// use spoor_proto::reply::{self, Feed, Job, OutputMode};
/// use spoor_proto::search::{DispatchState, parse_job_status};
///
/// let job = Job {
///     sid: "1764331200.1",
///     search: "search index=spoor | stats count",
///     base: "http://127.0.0.1:8089",
///     collection: "/services/search/v2/jobs",
///     owner: "admin",
///     published: "2026-11-28T12:00:00.000+00:00",
///     updated: "2026-11-28T12:00:01.000+00:00",
///     cursor_time: "1970-01-01T00:00:00.000+00:00",
///     earliest_time: Some("2026-11-21T00:00:00.000+00:00"),
///     latest_time: None,
///     requested_earliest: "-7d@d",
///     requested_latest: "",
///     state: DispatchState::Done,
///     result_count: 1,
///     event_count: 0,
///     run_duration: 0.25,
///     messages: &[],
///     disk_usage: 512,
///     ttl: 600,
/// };
/// let feed = Feed {
///     title: "jobs",
///     origin: "http://127.0.0.1:8089/services/search/v2/jobs".into(),
///     updated: "2026-11-28T12:00:01+00:00",
///     version: "9.1.2",
///     build: "spoor",
///     links: vec![],
///     total: 1,
///     per_page: 30,
///     offset: 0,
///     messages: &[],
/// };
/// for mode in [OutputMode::Xml, OutputMode::Json] {
///     let body = reply::job_entry(mode, &feed, &job.entry(mode));
///     let status = parse_job_status(&http::Response::new(body))?.expect("a status");
///     assert!(status.is_complete());
///     assert_eq!((status.dispatch_state, status.result_count), (DispatchState::Done, 1));
/// }
/// # Ok::<(), spoor_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Job<'a> {
    /// The job's id.
    pub sid: &'a str,
    /// Its search, as given (the entry's name).
    pub search: &'a str,
    /// The server's base URL (`https://127.0.0.1:8089`), for the entry's id.
    pub base: &'a str,
    /// The path of the jobs collection the job is read under (`/services/search/jobs`, or
    /// v2's `/services/search/v2/jobs`); the job's own path is this and its sid.
    pub collection: &'a str,
    /// The user who ran it: the entry's author and the owner in its `eai:acl`.
    pub owner: &'a str,
    /// When it was created, as Splunk writes job times (`2026-11-28T12:00:00.000+00:00`).
    pub published: &'a str,
    /// When it was last updated.
    pub updated: &'a str,
    /// `cursorTime`: the time the search had reached.
    pub cursor_time: &'a str,
    /// The window's resolved start (`earliestTime`); `None` when it has none.
    pub earliest_time: Option<&'a str>,
    /// The window's resolved end (`latestTime`); `None` when it has none.
    pub latest_time: Option<&'a str>,
    /// `earliest_time` as the request gave it (empty when it did not).
    pub requested_earliest: &'a str,
    /// `latest_time` as the request gave it (empty when it did not).
    pub requested_latest: &'a str,
    /// `dispatchState`.
    pub state: DispatchState,
    /// `resultCount`: the result rows there are to read.
    pub result_count: u64,
    /// `eventCount`: the events the search matched.
    pub event_count: u64,
    /// `runDuration`, in seconds.
    pub run_duration: f64,
    /// The job's messages.
    pub messages: &'a [Message],
    /// `diskUsage`: the bytes its results take.
    pub disk_usage: u64,
    /// How long, in seconds, a finished job is kept after its last use (`ttl`,
    /// `defaultTTL`).
    pub ttl: u64,
}

impl Job<'_> {
    /// The job's path: its collection's and its sid.
    pub fn path(&self) -> String {
        format!("{}/{}", self.collection, self.sid)
    }

    /// The job's entry, in the shape of `mode` (its messages are a list of `type` and
    /// `text` in JSON, texts by level in XML, as Splunk writes them).
    pub fn entry(&self, mode: OutputMode) -> Entry {
        let path = self.path();
        let done = matches!(self.state, DispatchState::Done | DispatchState::Failed);
        let failed = self.state == DispatchState::Failed;
        let time = |t: Option<&str>| t.map_or(Item::Null, Item::from);
        let mut links = vec![("alternate".to_owned(), path.clone())];
        links.extend(
            LINKS
                .iter()
                .map(|l| ((*l).to_owned(), format!("{path}/{l}"))),
        );
        Entry {
            name: self.search.to_owned(),
            id: format!("{}{path}", self.base),
            updated: self.updated.to_owned(),
            published: Some(self.published.to_owned()),
            author: self.owner.to_owned(),
            links,
            content: Content::Dict(vec![
                ("cursorTime".into(), Item::from(self.cursor_time)),
                ("defaultSaveTTL".into(), Item::from(DEFAULT_SAVE_TTL)),
                ("defaultTTL".into(), Item::from(self.ttl.to_string())),
                ("diskUsage".into(), Item::from(self.disk_usage)),
                ("dispatchState".into(), Item::from(self.state.as_str())),
                (
                    "doneProgress".into(),
                    Item::Num(if done { 1.0 } else { 0.0 }),
                ),
                ("eai:acl".into(), self.acl()),
                ("earliestTime".into(), time(self.earliest_time)),
                ("eventCount".into(), Item::from(self.event_count)),
                ("isDone".into(), Item::Bool(done)),
                ("isFailed".into(), Item::Bool(failed)),
                ("isFinalized".into(), Item::Bool(false)),
                ("isPaused".into(), Item::Bool(false)),
                ("isSaved".into(), Item::Bool(false)),
                ("isZombie".into(), Item::Bool(false)),
                ("latestTime".into(), time(self.latest_time)),
                ("messages".into(), messages(mode, self.messages)),
                (
                    "request".into(),
                    Item::Dict(vec![
                        ("earliest_time".into(), Item::from(self.requested_earliest)),
                        ("latest_time".into(), Item::from(self.requested_latest)),
                        ("search".into(), Item::from(self.search)),
                    ]),
                ),
                ("resultCount".into(), Item::from(self.result_count)),
                ("runDuration".into(), Item::Num(self.run_duration)),
                ("sid".into(), Item::from(self.sid)),
                ("ttl".into(), Item::from(self.ttl)),
            ]),
        }
    }

    /// The job's `eai:acl`, as Splunk gives it: owned by the user who ran it, in app `search`,
    /// shared globally. The Python SDK needs it: once a job's status was read, the job's later
    /// requests (`results`, `control`) take their namespace from it (`state.access.owner`).
    fn acl(&self) -> Item {
        Item::Dict(vec![
            ("app".into(), Item::from("search")),
            ("can_write".into(), Item::Bool(true)),
            ("modifiable".into(), Item::Bool(true)),
            ("owner".into(), Item::from(self.owner)),
            (
                "perms".into(),
                Item::Dict(vec![
                    ("read".into(), Item::List(vec![Item::from(self.owner)])),
                    ("write".into(), Item::List(vec![Item::from(self.owner)])),
                ]),
            ),
            ("sharing".into(), Item::from("global")),
            ("ttl".into(), Item::from(self.ttl.to_string())),
        ])
    }
}

/// A job's messages: in JSON a list of `{"type","text"}`, in XML a dictionary of lower-case
/// levels, each a list of texts (levels in the order they first appear).
fn messages(mode: OutputMode, messages: &[Message]) -> Item {
    match mode {
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
            for m in messages {
                let level = m.level.as_str().to_ascii_lowercase();
                match levels.iter_mut().find(|(l, _)| *l == level) {
                    Some((_, Item::List(texts))) => texts.push(Item::from(m.text.as_str())),
                    _ => levels.push((level, Item::List(vec![Item::from(m.text.as_str())]))),
                }
            }
            Item::Dict(levels)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Level;
    use crate::eai::{self, Field};
    use crate::reply::{Feed, job_entry};
    use crate::search::parse_job_status;

    fn feed(collection: &str) -> Feed<'static> {
        super::super::feed::tests::feed("jobs", format!("http://127.0.0.1:8089{collection}"))
    }

    fn job<'a>(collection: &'a str, state: DispatchState, messages: &'a [Message]) -> Job<'a> {
        Job {
            sid: "1764331200.7",
            search: "search index=spoor <&> \"x\" | stats count",
            base: "http://127.0.0.1:8089",
            collection,
            owner: "ada",
            published: "2026-11-28T12:00:00.000+00:00",
            updated: "2026-11-28T12:00:01.000+00:00",
            cursor_time: "1970-01-01T00:00:00.000+00:00",
            earliest_time: Some("2026-11-21T00:00:00.000+00:00"),
            latest_time: None,
            requested_earliest: "-7d@d",
            requested_latest: "",
            state,
            result_count: 3,
            event_count: 40,
            run_duration: 0.125,
            messages,
            disk_usage: 4096,
            ttl: 600,
        }
    }

    const COLLECTIONS: [&str; 2] = ["/services/search/jobs", "/services/search/v2/jobs"];
    const MODES: [OutputMode; 2] = [OutputMode::Xml, OutputMode::Json];

    /// Every state the engine gives, in both output modes and under both search APIs, reads
    /// back through this crate's job-status parser as the job it was.
    #[test]
    fn a_job_status_reads_back_through_the_status_parser() {
        let messages = [
            Message::new(Level::Info, "first <info>"),
            Message::new(Level::Warn, "a warning"),
            Message::new(Level::Info, "second info"),
        ];
        for collection in COLLECTIONS {
            for mode in MODES {
                for state in [
                    DispatchState::Running,
                    DispatchState::Done,
                    DispatchState::Failed,
                ] {
                    let job = job(collection, state.clone(), &messages);
                    let body = job_entry(mode, &feed(collection), &job.entry(mode));
                    let status = parse_job_status(&http::Response::new(body))
                        .unwrap()
                        .unwrap();
                    let done = state != DispatchState::Running;
                    let failed = state == DispatchState::Failed;
                    assert_eq!(status.sid, job.sid);
                    assert_eq!(status.dispatch_state, state, "{mode:?} {collection}");
                    assert_eq!((status.is_done, status.is_failed), (done, failed));
                    assert_eq!(status.done_progress, if done { 1.0 } else { 0.0 });
                    assert_eq!((status.result_count, status.event_count), (3, 40));
                    assert_eq!(status.is_complete(), done && !failed);
                    // XML groups the texts by level, in the order the levels first appear.
                    let mut expected = messages.to_vec();
                    if mode == OutputMode::Xml {
                        expected.swap(1, 2);
                    }
                    assert_eq!(status.messages, expected, "{mode:?}");
                }
            }
        }
    }

    /// The entry carries what the SDKs read besides the status: the job's links under its
    /// collection, its times, its request and its `eai:acl`, in the list of jobs as well.
    #[test]
    fn a_job_entry_has_its_links_request_and_acl() {
        for collection in COLLECTIONS {
            for mode in MODES {
                let job = job(collection, DispatchState::Done, &[]);
                let body = feed(collection).write(mode, &[job.entry(mode)]);
                let feed = eai::parse_feed(&body).unwrap();
                let entry = &feed.entries[0];
                let path = format!("{collection}/1764331200.7");
                assert_eq!(entry.name, job.search);
                assert_eq!(entry.link("alternate"), Some(path.as_str()));
                assert_eq!(
                    entry.link("results"),
                    Some(format!("{path}/results").as_str())
                );
                assert_eq!(
                    entry.get_str("earliestTime"),
                    Some("2026-11-21T00:00:00.000+00:00")
                );
                assert!(matches!(
                    entry.get("latestTime"),
                    Some(Field::Null) | Some(Field::Text(_)) | None
                ));
                assert_eq!(entry.get_u64("diskUsage"), Some(4096));
                let Some(Field::Dict(request)) = entry.get("request") else {
                    panic!("no request in {mode:?}");
                };
                assert!(request.contains(&("earliest_time".into(), Field::Text("-7d@d".into()))));
                let Some(Field::Dict(acl)) = entry.get("eai:acl") else {
                    panic!("no eai:acl in {mode:?}");
                };
                for (key, value) in [("owner", "ada"), ("app", "search"), ("sharing", "global")] {
                    assert!(
                        acl.contains(&(key.into(), Field::Text(value.into()))),
                        "{key} in {mode:?}"
                    );
                }
            }
        }
    }

    /// A status in XML is a bare `<entry>`; in JSON the acl is also the entry's `acl`, which
    /// the Python SDK reads.
    #[test]
    fn a_job_status_has_splunks_shape() {
        let job = job(COLLECTIONS[1], DispatchState::Running, &[]);
        let xml = job_entry(
            OutputMode::Xml,
            &feed(COLLECTIONS[1]),
            &job.entry(OutputMode::Xml),
        );
        let xml = String::from_utf8(xml).unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<entry xmlns="));
        for key in [
            r#"<s:key name="dispatchState">RUNNING</s:key>"#,
            r#"<s:key name="doneProgress">0.00000</s:key>"#,
            r#"<s:key name="isDone">0</s:key>"#,
            r#"<s:key name="ttl">600</s:key>"#,
            r#"<s:key name="owner">ada</s:key>"#,
            r#"<link href="/services/search/v2/jobs/1764331200.7/control" rel="control"/>"#,
        ] {
            assert!(xml.contains(key), "{key} missing in {xml}");
        }
        let json = job_entry(
            OutputMode::Json,
            &feed(COLLECTIONS[1]),
            &job.entry(OutputMode::Json),
        );
        let json = String::from_utf8(json).unwrap();
        assert!(json.contains(r#""acl":{"app":"search""#), "{json}");
        assert!(json.contains(r#""isDone":false"#), "{json}");
        assert!(!json.contains('\n'));
    }
}
