//! Whole flows as a driver runs them, against a fake Splunk that answers with the fixtures:
//! one generic driver loop, a virtual clock, no socket.

use std::time::{Duration, Instant};

use http::{Method, Request, Response};
use spoor_proto::rest::{
    SubmitTarget, parse_conf_reply, parse_index, parse_server_info, parse_submit_receipt,
};
use spoor_proto::search::{ExecMode, ExportItem, ExportSearch, Row, SearchJob, SearchParams};
use spoor_proto::{Action, Call, ConfigBuilder, Error, Machine, SearchApi, Service};

use crate::{fixture, reply};

/// The driver loop every machine shares; `between` runs before each poll (to pull rows).
/// Streamed bodies arrive in 7-byte chunks, as a network would cut them.
fn drive<M: Machine>(
    machine: &mut M,
    server: &mut impl FnMut(&Request<Vec<u8>>) -> Response<Vec<u8>>,
    mut between: impl FnMut(&mut M),
) -> Result<M::Output, Error> {
    #[allow(clippy::disallowed_methods)] // an opaque origin; the clock below only adds to it
    let mut now = Instant::now();
    for _ in 0..100 {
        between(machine);
        match machine.poll(now) {
            Action::Send(request) => {
                let response = server(&request);
                now += Duration::from_millis(5);
                if machine.streams_body(response.status()) {
                    for chunk in response.body().chunks(7) {
                        machine.handle_body_chunk(chunk)?;
                        between(machine);
                    }
                    machine.handle_body_end(now);
                } else {
                    machine.handle_response(response, now);
                }
            }
            Action::Wait(until) => now = now.max(until),
            Action::Done(result) => return result,
        }
    }
    panic!("machine did not finish")
}

/// A fake Splunk: routes by method and path to fixture bodies, and expires the first
/// session key once to make the client log in again.
#[derive(Default)]
struct FakeSplunk {
    log: Vec<String>,
    index_exists: bool,
    status_polls: u32,
    expired_once: bool,
}

impl FakeSplunk {
    fn answer(&mut self, req: &Request<Vec<u8>>) -> Response<Vec<u8>> {
        let path = req.uri().path().to_owned();
        let auth = req
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        self.log.push(format!("{} {path}", req.method()));
        if path != "/services/auth/login"
            && !matches!(
                auth.as_deref(),
                Some("Splunk 6b347a02a1ef527c3e55e23cb1a3e3a0" | "Splunk FakeSessionKey")
            )
        {
            return reply(401, fixture!("error-401-unauthorized.xml"));
        }
        match (req.method().clone(), path.as_str()) {
            (Method::POST, "/services/auth/login") => {
                assert_eq!(req.body(), b"username=admin&password=s3cret");
                if self.expired_once {
                    reply(200, fixture!("login-modern.xml"))
                } else {
                    reply(200, fixture!("login.xml"))
                }
            }
            (Method::GET, "/servicesNS/nobody/search/server/info") => {
                reply(200, fixture!("server-info.json"))
            }
            (Method::GET, "/servicesNS/nobody/search/data/indexes/spoor") if !self.index_exists => {
                reply(404, fixture!("error-404-index.xml"))
            }
            (Method::POST, "/servicesNS/nobody/search/data/indexes") => {
                self.index_exists = true;
                reply(201, fixture!("index-create.xml"))
            }
            (Method::POST, "/servicesNS/nobody/search/configs/conf-props") => {
                reply(201, fixture!("conf-props-stanza.json"))
            }
            (Method::POST, "/servicesNS/nobody/search/configs/conf-props/spoor") => {
                reply(200, fixture!("properties-modified.xml"))
            }
            (Method::POST, "/services/receivers/simple") => {
                reply(200, fixture!("receivers-simple.json"))
            }
            (Method::POST, "/servicesNS/nobody/search/search/v2/jobs") => {
                reply(201, fixture!("job-create.json"))
            }
            (Method::GET, "/servicesNS/nobody/search/search/v2/jobs/1403964060.2") => {
                self.status_polls += 1;
                match self.status_polls {
                    1 => reply(204, ""),
                    2 => reply(200, fixture!("job-status-parsing.xml")),
                    3 if !self.expired_once => {
                        self.expired_once = true;
                        reply(401, fixture!("error-401-not-authenticated.json"))
                    }
                    _ => reply(200, fixture!("job-status-done.json")),
                }
            }
            (Method::POST, "/servicesNS/nobody/search/search/v2/jobs/1403964060.2/results") => {
                assert_eq!(req.body(), b"output_mode=json&offset=0&count=3");
                reply(200, fixture!("results.json"))
            }
            (Method::POST, "/servicesNS/nobody/search/search/v2/jobs/export") => {
                reply(200, fixture!("export.json"))
            }
            (method, path) => panic!("unexpected {method} {path}"),
        }
    }
}

