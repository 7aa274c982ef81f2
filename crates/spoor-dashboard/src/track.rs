//! Events from browsers and servers: `POST /api/track` and the script that feeds it,
//! `GET /spoor.js`.
//!
//! The endpoint takes one event or an array of them as JSON,
//! `{"application", "event", "distinct_id", "properties": {…}, "time"}` (`distinct_id`,
//! `properties` and `time` optional; `time` in Unix seconds or RFC 3339, the time of arrival
//! when left out). A batch is checked whole, with spoor-event's rules, before any of it is
//! queued: one bad event refuses the batch with a 400 that names it and says what is wrong.
//! Good batches go to spoor's [`Tracker`], which delivers them to the backend.
//!
//! No admin credentials are needed, so what the endpoint takes is bounded instead: bodies
//! ([`MAX_BODY_BYTES`]) and batches ([`MAX_BATCH_EVENTS`]), names ([`MAX_NAME_BYTES`]),
//! requests per second from one client address ([`TrackOptions::rate`]), and the origins a
//! browser may send from ([`TrackOptions::allow_origin`]): a request whose `Origin` is not the
//! dashboard's own nor allowed is refused, and only allowed origins get CORS headers.
//!
//! The query parameter `sent_at` (the sender's clock, Unix seconds, as `spoor.js` sends it)
//! corrects the events' times by the difference between the sender's clock and the
//! dashboard's, as PostHog does, so a browser whose clock is off still places its events
//! right.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use spoor::{Event, Tracker};
use spoor_event::json::{JsonEvent, unix_seconds};
use time::OffsetDateTime;

/// The script, as served at `/spoor.js`.
pub(crate) const SCRIPT: &str = include_str!("../../../web/spoor.js");

/// The most bytes a request body may hold (a browser's `sendBeacon` takes at most 64 KiB).
pub const MAX_BODY_BYTES: usize = 512 * 1024;
/// The most events one request may hold.
pub const MAX_BATCH_EVENTS: usize = 500;
/// The most bytes of an application's name, an event's name or a `distinct_id`.
pub const MAX_NAME_BYTES: usize = 256;
/// How long a client may take to send a body.
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Client addresses the rate limiter remembers at most; past it, new addresses are refused
/// until idle ones are forgotten.
const MAX_CLIENTS: usize = 100_000;

/// What `/api/track` takes, and from whom.
#[derive(Debug, Clone)]
pub struct TrackOptions {
    /// Requests a second one client address may make (an IPv6 client by its /64), with
    /// bursts of as many; `0` for no limit. Default 20.
    pub rate: u32,
    /// Origins (`https://shop.example`) whose pages may send events; `*` for any. The
    /// dashboard's own origin always may. Each is read as [`allowed_origin`] reads it; one it
    /// refuses never matches. Default none.
    pub allow_origin: Vec<String>,
}

impl Default for TrackOptions {
    fn default() -> Self {
        Self {
            rate: 20,
            allow_origin: Vec::new(),
        }
    }
}

/// A value of `--allow-origin` that is no web origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadOrigin {
    /// The value given.
    pub value: String,
}

impl fmt::Display for BadOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an origin: give a scheme and a host, with a port if not the default, \
             and nothing after it (like https://shop.example or http://127.0.0.1:3000), or * for any",
            self.value
        )
    }
}

impl std::error::Error for BadOrigin {}

/// An origin pages may send events from, as browsers write it in `Origin` (scheme, host, port
/// if not the default; lower case), or `*`.
///
/// ```
/// use spoor_dashboard::allowed_origin;
///
/// assert_eq!(allowed_origin("https://Shop.example/")?, "https://shop.example");
/// assert_eq!(allowed_origin("*")?, "*");
/// for bad in ["shop.example", "https://shop.example/page", "ftp://x", "https://"] {
///     assert!(allowed_origin(bad).is_err(), "{bad}");
/// }
/// # Ok::<(), spoor_dashboard::BadOrigin>(())
/// ```
///
/// # Errors
///
/// [`BadOrigin`] for anything else.
pub fn allowed_origin(value: &str) -> Result<String, BadOrigin> {
    let value = value.trim();
    if value == "*" {
        return Ok(value.to_owned());
    }
    let bad = || BadOrigin {
        value: value.to_owned(),
    };
    let lower = value.to_ascii_lowercase();
    let trimmed = lower.strip_suffix('/').unwrap_or(&lower);
    let (scheme, authority) = trimmed.split_once("://").ok_or_else(bad)?;
    let fine = matches!(scheme, "http" | "https")
        && !authority.is_empty()
        && !authority.contains(['/', '?', '#', '@', ' '])
        && !authority.starts_with(':');
    if fine {
        Ok(trimmed.to_owned())
    } else {
        Err(bad())
    }
}

