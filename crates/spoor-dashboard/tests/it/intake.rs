//! `/api/track` under random and hostile requests, against the dashboard binary: bodies of
//! every size, keys, types, invalid UTF-8, broken JSON, and a flood from one address. Never a
//! 5xx or a crash, and each request's events are stored all or not at all: every batch names
//! an application of its own, so a batch partly stored would show as an application with fewer
//! events than sent, and a refused one as an application at all.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use spoor_testkit::hostile::{self, Request};

use crate::running::Running;

/// Applications the batches are spread over.
const APPLICATIONS: usize = 900;

/// A JSON value of a property, as sent (good and bad alike).
#[derive(Debug, Clone)]
enum Json {
    Text(String),
    Int(i64),
    Big(u64),
    Float(f64),
    Bool(bool),
    Null,
    List,
    Object,
}

impl Json {
    fn write(&self, out: &mut String) {
        match self {
            Self::Text(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
            Self::Int(n) => out.push_str(&n.to_string()),
            Self::Big(n) => out.push_str(&n.to_string()),
            Self::Float(x) => out.push_str(&serde_json::to_string(x).unwrap_or_default()),
            Self::Bool(b) => out.push_str(&b.to_string()),
            Self::Null => out.push_str("null"),
            Self::List => out.push_str("[1,\"a\"]"),
            Self::Object => out.push_str("{\"a\":1}"),
        }
    }
}

/// One event as sent: its fields as JSON text (`None`: left out), its properties (keys may
/// repeat).
#[derive(Debug, Clone)]
struct Sent {
    event: Json,
    distinct_id: Option<Json>,
    properties: Option<Vec<(String, Json)>>,
    time: Option<Json>,
    extra_field: bool,
}

/// What is done to the body after it is written.
#[derive(Debug, Clone)]
enum Damage {
    None,
    /// Cut after this fraction of its bytes.
    Truncate(f64),
    /// A byte that is never UTF-8 put in at this fraction.
    InvalidUtf8(f64),
    /// Made larger than any request may be.
    Oversize,
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,8}",
        1 => Just(String::new()),
        1 => "\\PC{0,12}",
        1 => "[\\x00-\\x1f\"\\\\]{1,4}",
        1 => Just("x".repeat(300)),
    ]
}

fn value() -> impl Strategy<Value = Json> {
    prop_oneof![
        4 => text().prop_map(Json::Text),
        2 => any::<i64>().prop_map(Json::Int),
        1 => (i64::MAX as u64..=u64::MAX).prop_map(Json::Big),
        2 => any::<f64>().prop_filter("JSON numbers are finite", |x| x.is_finite()).prop_map(Json::Float),
        1 => any::<bool>().prop_map(Json::Bool),
        1 => Just(Json::Null),
        1 => Just(Json::List),
        1 => Just(Json::Object),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z][a-z0-9_]{0,8}",
        1 => Just("user-agent".to_owned()),
        1 => Just("9lives".to_owned()),
        1 => Just("_private".to_owned()),
        1 => Just(String::new()),
        1 => "\\PC{1,6}",
    ]
}

fn sent() -> impl Strategy<Value = Sent> {
    (
        prop_oneof![6 => text().prop_map(Json::Text), 1 => value()],
        proptest::option::weighted(
            0.7,
            prop_oneof![5 => text().prop_map(Json::Text), 1 => value()],
        ),
        proptest::option::weighted(0.8, proptest::collection::vec((key(), value()), 0..6)),
        proptest::option::weighted(
            0.3,
            prop_oneof![
                3 => (0.0..4.0e9f64).prop_map(Json::Float),
                1 => any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(Json::Float),
                1 => Just(Json::Text("2026-11-28T12:00:00Z".to_owned())),
                1 => text().prop_map(Json::Text),
                1 => Just(Json::Bool(true)),
            ],
        ),
        proptest::bool::weighted(0.05),
    )
        .prop_map(|(event, distinct_id, properties, time, extra_field)| Sent {
            event,
            distinct_id,
            properties,
            time,
            extra_field,
        })
}

