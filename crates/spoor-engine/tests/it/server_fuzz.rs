//! Fuzz-style properties of the server: arbitrary bytes as HEC bodies, form bodies, SPL
//! strings, query strings, raw garbage on the socket and clients that hang up mid-request never
//! panic the server, never stop it answering others, and never change what it stored before.
//!
//! Every case runs against one server holding a sealed index (`kept`) whose rows are checked,
//! with an ordinary search over HTTP, after each case.

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use spoor_proto::form::encode_component;

use crate::server_support::{
    Harness, RawResponse, raw_exchange, raw_half_closed, raw_http, sane, server_panics,
};

/// Events in the sealed index.
const KEPT: usize = 40;

struct Fixture {
    harness: Harness,
    /// `Authorization` for REST calls and for HEC.
    rest: String,
    hec: String,
    kept: Vec<Vec<Option<String>>>,
}

/// The one server all cases share (a `static` is never dropped, so each case checks for
/// panics itself).
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // The cases send wrong passwords to `auth/login` by the hundred, on purpose; lockout
        // (its own tests are in `hostile.rs`) would refuse the fixture's Basic in between.
        let harness = Harness::with_limits("srv-fuzz", |l| l.lockout_attempts = 0);
        let credentials = harness.running.credentials();
        let rest = format!(
            "Basic {}",
            spoor_proto::form::base64(
                format!("{}:{}", credentials.username, credentials.password.expose()).as_bytes()
            )
        );
        let hec = format!("Splunk {}", harness.hec_token());
        for name in ["kept", "scratch"] {
            let created = request(
                &harness,
                "POST",
                "/services/data/indexes",
                &[("Authorization", &rest)],
                format!("name={name}").as_bytes(),
            );
            assert_eq!(created.status, 201);
        }
        let lines: String = (0..KEPT / 2).map(|i| format!("kept n={i}\n")).collect();
        let envelopes: String = (KEPT / 2..KEPT)
            .map(|i| format!(r#"{{"event":"kept n={i}","index":"kept","time":{i}}}"#))
            .collect();
        for (target, auth, body) in [
            (
                "/services/receivers/simple?index=kept&sourcetype=lines",
                &rest,
                lines,
            ),
            ("/services/collector/event", &hec, envelopes),
        ] {
            let stored = request(
                &harness,
                "POST",
                target,
                &[("Authorization", auth)],
                body.as_bytes(),
            );
            assert_eq!(stored.status, 200);
        }
        let kept = harness.contents("kept");
        assert_eq!(kept.len(), KEPT);
        Fixture {
            harness,
            rest,
            hec,
            kept,
        }
    })
}

fn request(
    harness: &Harness,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    raw_exchange(harness.addr(), &raw_http(method, target, headers, body)).expect("a response")
}

/// What must hold after every case: no panic, the sealed index as it was, and the server
/// answering an ordinary search with the right count.
fn still_whole(fixture: &Fixture) {
    assert_eq!(server_panics(), 0, "a server thread panicked");
    assert_eq!(fixture.harness.contents("kept"), fixture.kept);
    let found = request(
        &fixture.harness,
        "POST",
        "/services/search/jobs?output_mode=json",
        &[("Authorization", &fixture.rest)],
        b"search=search%20index%3Dkept%20%7C%20stats%20count&exec_mode=oneshot",
    );
    assert_eq!(found.status, 200);
    let page: serde_json::Value = serde_json::from_slice(&found.body).expect("JSON");
    assert_eq!(page["results"][0]["count"], KEPT.to_string());
}

/// A reply to fuzz: a response at all, with a status a client may get.
fn answered(response: Option<RawResponse>) -> RawResponse {
    let response = response.expect("the server answered");
    assert!(sane(response.status), "{}", response.head);
    response
}

/// Bytes that are often almost right: envelopes, form pairs and SPL, cut and spliced with noise.
fn near_miss(pieces: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => proptest::sample::select(pieces).prop_map(|p| p.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..16),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..2048)
}

const HEC_PIECES: &[&str] = &[
    r#"{"event":"x a=1"}"#,
    r#"{"event":{"k":[1,2]},"index":"scratch"}"#,
    r#"{"event":"y","time":"1700000000.5","sourcetype":"s"}"#,
    r#"{"event":"z","index":"nope"}"#,
    r#"{"event":""}"#,
    r#"{"time":1}"#,
    r#"{"event":"w","fields":{"a":"b"}}"#,
    r#"{"event":"v","time":-3}"#,
    r#"{"event":"u","host":7}"#,
    "{",
    "}",
    "\"",
    "[1]",
    "null",
    " ",
    "\n",
    "\u{0}",
    "\\u0000",
];