/// What is wrong with a request's events: a 400 whose message says which and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadBatch(pub(crate) String);

impl fmt::Display for BadBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One event or an array of them, each read as a [`JsonEvent`] with its place in the batch
/// named in any error.
struct Batch(Vec<JsonEvent>);

impl<'de> Deserialize<'de> for Batch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Events;
        impl<'de> Visitor<'de> for Events {
            type Value = Batch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event object, or an array of them")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Batch, A::Error> {
                let mut events = Vec::new();
                loop {
                    if events.len() == MAX_BATCH_EVENTS {
                        // One more would be too many; a full batch ends here.
                        if seq.next_element::<de::IgnoredAny>()?.is_some() {
                            return Err(de::Error::custom(format!(
                                "more than {MAX_BATCH_EVENTS} events in one request; send them in smaller batches"
                            )));
                        }
                        break;
                    }
                    let at = events.len();
                    match seq.next_element::<JsonEvent>() {
                        Ok(Some(event)) => events.push(event),
                        Ok(None) => break,
                        Err(e) => return Err(de::Error::custom(format!("event {at}: {e}"))),
                    }
                }
                Ok(Batch(events))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Batch, A::Error> {
                JsonEvent::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|event| Batch(vec![event]))
            }
        }
        deserializer.deserialize_any(Events)
    }
}

/// Reads and checks a request's events: every one, or an error naming the first bad one
/// (events are numbered from 0, as in the array). `now` is the time of arrival; `sent_at`,
/// when given, the sender's clock at sending, to correct the events' times by.
pub(crate) fn parse_batch(
    body: &[u8],
    now: OffsetDateTime,
    sent_at: Option<&str>,
) -> Result<Vec<Event>, BadBatch> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BadBatch(format!(
            "the body has {} bytes, more than {MAX_BODY_BYTES}; send smaller batches",
            body.len()
        )));
    }
    let skew = match sent_at {
        None => time::Duration::ZERO,
        Some(text) => {
            let sent = text
                .parse::<f64>()
                .ok()
                .and_then(unix_seconds)
                .ok_or_else(|| {
                    BadBatch(format!(
                        "sent_at {text:?} is not a time in Unix seconds (like 1764331200.5)"
                    ))
                })?;
            now - sent
        }
    };
    let batch: Batch = serde_json::from_slice(body).map_err(|e| {
        BadBatch(format!(
            "{e}; send JSON: an event {{\"application\", \"event\", \"distinct_id\", \"properties\"}} or an array of them"
        ))
    })?;
    if batch.0.is_empty() {
        return Err(BadBatch("the array holds no event".to_owned()));
    }
    batch
        .0
        .into_iter()
        .enumerate()
        .map(|(at, incoming)| {
            event(incoming, now, skew).map_err(|why| BadBatch(format!("event {at}: {why}")))
        })
        .collect()
}

/// The [`Event`] an incoming one makes (spoor-event's reading, with the intake's bound on
/// names), or why it makes none.
fn event(incoming: JsonEvent, now: OffsetDateTime, skew: time::Duration) -> Result<Event, String> {
    for (field, text) in [
        ("application", Some(incoming.application())),
        ("event", Some(incoming.event())),
        ("distinct_id", incoming.distinct_id()),
    ] {
        if let Some(text) = text.filter(|t| t.len() > MAX_NAME_BYTES) {
            return Err(format!(
                "`{field}` has {} bytes, more than {MAX_NAME_BYTES}",
                text.len()
            ));
        }
    }
    incoming.into_event(now, skew).map_err(|e| e.to_string())
}

