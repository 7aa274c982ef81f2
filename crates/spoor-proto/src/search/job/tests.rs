//! The job machine against a scripted server and a virtual clock: no socket, no sleeping.

use std::time::Duration;

use http::{Request, Response};

use super::*;
use crate::config::ConfigBuilder;
use crate::search::Value;

use crate::test_util::{password_service, reply, t0};

fn status(state: &str, done: bool, count: u64) -> Response<Vec<u8>> {
    reply(
        200,
        &format!(
            r#"{{"entry":[{{"name":"q","content":{{"sid":"s1","dispatchState":"{state}","isDone":{done},"isFailed":false,"resultCount":{count},"messages":[]}}}}]}}"#
        ),
    )
}

fn page(offset: u64, n: u64) -> Response<Vec<u8>> {
    let rows: Vec<String> = (offset..offset + n)
        .map(|i| format!(r#"{{"i":"{i}","mv":["a","b"]}}"#))
        .collect();
    reply(
        200,
        &format!(
            r#"{{"preview":false,"init_offset":{offset},"messages":[{{"type":"INFO","text":"same"}}],"fields":[{{"name":"i"}}],"results":[{}]}}"#,
            rows.join(",")
        ),
    )
}

/// What the driver saw: requests as `METHOD path?query`, waits, and the rows pulled.
#[derive(Default, Debug)]
struct Trace {
    sent: Vec<String>,
    waits: Vec<Duration>,
    rows: Vec<Row>,
}

/// Steps the job like a driver, answering each request with `server` and jumping the
/// virtual clock to every `Wait` instant.
fn drive(
    mut job: SearchJob,
    mut server: impl FnMut(&Request<Vec<u8>>, &Trace) -> Response<Vec<u8>>,
) -> (Result<JobSummary, Error>, Trace) {
    let mut now = t0();
    let mut trace = Trace::default();
    for _ in 0..1000 {
        while let Some(row) = job.next_row() {
            trace.rows.push(row);
        }
        match job.poll(now) {
            Action::Send(req) => {
                let line = format!(
                    "{} {}",
                    req.method(),
                    req.uri()
                        .path_and_query()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                );
                trace.sent.push(line);
                let resp = server(&req, &trace);
                now += Duration::from_millis(1);
                job.handle_response(resp, now);
            }
            Action::Wait(until) => {
                trace.waits.push(until - now);
                now = until;
            }
            Action::Done(result) => return (result, trace),
        }
    }
    panic!("job did not finish: {trace:?}");
}

fn service() -> Service {
    Service::new(&ConfigBuilder::new().token("t").build().unwrap()).unwrap()
}

fn job(mode: ExecMode) -> SearchJob {
    SearchJob::new(
        service(),
        "search index=spoor",
        mode,
        SearchParams::window("-1d", "now"),
    )
    .unwrap()
}

#[test]
fn normal_job_polls_with_backoff_and_pages_past_100_rows() {
    let policy = JobOptions {
        page_size: 100,
        ..JobOptions::default()
    };
    let mut polls = 0;
    let (result, trace) = drive(job(ExecMode::Normal).with_options(policy), |req, _| {
        let path = req.uri().path();
        if path == "/services/search/jobs" {
            reply(201, r#"{"sid":"s1"}"#)
        } else if path == "/services/search/jobs/s1" {
            polls += 1;
            match polls {
                1 => reply(204, ""),
                2..=5 => status("RUNNING", false, 0),
                _ => status("DONE", true, 250),
            }
        } else {
            let q = crate::form::Form::decode(req.uri().query().unwrap());
            let (offset, count) = (
                q.get("offset").unwrap().parse().unwrap(),
                q.get("count").unwrap().parse().unwrap(),
            );
            page(offset, count)
        }
    });
    let summary = result.unwrap();
    assert_eq!(summary.rows, 250);
    assert_eq!(summary.messages, vec![Message::new(Level::Info, "same")]);
    assert_eq!(trace.rows.len(), 250);
    assert_eq!(trace.rows[249].get_str("i"), Some("249"));
    assert_eq!(
        trace.rows[0].get("mv"),
        Some(&Value::Multi(vec!["a".into(), "b".into()]))
    );
    let ms: Vec<u128> = trace.waits.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [10, 20, 40, 80, 160]);
    let pages: Vec<&str> = trace
        .sent
        .iter()
        .filter(|s| s.contains("/results"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        pages,
        [
            "GET /services/search/jobs/s1/results?output_mode=json&offset=0&count=100",
            "GET /services/search/jobs/s1/results?output_mode=json&offset=100&count=100",
            "GET /services/search/jobs/s1/results?output_mode=json&offset=200&count=50",
        ]
    );
}

#[test]
fn blocking_job_reads_status_once_then_results() {
    let (result, trace) = drive(job(ExecMode::Blocking), |req, _| match req.uri().path() {
        "/services/search/jobs" => reply(201, "<response><sid>s1</sid></response>"),
        "/services/search/jobs/s1" => status("DONE", true, 2),
        _ => page(0, 2),
    });
    assert_eq!(result.unwrap().rows, 2);
    assert_eq!(trace.sent.len(), 3);
    assert!(trace.waits.is_empty());
}

#[test]
fn zero_results_need_no_results_request() {
    let (result, trace) = drive(job(ExecMode::Blocking), |req, _| match req.uri().path() {
        "/services/search/jobs" => reply(201, r#"{"sid":"s1"}"#),
        _ => status("DONE", true, 0),
    });
    assert_eq!(result.unwrap().rows, 0);
    assert_eq!(trace.sent.len(), 2);
}

#[test]
fn oneshot_returns_rows_or_fails_on_fatal() {
    let (result, trace) = drive(job(ExecMode::Oneshot), |_, _| page(0, 3));
    assert_eq!((result.unwrap().sid, trace.rows.len()), (None, 3));

    let fatal = r#"{"preview":false,"init_offset":0,"messages":[{"type":"FATAL","text":"Unknown search command 'x'."}],"results":[]}"#;
    let (result, _) = drive(job(ExecMode::Oneshot), |_, _| reply(200, fatal));
    let Err(Error::JobFailed { messages, .. }) = result else {
        panic!("{result:?}")
    };
    assert_eq!(messages[0].text, "Unknown search command 'x'.");

    let xml = "<?xml version='1.0' encoding='UTF-8'?>\n\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n  <messages>\n    <msg type=\"FATAL\">Error in 'delete' command: nope</msg>\n  </messages>\n</response>\n";
    let (result, _) = drive(job(ExecMode::Oneshot), |_, _| reply(200, xml));
    assert!(matches!(result, Err(Error::JobFailed { .. })));
}

#[test]
fn bad_spl_is_an_api_error_with_splunks_text() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?><response><messages><msg type="FATAL">Unknown search command 'invalidpartsearch'.</msg></messages></response>"#;
    let (result, _) = drive(job(ExecMode::Normal), |_, _| reply(400, body));
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        "splunk answered 400: FATAL Unknown search command 'invalidpartsearch'."
    );
}

#[test]
fn failed_job_reports_its_messages() {
    let failed = r#"{"entry":[{"content":{"dispatchState":"FAILED","isDone":true,"isFailed":true,"messages":[{"type":"FATAL","text":"Search auto-canceled"}]}}]}"#;
    let (result, _) = drive(job(ExecMode::Normal), |req, _| match req.uri().path() {
        "/services/search/jobs" => reply(201, r#"{"sid":"s1"}"#),
        _ => reply(200, failed),
    });
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        "search job s1 failed: FATAL Search auto-canceled"
    );
}

#[test]
fn time_limit_cancels_the_job() {
    let policy = JobOptions {
        time_limit: Some(Duration::from_secs(2)),
        ..JobOptions::default()
    };
    let (result, trace) = drive(
        job(ExecMode::Normal).with_options(policy),
        |req, _| match req.uri().path() {
            "/services/search/jobs" => reply(201, r#"{"sid":"s1"}"#),
            "/services/search/jobs/s1/control" => reply(
                200,
                r#"{"messages":[{"type":"INFO","text":"Search job cancelled."}]}"#,
            ),
            _ => status("RUNNING", false, 0),
        },
    );
    assert!(
        matches!(result, Err(Error::Timeout { what: "search job", limit }) if limit == Duration::from_secs(2))
    );
    assert_eq!(
        trace.sent.last().unwrap(),
        "POST /services/search/jobs/s1/control?output_mode=json"
    );
}

#[test]
fn cancel_before_the_sid_waits_for_it() {
    let mut j = job(ExecMode::Normal);
    let now = t0();
    let Action::Send(_) = j.poll(now) else {
        panic!()
    };
    j.cancel();
    j.handle_response(reply(201, r#"{"sid":"s9"}"#), now);
    let Action::Send(cancel) = j.poll(now) else {
        panic!()
    };
    assert_eq!(cancel.uri().path(), "/services/search/jobs/s9/control");
    assert_eq!(cancel.body(), b"action=cancel");
    j.handle_response(
        reply(
            404,
            r#"{"messages":[{"type":"FATAL","text":"Unknown sid."}]}"#,
        ),
        now,
    );
    let Action::Done(Ok(summary)) = j.poll(now) else {
        panic!()
    };
    assert!(summary.cancelled);
    assert!(matches!(j.poll(now), Action::Done(Err(Error::Finished))));
}

#[test]
fn relogin_and_retry_apply_inside_the_job() {
    let svc = password_service(Some("old"));
    let j = SearchJob::new(svc, "search x", ExecMode::Blocking, SearchParams::default()).unwrap();
    let mut status_calls = 0;
    let mut results_calls = 0;
    let (result, trace) = drive(j, |req, _| match req.uri().path() {
        "/services/auth/login" => reply(200, "<response><sessionKey>new</sessionKey></response>"),
        "/services/search/jobs" => reply(201, r#"{"sid":"s1"}"#),
        "/services/search/jobs/s1" => {
            status_calls += 1;
            if req.headers()["authorization"] == "Splunk old" {
                reply(401, "")
            } else {
                status("DONE", true, 1)
            }
        }
        _ => {
            results_calls += 1;
            if results_calls == 1 {
                reply(503, "")
            } else {
                page(0, 1)
            }
        }
    });
    assert_eq!(result.unwrap().rows, 1);
    assert_eq!(status_calls, 2);
    assert_eq!(trace.waits.len(), 1, "one backoff for the 503");
    assert!(trace.sent.contains(&"POST /services/auth/login".to_owned()));
}

#[test]
fn short_results_are_an_error_not_a_silent_cap() {
    let (result, _) = drive(job(ExecMode::Blocking), |req, _| match req.uri().path() {
        "/services/search/jobs" => reply(201, r#"{"sid":"s1"}"#),
        "/services/search/jobs/s1" => status("DONE", true, 300),
        _ => {
            let offset: u64 = crate::form::Form::decode(req.uri().query().unwrap())
                .get("offset")
                .unwrap()
                .parse()
                .unwrap();
            if offset < 100 {
                page(offset, 100)
            } else {
                page(offset, 0)
            }
        }
    });
    assert!(matches!(result, Err(Error::Parse { .. })));
}

#[test]
fn cancel_before_anything_was_sent_sends_nothing() {
    let mut j = job(ExecMode::Normal);
    j.cancel();
    let Action::Done(Ok(summary)) = j.poll(t0()) else {
        panic!()
    };
    assert!(summary.cancelled && summary.sid.is_none());
}

#[test]
fn cancelled_oneshot_drops_its_rows() {
    let mut j = job(ExecMode::Oneshot);
    let now = t0();
    let Action::Send(_) = j.poll(now) else {
        panic!()
    };
    j.cancel();
    j.handle_response(page(0, 3), now);
    assert!(j.next_row().is_none());
    assert!(matches!(j.poll(now), Action::Done(Ok(s)) if s.cancelled));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Replies a server might give to any request of the job.
    fn any_reply() -> impl Strategy<Value = Response<Vec<u8>>> {
        prop_oneof![
            Just(reply(201, r#"{"sid":"s1"}"#)),
            Just(reply(204, "")),
            Just(status("RUNNING", false, 0)),
            (0u64..500).prop_map(|n| status("DONE", true, n)),
            (0u64..300, 0u64..150).prop_map(|(o, n)| page(o, n)),
            Just(reply(401, "")),
            Just(reply(429, "")),
            Just(reply(503, "busy")),
            Just(reply(
                404,
                r#"{"messages":[{"type":"FATAL","text":"Unknown sid."}]}"#
            )),
            Just(reply(200, "<html>proxy</html>")),
            Just(reply(200, "{}")),
        ]
    }

    proptest! {
        /// With a time limit, the job ends whatever the server says, and never panics.
        #[test]
        fn a_time_limited_job_always_ends(replies in proptest::collection::vec(any_reply(), 1..40), mode in 0..3u8) {
            let mode = [ExecMode::Normal, ExecMode::Blocking, ExecMode::Oneshot][usize::from(mode)];
            let options = JobOptions { time_limit: Some(Duration::from_secs(30)), page_size: 100, ..JobOptions::default() };
            let mut i = 0;
            let (_result, trace) = drive(job(mode).with_options(options), |_, _| {
                i += 1;
                replies[i % replies.len()].clone()
            });
            prop_assert!(trace.sent.len() < 1000);
        }
    }
}