/// An event spoor takes: names, keys and values within the rules.
fn good() -> impl Strategy<Value = Sent> {
    let value = prop_oneof![
        "\\PC{0,12}".prop_map(Json::Text),
        any::<i64>().prop_map(Json::Int),
        (-1.0e12..1.0e12f64).prop_map(Json::Float),
        any::<bool>().prop_map(Json::Bool),
    ];
    (
        "[a-z]{1,8}",
        proptest::option::of("[a-z0-9]{1,10}"),
        proptest::collection::btree_map("[a-z][a-z0-9_]{0,8}", value, 0..6),
        proptest::option::of(1.0e9..4.0e9f64),
    )
        .prop_map(|(event, id, properties, time)| Sent {
            event: Json::Text(event),
            distinct_id: id.map(Json::Text),
            properties: Some(properties.into_iter().collect()),
            time: time.map(Json::Float),
            extra_field: false,
        })
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        12 => Just(Damage::None),
        1 => (0.0..1.0f64).prop_map(Damage::Truncate),
        1 => (0.0..1.0f64).prop_map(Damage::InvalidUtf8),
        1 => Just(Damage::Oversize),
    ]
}

/// The body of a batch of `application`'s events: one object or an array.
fn body(application: &str, events: &[Sent], array: bool) -> String {
    let mut out = String::new();
    if array {
        out.push('[');
    }
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("{{\"application\":\"{application}\",\"event\":"));
        e.event.write(&mut out);
        if let Some(id) = &e.distinct_id {
            out.push_str(",\"distinct_id\":");
            id.write(&mut out);
        }
        if let Some(props) = &e.properties {
            out.push_str(",\"properties\":{");
            for (j, (k, v)) in props.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                v.write(&mut out);
            }
            out.push('}');
        }
        if let Some(t) = &e.time {
            out.push_str(",\"time\":");
            t.write(&mut out);
        }
        if e.extra_field {
            out.push_str(",\"propertis\":{}");
        }
        out.push('}');
    }
    if array {
        out.push(']');
    }
    out
}

fn damaged(body: String, damage: &Damage) -> Vec<u8> {
    let mut bytes = body.into_bytes();
    let at = |f: f64, len: usize| ((len as f64) * f) as usize;
    match damage {
        Damage::None => {}
        Damage::Truncate(f) => bytes.truncate(at(*f, bytes.len())),
        Damage::InvalidUtf8(f) => {
            let i = at(*f, bytes.len());
            bytes.insert(i, 0xff);
        }
        Damage::Oversize => {
            bytes.resize(spoor_dashboard::MAX_BODY_BYTES + 1, b' ');
        }
    }
    bytes
}