#[test]
fn set_up_ingest_and_search_like_the_tracker_and_retriever() {
    let env = [
        ("SPLUNK_USERNAME", "admin"),
        ("SPLUNK_PASSWORD", "s3cret"),
        ("HOME", "/home/x"),
    ];
    let rc = "# written for the analytics example\nhost=localhost\nport=8089\napp=search\n";
    let config = ConfigBuilder::from_env(env)
        .unwrap()
        .or(ConfigBuilder::from_splunkrc(rc).unwrap())
        .build()
        .unwrap();
    let mut service = Service::new(&config).unwrap();
    let mut fake = FakeSplunk::default();
    let mut server = |req: &Request<Vec<u8>>| fake.answer(req);

    // server/info: the call logs in first, and the version picks search API v2.
    let mut call = Call::new(
        service.clone(),
        service.server_info_request().unwrap(),
        parse_server_info,
    );
    let info = drive(&mut call, &mut server, |_| {}).unwrap();
    service = call.service().clone();
    service.set_search_api(info.search_api());
    assert_eq!(service.search_api(), SearchApi::V2);

    // The index: missing, so create it.
    let mut call = Call::new(
        service.clone(),
        service.get_index_request("spoor").unwrap(),
        parse_index,
    );
    assert!(
        drive(&mut call, &mut server, |_| {})
            .unwrap_err()
            .is_not_found()
    );
    let mut call = Call::new(
        service.clone(),
        service
            .create_index_request("spoor", &Default::default())
            .unwrap(),
        parse_index,
    );
    assert_eq!(drive(&mut call, &mut server, |_| {}).unwrap().name, "spoor");

    // props.conf: create the stanza, set its keys.
    let mut call = Call::new(
        service.clone(),
        service
            .create_conf_stanza_request("props", "spoor")
            .unwrap(),
        parse_conf_reply,
    );
    assert!(drive(&mut call, &mut server, |_| {}).unwrap().is_some());
    let keys = [("KV_MODE", "auto_escaped"), ("SHOULD_LINEMERGE", "false")]
        .into_iter()
        .collect();
    let mut call = Call::new(
        service.clone(),
        service
            .set_conf_keys_request("props", "spoor", &keys)
            .unwrap(),
        parse_conf_reply,
    );
    assert!(drive(&mut call, &mut server, |_| {}).is_ok());

    // Ingest a batch of lines.
    let target = SubmitTarget {
        index: Some("spoor".into()),
        sourcetype: Some("spoor".into()),
        ..SubmitTarget::default()
    };
    let lines = [
        r#"2026-11-28T12:00:00.000000Z application="shop" event="login""#,
        r#"2026-11-28T12:00:01.000000Z application="shop" event="logout""#,
    ];
    let mut call = Call::new(
        service.clone(),
        service.submit_request(&target, lines).unwrap(),
        parse_submit_receipt,
    );
    assert_eq!(
        drive(&mut call, &mut server, |_| {}).unwrap().index,
        "spoor"
    );

    // Search: 204, PARSING, an expired session (one re-login), DONE, then the results.
    let mut job = SearchJob::new(
        service.clone(),
        "search index=spoor | stats count by event",
        ExecMode::Normal,
        SearchParams::window("-7d@d", "now"),
    )
    .unwrap();
    let mut rows: Vec<Row> = Vec::new();
    let summary = drive(&mut job, &mut server, |job| {
        rows.extend(std::iter::from_fn(|| job.next_row()));
    })
    .unwrap();
    rows.extend(std::iter::from_fn(|| job.next_row()));
    assert_eq!(summary.sid.as_deref(), Some("1403964060.2"));
    let events: Vec<_> = rows.iter().map(|r| r.get_str("event").unwrap()).collect();
    assert_eq!(events, ["login", "purchase", "logout"]);
    assert_eq!(job.service().search_api(), SearchApi::V2);

    // The same report streamed by export: previews dropped, the final set kept.
    let mut export = ExportSearch::new(
        job.service().clone(),
        "search index=_internal | stats count by host",
        &SearchParams::window("-1h", "now"),
    )
    .unwrap();
    let mut items = Vec::new();
    drive(&mut export, &mut server, |e| {
        items.extend(std::iter::from_fn(|| e.next_item()));
    })
    .unwrap();
    items.extend(std::iter::from_fn(|| export.next_item()));
    let hosts: Vec<String> = items
        .into_iter()
        .map(|item| match item.unwrap() {
            ExportItem::Row(row) => {
                format!(
                    "{}={}",
                    row.get_str("host").unwrap(),
                    row.get_str("count").unwrap()
                )
            }
            ExportItem::Message(m) => panic!("unexpected message {m:?}"),
        })
        .collect();
    assert_eq!(hosts, ["Andy-PC=1701", "andy-pc=3", "three.four.com=1512"]);

    let logins = fake
        .log
        .iter()
        .filter(|l| l.ends_with("/auth/login"))
        .count();
    assert_eq!(
        logins, 2,
        "one login at the start, one after the session expired: {:?}",
        fake.log
    );
}