/// Requests per client address: a token bucket each, in a bounded table.
#[derive(Debug)]
pub(crate) struct Limiter {
    rate: u32,
    clients: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Limiter {
    pub(crate) fn new(rate: u32) -> Self {
        Self {
            rate,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request of `client`'s at `now`: `Ok`, or how long until it may send again.
    pub(crate) fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.rate == 0 {
            return Ok(());
        }
        let rate = f64::from(self.rate);
        let client = spoor_engine::server::client_key(client);
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(&client) {
            // Forget the clients whose buckets have refilled: they are as if never seen.
            let full = Duration::from_secs(1);
            clients.retain(|_, b| now.saturating_duration_since(b.at) < full);
            if clients.len() >= MAX_CLIENTS {
                return Err(full);
            }
        }
        let bucket = clients.entry(client).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

/// Whether a request from `origin` (its `Origin` header) to the dashboard at `host` (its
/// `Host` header) may send events, and whether it gets CORS headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// No `Origin` (a server, `curl`) or the dashboard's own pages: no CORS headers.
    Direct,
    /// An allowed origin: CORS headers naming it.
    Cors,
    /// Refused: 403.
    Refused,
}

/// Decides a request's [`Admission`] from its `Origin` and `Host` headers.
pub(crate) fn admit(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> Admission {
    let Some(origin) = origin else {
        return Admission::Direct;
    };
    let own = host.is_some_and(|host| {
        origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
    });
    if own {
        Admission::Direct
    } else if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        Admission::Cors
    } else {
        Admission::Refused
    }
}

/// The intake: the tracker that delivers, the limiter and the allowed origins.
#[derive(Debug)]
pub(crate) struct Intake {
    pub(crate) tracker: Tracker,
    pub(crate) limiter: Limiter,
    pub(crate) allow_origin: Vec<String>,
}

impl Intake {
    pub(crate) fn new(tracker: Tracker, options: TrackOptions) -> Self {
        Self {
            tracker,
            limiter: Limiter::new(options.rate),
            allow_origin: options
                .allow_origin
                .iter()
                .filter_map(|o| allowed_origin(o).ok())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor::Value;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    fn parse(body: &str) -> Result<Vec<Event>, BadBatch> {
        parse_batch(body.as_bytes(), NOW, None)
    }

    fn error(body: &str) -> String {
        parse(body).expect_err(body).0
    }

    #[test]
    fn takes_one_event_or_an_array_with_typed_properties() {
        let one = parse(r#"{"application":"shop","event":"signup","distinct_id":"u1","properties":{"plan":"pro","seats":3,"price":9.5,"trial":true}}"#).unwrap();
        assert_eq!(one.len(), 1);
        let e = &one[0];
        assert_eq!(
            (e.application(), e.name(), e.distinct_id()),
            ("shop", "signup", Some("u1"))
        );
        assert_eq!(e.time(), NOW);
        assert_eq!(e.property("plan"), Some(&Value::String("pro".into())));
        assert_eq!(e.property("seats"), Some(&Value::Int(3)));
        assert_eq!(e.property("price"), Some(&Value::Float(9.5)));
        assert_eq!(e.property("trial"), Some(&Value::Bool(true)));
        let many = parse(r#"[{"application":"a","event":"x"},{"application":"b","event":"y","time":1764331200.25},{"application":"c","event":"z","time":"2026-11-28T12:00:00Z"}]"#).unwrap();
        assert_eq!(many.len(), 3);
        assert_eq!(many[0].distinct_id(), None);
        assert_eq!(many[1].time(), datetime!(2025-11-28 12:00:00.25 UTC));
        assert_eq!(many[2].time(), datetime!(2026-11-28 12:00 UTC));
    }

    #[test]
    fn sent_at_corrects_the_senders_clock() {
        // The sender's clock is an hour behind: its events happened an hour later than it says.
        let sent = (NOW - time::Duration::hours(1)).unix_timestamp();
        let events = parse_batch(
            format!(r#"{{"application":"a","event":"x","time":{}}}"#, sent - 10).as_bytes(),
            NOW,
            Some(&sent.to_string()),
        )
        .unwrap();
        assert_eq!(events[0].time(), NOW - time::Duration::seconds(10));
        assert!(
            parse_batch(b"{}", NOW, Some("yesterday"))
                .unwrap_err()
                .0
                .contains("sent_at")
        );
    }

    #[test]
    fn every_mistake_names_the_event_and_what_is_wrong() {
        for (body, says) in [
            ("", "EOF"),
            ("[]", "no event"),
            ("42", "an event object, or an array"),
            (r#"{"event":"x"}"#, "missing field `application`"),
            (r#"{"application":"a"}"#, "missing field `event`"),
            (
                r#"{"application":"a","event":"x","propertis":{}}"#,
                "unknown field `propertis`",
            ),
            (
                r#"[{"application":"a","event":"x"},{"application":3,"event":"x"}]"#,
                "event 1: invalid type: integer `3`",
            ),
            (
                r#"{"application":"","event":"x"}"#,
                "`application` is empty",
            ),
            (
                r#"{"application":"a","event":"x","distinct_id":""}"#,
                "`distinct_id` is empty",
            ),
            (
                r#"{"application":"a","event":"x","properties":{"user-agent":"x"}}"#,
                "user-agent",
            ),
            (
                r#"{"application":"a","event":"x","properties":{"k":1,"k":2}}"#,
                "given twice",
            ),
            (
                r#"{"application":"a","event":"x","properties":{"k":null}}"#,
                "property \"k\": null is not a value",
            ),
            (
                r#"{"application":"a","event":"x","properties":{"k":[1]}}"#,
                "a list is not a value",
            ),
            (
                r#"{"application":"a","event":"x","properties":{"k":{"a":1}}}"#,
                "an object is not a value",
            ),
            (
                r#"{"application":"a","event":"x","properties":{"k":18446744073709551615}}"#,
                "send it as a string",
            ),
            (
                r#"{"application":"a","event":"x","properties":[]}"#,
                "an object of properties",
            ),
            (
                r#"{"application":"a","event":"x","time":-5}"#,
                "not a time in Unix seconds",
            ),
            (
                r#"{"application":"a","event":"x","time":"yesterday"}"#,
                "not RFC 3339",
            ),
            (
                r#"{"application":"a","event":"x","time":true}"#,
                "Unix seconds, or RFC 3339",
            ),
        ] {
            let message = error(body);
            assert!(message.contains(says), "{body}: {message}");
        }
        let long = "n".repeat(MAX_NAME_BYTES + 1);
        assert!(
            error(&format!(r#"{{"application":"{long}","event":"x"}}"#)).contains("more than 256")
        );
        let huge = format!(
            r#"{{"application":"a","event":"x","properties":{{"k":"{}"}}}}"#,
            "v".repeat(300 * 1024)
        );
        assert!(
            parse_batch(huge.as_bytes(), NOW, None)
                .unwrap_err()
                .0
                .contains("more than")
        );
    }

    #[test]
    fn a_batch_past_its_limit_is_refused_whole() {
        let one = r#"{"application":"a","event":"x"}"#;
        let full = format!("[{}]", vec![one; MAX_BATCH_EVENTS].join(","));
        assert_eq!(parse(&full).unwrap().len(), MAX_BATCH_EVENTS);
        let over = format!("[{}]", vec![one; MAX_BATCH_EVENTS + 1].join(","));
        assert!(error(&over).contains("more than 500 events"));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let body = b"{\"application\":\"a\xff\",\"event\":\"x\"}";
        assert!(parse_batch(body, NOW, None).is_err());
    }

    #[test]
    fn the_limiter_allows_bursts_of_the_rate_then_refills() {
        let limiter = Limiter::new(3);
        let t = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            limiter.take(a, t).unwrap();
        }
        let wait = limiter.take(a, t).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        limiter.take(b, t).unwrap();
        limiter.take(a, t + Duration::from_millis(400)).unwrap();
        assert!(limiter.take(a, t + Duration::from_millis(400)).is_err());
        assert!(Limiter::new(0).take(a, t).is_ok());
    }

    #[test]
    fn the_script_is_at_most_two_kilobytes_gzipped() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(SCRIPT.as_bytes()).unwrap();
        let size = gz.finish().unwrap().len();
        assert!(size <= 2048, "spoor.js is {size} bytes gzipped");
    }

    #[test]
    fn origins_are_the_dashboards_own_allowed_ones_or_refused() {
        let allowed = vec!["https://shop.example".to_owned()];
        assert_eq!(admit(None, Some("h:8080"), &allowed), Admission::Direct);
        assert_eq!(
            admit(Some("http://h:8080"), Some("h:8080"), &allowed),
            Admission::Direct
        );
        assert_eq!(
            admit(Some("https://shop.example"), Some("h:8080"), &allowed),
            Admission::Cors
        );
        assert_eq!(
            admit(Some("https://evil.example"), Some("h:8080"), &allowed),
            Admission::Refused
        );
        assert_eq!(
            admit(Some("null"), Some("h:8080"), &allowed),
            Admission::Refused
        );
        assert_eq!(
            admit(Some("https://any.example"), None, &["*".to_owned()]),
            Admission::Cors
        );
    }
}