const FORM_PIECES: &[&str] = &[
    "name=",
    "search=",
    "search%20index%3D",
    "exec_mode=oneshot",
    "exec_mode=blocking",
    "exec_mode=wat",
    "output_mode=xml",
    "output_mode=json",
    "output_mode=csv",
    "count=-1",
    "count=99999999999999999999",
    "offset=18446744073709551616",
    "LINE_BREAKER=%28",
    "LINE_BREAKER=%28%5Cd%2B%29",
    "TRUNCATE=-5",
    "TZ=Mars%2FOlympus",
    "__stanza=",
    "__conf=props",
    "action=cancel",
    "earliest_time=-1d%40d",
    "latest_time=%2B1y",
    "username=admin",
    "password=",
    "&",
    "=",
    "%",
    "%zz",
    "%FF%FE",
    "+",
    "fuzz",
];

/// The endpoints forms go to (never a receiver: a form there would be data, stored rightly).
const FORM_TARGETS: &[&str] = &[
    "/services/auth/login",
    "/services/data/indexes",
    "/services/data/indexes/scratch",
    "/services/configs/conf-props",
    "/services/configs/conf-props/fuzz",
    "/services/properties",
    "/services/properties/props",
    "/services/properties/props/fuzz",
    "/services/search/jobs",
    "/services/search/v2/jobs",
    "/services/search/jobs/export",
    "/services/search/v2/jobs/export",
    "/services/search/jobs/1.0/control",
    "/services/search/jobs/1.0/results",
    "/servicesNS/nobody/search/search/jobs/",
];

const SPL_PIECES: &[&str] = &[
    "search ",
    "| ",
    "index=kept ",
    "index=scratch ",
    "index=* ",
    "n=1 ",
    "\"quoted\" ",
    "\"unclosed ",
    "| stats count ",
    "| stats count by n ",
    "| stats dc(n*) as * ",
    "| timechart span=1d count by n ",
    "| timechart span=0s count ",
    "| head 3 ",
    "| head -1 ",
    "| sort - n ",
    "| rename n as m ",
    "| fields - _raw ",
    "| where n=\"1\" ",
    "| nosuch ",
    "( ",
    ") ",
    "OR ",
    "NOT ",
    "* ",
    "=",
    "\\",
    "\u{1F600}",
];

/// GET endpoints query strings go to.
const QUERY_TARGETS: &[&str] = &[
    "/services/server/info",
    "/services/data/indexes",
    "/services/data/indexes/kept",
    "/services/configs/conf-props",
    "/services/properties/props",
    "/services/search/jobs",
    "/services/search/v2/jobs/export",
    "/services/search/jobs/1.0",
    "/services/collector/health",
    "/services/nowhere",
];