/// `application → events` of the whole store, from the dashboard's CSV.
fn stored(dash: &Running) -> std::collections::HashMap<String, u64> {
    let (status, body) = dash.get("/applications.csv?window=all");
    assert_eq!(status, 200, "{body}");
    body.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cells = line.split(',');
            Some((cells.next()?.to_owned(), cells.next()?.parse().ok()?))
        })
        .collect()
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "the test says how many requests were taken"
)]
fn random_requests_never_fail_the_server_nor_store_part_of_a_batch() {
    let mut dash = Running::start("intake", &["--no-demo", "--no-meta", "--track-rate", "0"]);
    let addr: SocketAddr = dash.addr.parse().expect("address");
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300u32);
    let strategy = (
        prop_oneof![
            2 => proptest::collection::vec(good(), 1..12),
            3 => proptest::collection::vec(prop_oneof![3 => good(), 1 => sent()], 1..12),
        ],
        any::<bool>(),
        damage(),
    );
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..spoor_testkit::proptest_config()
    });
    // What each batch should leave: its events, or nothing; and how many were taken, refused.
    let tally = RefCell::new((Vec::<(String, u64)>::new(), 0usize, 0usize));
    runner
        .run(&strategy, |(events, array, damage)| {
            let mut tally = tally.borrow_mut();
            let (expected, accepted, refused) = &mut *tally;
            // Applications are shared by batches far apart (the list shows at most 1,000):
            // a refused batch partly stored still shows, as a count above what was taken.
            let application = format!("fz{}", expected.len() % APPLICATIONS);
            let array = array || events.len() > 1;
            let bytes = damaged(body(&application, &events, array), &damage);
            let answer = hostile::send(
                hostile::NORMAL_SOURCE,
                addr,
                &Request::post("/api/track", bytes).header("Content-Type: text/plain"),
                64 << 10,
                Duration::from_secs(30),
            );
            let status = answer.status().unwrap_or(0);
            let text = String::from_utf8_lossy(answer.body()).into_owned();
            prop_assert!(
                matches!(status, 202 | 400 | 413),
                "status {status} for {damage:?}: {text}"
            );
            let reply: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {text}")))?;
            if status == 202 {
                prop_assert!(
                    matches!(damage, Damage::None),
                    "a damaged body was taken: {text}"
                );
                prop_assert_eq!(reply["accepted"].as_u64(), Some(events.len() as u64));
                expected.push((application, events.len() as u64));
                *accepted += 1;
            } else {
                prop_assert!(
                    reply["error"].as_str().is_some_and(|e| !e.is_empty()),
                    "a refusal says why: {text}"
                );
                expected.push((application, 0));
                *refused += 1;
            }
            Ok(())
        })
        .expect("every request answered as it should");
    let (expected, accepted, refused) = tally.into_inner();
    eprintln!("{accepted} requests taken, {refused} refused");
    assert!(
        accepted > 10 && refused > 10,
        "{accepted} taken, {refused} refused: the cases reach both"
    );

    // Every accepted batch whole, nothing of a refused one.
    let deadline = Instant::now() + Duration::from_secs(60);
    let want: u64 = expected.iter().map(|(_, n)| n).sum();
    let mut apps = stored(&dash);
    while apps.values().sum::<u64>() < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        apps = stored(&dash);
    }
    let mut sums = std::collections::HashMap::<&str, u64>::new();
    for (application, events) in &expected {
        *sums.entry(application).or_default() += events;
    }
    for (application, events) in &sums {
        assert_eq!(
            apps.get(*application).copied().unwrap_or(0),
            *events,
            "{application}: every batch taken whole, nothing of those refused"
        );
    }
    assert_eq!(
        apps.len(),
        sums.values().filter(|n| **n > 0).count(),
        "no other application appeared"
    );
    assert!(
        dash.child.try_wait().expect("status").is_none(),
        "the dashboard is still running"
    );
}

#[test]
fn a_flood_from_one_address_is_limited_and_others_still_served() {
    let dash = Running::start("flood", &["--no-demo", "--no-meta", "--track-rate", "20"]);
    let addr: SocketAddr = dash.addr.parse().expect("address");
    let flooder: IpAddr = hostile::hostile_source(1);
    let one = br#"{"application":"flood","event":"hit"}"#.to_vec();
    let started = Instant::now();
    let (mut taken, mut limited) = (0u64, 0u64);
    for _ in 0..400 {
        let answer = hostile::send(
            flooder,
            addr,
            &Request::post("/api/track", one.clone()),
            4096,
            Duration::from_secs(10),
        );
        match answer.status() {
            Some(202) => taken += 1,
            Some(429) => {
                assert!(answer.header("retry-after").is_some(), "{answer:?}");
                limited += 1;
            }
            other => panic!("a flood gets 202 or 429, not {other:?}"),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // A burst of 20, then 20 a second.
    let most = 20.0 + 20.0 * seconds + 1.0;
    assert!(
        taken >= 20 && (taken as f64) <= most,
        "{taken} taken in {seconds:.1} s (at most {most:.0})"
    );
    assert!(limited > 0);
    // Another address is not limited by the flood, and pages still answer.
    let other = hostile::send(
        hostile::NORMAL_SOURCE,
        addr,
        &Request::post(
            "/api/track",
            br#"{"application":"calm","event":"hit"}"#.to_vec(),
        ),
        4096,
        Duration::from_secs(10),
    );
    assert_eq!(other.status(), Some(202), "{other:?}");
    let (status, _) = dash.get("/applications");
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut apps = stored(&dash);
    while apps.get("flood").copied().unwrap_or(0) < taken && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        apps = stored(&dash);
    }
    assert_eq!(
        apps.get("flood").copied(),
        Some(taken),
        "every request taken is stored, once"
    );
}