/// A query string: visible characters kept as they are (so `%`, `&`, `=`, `+` and bad escapes
/// reach the server), anything else percent-encoded.
fn query_string() -> impl Strategy<Value = String> {
    prop_oneof![
        near_miss(FORM_PIECES),
        bytes().prop_map(|b| b.into_iter().take(200).collect()),
    ]
    .prop_map(|bytes| {
        bytes
            .iter()
            .map(|b| {
                if b.is_ascii_graphic() && *b != b'#' {
                    char::from(*b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    })
}

/// Cases of each property; the server is shared, so they are cheap.
fn config() -> ProptestConfig {
    spoor_testkit::proptest_config_with_cases(512)
}

/// Runs one case at a time across the properties, so that the count checked after a case is
/// not raced by another property's writes to `scratch` (they never touch `kept`, but a
/// failing case is clearer alone).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn server_takes_any_hec_body(
        body in prop_oneof![near_miss(HEC_PIECES), bytes()],
        raw in any::<bool>(),
        index in proptest::sample::select(&["", "&index=scratch", "&index=nope"][..]),
    ) {
        let fixture = fixture();
        let _one = serial();
        let path = if raw { "raw" } else { "event" };
        let target = format!("/services/collector/{path}?sourcetype=fuzz{index}");
        let reply = answered(raw_exchange(
            fixture.harness.addr(),
            &raw_http("POST", &target, &[("Authorization", &fixture.hec)], &body),
        ));
        // Every HEC reply is HEC's JSON with a code.
        let json: serde_json::Value = serde_json::from_slice(&reply.body).expect("HEC JSON");
        prop_assert!(json["code"].is_u64(), "{json}");
        // And the same bytes as `receivers/simple` text.
        answered(raw_exchange(
            fixture.harness.addr(),
            &raw_http(
                "POST",
                "/services/receivers/simple?index=scratch&sourcetype=fuzz",
                &[("Authorization", &fixture.rest)],
                &body,
            ),
        ));
        still_whole(fixture);
    }

    #[test]
    fn server_takes_any_form(
        body in prop_oneof![near_miss(FORM_PIECES), bytes()],
        target in proptest::sample::select(FORM_TARGETS),
        typed in any::<bool>(),
    ) {
        let fixture = fixture();
        let _one = serial();
        let mut headers = vec![("Authorization", fixture.rest.as_str())];
        if typed {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        answered(raw_exchange(
            fixture.harness.addr(),
            &raw_http("POST", target, &headers, &body),
        ));
        still_whole(fixture);
    }

    #[test]
    fn server_takes_any_spl(
        spl in prop_oneof![
            near_miss(SPL_PIECES).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            any::<String>(),
        ],
        mode in proptest::sample::select(&["oneshot", "blocking", "normal", "export"][..]),
    ) {
        let fixture = fixture();
        let _one = serial();
        let (target, exec) = if mode == "export" {
            ("/services/search/jobs/export?output_mode=json", String::new())
        } else {
            ("/services/search/jobs?output_mode=json", format!("&exec_mode={mode}"))
        };
        let body = format!("search={}{exec}", encode_component(&spl));
        let reply = answered(raw_exchange(
            fixture.harness.addr(),
            &raw_http("POST", target, &[("Authorization", &fixture.rest)], body.as_bytes()),
        ));
        // SPL the parser refuses is a 400 with the parser's words; SPL it takes runs.
        let trimmed = spl.trim();
        let command = trimmed.starts_with('|') || trimmed.split_whitespace().next() == Some("search");
        match spoor_spl::parse(trimmed) {
            Err(why) if command => {
                prop_assert_eq!(reply.status, 400);
                let json: serde_json::Value = serde_json::from_slice(&reply.body).expect("JSON");
                let why = why.to_string();
                prop_assert_eq!(json["messages"][0]["text"].as_str(), Some(why.as_str()));
            }
            Ok(_) if command => prop_assert!(matches!(reply.status, 200 | 201), "{}", reply.head),
            _ => prop_assert_eq!(reply.status, 400),
        }
        still_whole(fixture);
    }

    #[test]
    fn server_takes_any_query_string(
        query in query_string(),
        target in proptest::sample::select(QUERY_TARGETS),
        post in any::<bool>(),
    ) {
        let fixture = fixture();
        let _one = serial();
        let method = if post { "POST" } else { "GET" };
        let auth = if target.contains("collector") { &fixture.hec } else { &fixture.rest };
        answered(raw_exchange(
            fixture.harness.addr(),
            &raw_http(method, &format!("{target}?{query}"), &[("Authorization", auth)], b""),
        ));
        still_whole(fixture);
    }

    #[test]
    fn server_survives_garbage_on_the_socket(
        prefix in proptest::sample::select(&[
            "",
            "GET ",
            "POST /services/collector/event HTTP/1.1\r\n",
            "POST /services/receivers/stream?index=kept HTTP/1.1\r\nX-Splunk-Input-Mode: Streaming\r\nContent-Length: 5\r\n",
            "POST /services/receivers/simple?index=kept HTTP/1.1\r\nContent-Length: 999999999999999999999\r\n\r\n",
            "POST /services/receivers/simple?index=kept HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
            "GET /services/server/info HTTP/1.1\r\nHost: \u{7f}\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ][..]),
        garbage in bytes(),
    ) {
        let fixture = fixture();
        let _one = serial();
        let mut bytes = prefix.as_bytes().to_vec();
        bytes.extend_from_slice(&garbage);
        // Anything or nothing may come back; a reply, if any, is never a server error.
        if let Some(reply) = raw_half_closed(fixture.harness.addr(), &bytes) {
            prop_assert!(sane(reply.status), "{}", reply.head);
        }
        still_whole(fixture);
    }

    #[test]
    fn server_survives_clients_that_hang_up(
        sent in 0usize..400,
        target in proptest::sample::select(&[
            "/services/receivers/simple?index=kept&sourcetype=lines",
            "/services/collector/event?index=kept",
            "/services/collector/raw?index=kept",
            "/services/search/jobs",
        ][..]),
    ) {
        let fixture = fixture();
        let _one = serial();
        // A whole request, cut anywhere before its last byte: nothing of it may be stored.
        let body = br#"{"event":"cut n=999","index":"kept"} {"event":"cut n=998","index":"kept"}"#;
        let auth = if target.contains("collector") { &fixture.hec } else { &fixture.rest };
        let whole = raw_http("POST", target, &[("Authorization", auth)], body);
        let cut = sent.min(whole.len() - 1);
        let mut tcp = TcpStream::connect(fixture.harness.addr()).expect("connect");
        let _ = tcp.write_all(&whole[..cut]);
        drop(tcp);
        still_whole(fixture);
    }
}
