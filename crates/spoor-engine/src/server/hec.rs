//! The HTTP Event Collector: `collector/event` (envelopes), `collector/raw`, `collector/health`
//! and `collector/ack`, with channels.
//!
//! A batch is all or nothing: every envelope is checked before any is stored, and the reply
//! names the first bad one (`invalid-event-number`). The reply comes once the events are
//! durable, so an acknowledgement id, when acknowledgements are on, is true from the start.
//!
//! Every mistake of the client gets a 4xx with the code Splunk gives it (HEC clients resend
//! a batch that got a 5xx, for ever if the mistake is theirs): 5 no data; 6 invalid data
//! format (not JSON, not UTF-8, a bad `time`, metadata of the wrong type, a `host`, `source` or
//! `sourcetype` longer than the store's 65,535 bytes, an event too large to store); 7 an index
//! that does not exist; 10 and 11 a missing or malformed channel; 12 and 13 a missing or
//! blank `event`; 14 acknowledgements off; 15 `fields` that are not an object of strings,
//! numbers or lists of them. Only the server's own failures (the disk) are 8, a 500.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;
use spoor_proto::hec::{CHANNEL_HEADER, HecCode};
use time::OffsetDateTime;

use super::State;
use super::receivers::Target;
use super::reply::{self, Req, Response};
use super::route::Route;
use crate::EventMeta;
use crate::record::{MAX_PAYLOAD, RecordRef};

/// Channels seen, each with its next acknowledgement id.
#[derive(Debug, Default)]
pub(crate) struct Channels {
    next_ack: Mutex<HashMap<String, u64>>,
}

/// Channels remembered at most; past this, a new channel makes room by forgetting them all
/// (their later ack polls answer `false`, which tells the client to resend, never to drop).
const MAX_CHANNELS: usize = 100_000;

impl Channels {
    fn issue(&self, channel: &str) -> u64 {
        let mut map = self.next_ack.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_CHANNELS && !map.contains_key(channel) {
            map.clear();
        }
        let next = map.entry(channel.to_owned()).or_insert(0);
        let id = *next;
        *next += 1;
        id
    }

    fn issued(&self, channel: &str, id: u64) -> bool {
        let map = self.next_ack.lock().unwrap_or_else(|e| e.into_inner());
        map.get(channel).is_some_and(|next| id < *next)
    }
}

/// One checked envelope.
#[derive(Debug)]
struct Envelope<'a> {
    index: Cow<'a, str>,
    sourcetype: Cow<'a, str>,
    source: Cow<'a, str>,
    host: Cow<'a, str>,
    time: OffsetDateTime,
    event: String,
}

/// Handles a collector endpoint; the token was checked from the head, before the body was read
/// (`conn.rs`).
pub(crate) async fn handle(state: Arc<State>, route: &Route, req: Req) -> Response {
    if *route == Route::HecHealth {
        return reply::hec(HecCode::Healthy, None, None);
    }
    let channel = match req.headers.get(CHANNEL_HEADER).map(|v| v.to_str()) {
        Some(Ok(channel)) => Some(channel.to_owned()),
        Some(Err(_)) => return reply::hec(HecCode::InvalidDataChannel, None, None),
        None => req.query.get("channel").map(str::to_owned),
    };
    if let Some(channel) = &channel
        && !is_guid(channel)
    {
        return reply::hec(HecCode::InvalidDataChannel, None, None);
    }
    let acks = state.options.hec_acks;
    if acks && channel.is_none() {
        return reply::hec(HecCode::DataChannelMissing, None, None);
    }
    if *route == Route::HecAck {
        return ack(&state, &req, channel.as_deref());
    }
    let arrival = OffsetDateTime::now_utc();
    let stored = if *route == Route::HecRaw {
        raw(&state, &req, arrival).await
    } else {
        events(&state, &req, arrival).await
    };
    match stored {
        Ok(()) => {
            let ack_id = channel.filter(|_| acks).map(|c| state.hec.issue(&c));
            reply::hec(HecCode::Success, None, ack_id)
        }
        Err((code, event)) => reply::hec(code, event, None),
    }
}

type Refusal = (HecCode, Option<u64>);

fn ack(state: &State, req: &Req, channel: Option<&str>) -> Response {
    #[derive(serde::Deserialize)]
    struct Poll {
        acks: Vec<u64>,
    }
    let Some(channel) = channel.filter(|_| state.options.hec_acks) else {
        return reply::hec(HecCode::AckDisabled, None, None);
    };
    let Ok(poll) = serde_json::from_slice::<Poll>(&req.body) else {
        return reply::hec(HecCode::InvalidDataFormat, None, None);
    };
    let answers: Vec<(u64, bool)> = poll
        .acks
        .iter()
        .map(|id| (*id, state.hec.issued(channel, *id)))
        .collect();
    reply::with_type(
        http::StatusCode::OK,
        "application/json; charset=UTF-8",
        super::body::Body::full(spoor_proto::reply::hec_acks(&answers)),
    )
}

/// The index and metadata a request gives in its query string, over HEC's defaults.
fn query_meta(req: &Req) -> (String, EventMeta) {
    let target = Target::with_defaults(&req.query, req.peer, "httpevent", "http:spoor");
    (target.index, target.meta)
}

async fn raw(state: &Arc<State>, req: &Req, arrival: OffsetDateTime) -> Result<(), Refusal> {
    let (index, meta) = query_meta(req);
    let Ok(text) = std::str::from_utf8(&req.body) else {
        return Err((HecCode::InvalidDataFormat, None));
    };
    if text.trim().is_empty() {
        return Err((HecCode::NoData, None));
    }
    if !state.engine.store().has_index(&index) {
        return Err((HecCode::IncorrectIndex, None));
    }
    // The events are at most the whole text: metadata too long for the store is refused here.
    if !storable(&index, &meta.sourcetype, &meta.source, &meta.host, 0) {
        return Err((HecCode::InvalidDataFormat, None));
    }
    let text = text.to_owned();
    let engine = Arc::clone(&state.engine);
    blocking(move || {
        engine.receive(&index, &meta, &text, arrival)?;
        Ok(())
    })
    .await
}

async fn events(state: &Arc<State>, req: &Req, arrival: OffsetDateTime) -> Result<(), Refusal> {
    let (index, meta) = query_meta(req);
    let body = req.body.clone();
    let engine = Arc::clone(&state.engine);
    // Read and stored off the async threads; the envelopes borrow their strings from the body.
    blocking(move || {
        let envelopes = parse(&body, &index, &meta, arrival).map_err(Failure::Refused)?;
        let mut known: Option<&str> = None;
        for (i, e) in envelopes.iter().enumerate() {
            if known != Some(&e.index) {
                if !engine.store().has_index(&e.index) {
                    return Err(Failure::Refused((HecCode::IncorrectIndex, Some(i as u64))));
                }
                known = Some(&e.index);
            }
        }
        // Consecutive envelopes with the same index and metadata are stored in one write.
        for group in envelopes.chunk_by(|a, b| {
            a.index == b.index
                && a.sourcetype == b.sourcetype
                && a.source == b.source
                && a.host == b.host
        }) {
            let first = &group[0];
            let meta = EventMeta::new(&*first.sourcetype, &*first.source, &*first.host);
            let events = group.iter().map(|e| (e.time, e.event.as_str()));
            engine.append(&first.index, &meta, events)?;
        }
        Ok(())
    })
    .await
}

/// Why a write off the async threads did not happen.
enum Failure {
    /// The request was refused before anything was stored.
    Refused(Refusal),
    /// The store failed.
    Store(crate::StoreError),
}

impl From<crate::StoreError> for Failure {
    fn from(err: crate::StoreError) -> Self {
        Self::Store(err)
    }
}

/// Runs a store write off the async threads. What the store refuses before writing (an
/// event or metadata too large, an index that is not there) is the client's mistake; only a
/// failure of the disk is HEC's internal error.
async fn blocking(
    write: impl FnOnce() -> Result<(), Failure> + Send + 'static,
) -> Result<(), Refusal> {
    match tokio::task::spawn_blocking(write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(Failure::Refused(refusal))) => Err(refusal),
        Ok(Err(Failure::Store(
            crate::StoreError::UnknownIndex(_) | crate::StoreError::InvalidIndexName { .. },
        ))) => Err((HecCode::IncorrectIndex, None)),
        Ok(Err(Failure::Store(err @ crate::StoreError::Io { .. }))) => {
            tracing::error!(error = %err, "hec write failed");
            Err((HecCode::InternalServerError, None))
        }
        Ok(Err(Failure::Store(err))) => {
            tracing::debug!(error = %err, "hec data refused by the store");
            Err((HecCode::InvalidDataFormat, None))
        }
        Err(err) => {
            tracing::error!(error = %err, "hec write task failed");
            Err((HecCode::InternalServerError, None))
        }
    }
}

/// One envelope as sent; keys HEC does not know are ignored, as HEC does.
#[derive(serde::Deserialize)]
struct Wire<'a> {
    #[serde(default)]
    event: Json,
    #[serde(default)]
    time: Json,
    #[serde(default)]
    fields: Json,
    #[serde(borrow)]
    index: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sourcetype: Option<Cow<'a, str>>,
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    host: Option<Cow<'a, str>>,
}

/// Reads the envelopes of a `collector/event` body (JSON objects one after another).
fn parse<'a>(
    body: &'a [u8],
    index: &'a str,
    meta: &'a EventMeta,
    arrival: OffsetDateTime,
) -> Result<Vec<Envelope<'a>>, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err((HecCode::NoData, None));
    }
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<Wire<'_>>();
    loop {
        let n = Some(out.len() as u64);
        // Each envelope must be an object (serde would read a struct from an array too).
        match body[stream.byte_offset()..]
            .iter()
            .find(|b| !b.is_ascii_whitespace())
        {
            None => break,
            Some(b'{') => {}
            Some(_) => return Err((HecCode::InvalidDataFormat, n)),
        }
        let Some(Ok(wire)) = stream.next() else {
            return Err((HecCode::InvalidDataFormat, n));
        };
        let event = match wire.event {
            Json::Null => return Err((HecCode::EventFieldRequired, n)),
            Json::String(s) if s.is_empty() => return Err((HecCode::EventFieldBlank, n)),
            Json::String(s) => s,
            other => other.to_string(),
        };
        if !indexed_fields_ok(&wire.fields) {
            return Err((HecCode::IndexedFieldsError, n));
        }
        let time = match &wire.time {
            Json::Null => arrival,
            Json::Number(t) => epoch_number(t).ok_or((HecCode::InvalidDataFormat, n))?,
            Json::String(t) => epoch(t).ok_or((HecCode::InvalidDataFormat, n))?,
            _ => return Err((HecCode::InvalidDataFormat, n)),
        };
        let envelope = Envelope {
            index: wire.index.unwrap_or(Cow::Borrowed(index)),
            sourcetype: wire.sourcetype.unwrap_or(Cow::Borrowed(&meta.sourcetype)),
            source: wire.source.unwrap_or(Cow::Borrowed(&meta.source)),
            host: wire.host.unwrap_or(Cow::Borrowed(&meta.host)),
            time,
            event,
        };
        // Checked here, so that no part of the batch is stored when one envelope cannot be.
        if !storable(
            &envelope.index,
            &envelope.sourcetype,
            &envelope.source,
            &envelope.host,
            envelope.event.len(),
        ) {
            return Err((HecCode::InvalidDataFormat, n));
        }
        out.push(envelope);
    }
    Ok(out)
}

/// Whether the store takes an event of `raw_len` bytes with this metadata: `sourcetype`,
/// `source` and `host` at most 65,535 bytes each (an index that long does not exist: code 7,
/// found later), the whole record within the store's frame (the rule of `Record::encode`).
fn storable(index: &str, sourcetype: &str, source: &str, host: &str, raw_len: usize) -> bool {
    let record = RecordRef {
        time_micros: 0,
        index,
        sourcetype,
        source,
        host,
        raw: "",
    }
    .payload_len();
    [sourcetype, source, host]
        .iter()
        .all(|m| m.len() <= usize::from(u16::MAX))
        && record.saturating_add(raw_len) <= MAX_PAYLOAD
}

/// HEC's indexed `fields`: absent, or an object whose values are strings, numbers or
/// booleans, or lists of them.
fn indexed_fields_ok(fields: &Json) -> bool {
    let scalar = |v: &Json| {
        matches!(
            v,
            Json::Null | Json::String(_) | Json::Number(_) | Json::Bool(_)
        )
    };
    match fields {
        Json::Null => true,
        Json::Object(map) => map.values().all(|v| match v {
            Json::Array(items) => items.iter().all(scalar),
            other => scalar(other),
        }),
        _ => false,
    }
}

/// Epoch seconds with an optional fraction (`1433188255.500`), read exactly.
fn epoch(text: &str) -> Option<OffsetDateTime> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    // The fraction's digits, as nanoseconds: `5` is 500,000,000.
    let nanos = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0i64, |n, digit| n * 10 + i64::from(digit - b'0'));
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
        .ok()
}

/// A JSON number of epoch seconds (see [`epoch`]), as written or as the shortest decimal
/// that reads back as the same float.
fn epoch_number(number: &serde_json::Number) -> Option<OffsetDateTime> {
    if let Some(secs) = number.as_u64() {
        return OffsetDateTime::from_unix_timestamp(i64::try_from(secs).ok()?).ok();
    }
    // No number's decimal is longer than this; formatted without allocating.
    let mut text = [0u8; 64];
    let mut rest = &mut text[..];
    std::io::Write::write_fmt(&mut rest, format_args!("{number}")).ok()?;
    let len = 64 - rest.len();
    epoch(std::str::from_utf8(&text[..len]).ok()?)
}

/// Splunk's channels are GUIDs: `8-4-4-4-12` hex digits.
fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> EventMeta {
        EventMeta::new("httpevent", "http:spoor", "h")
    }

    #[test]
    fn envelopes_and_their_faults() {
        let t = OffsetDateTime::UNIX_EPOCH;
        let ok = br#"{"event":"a","time":1433188255.500,"index":"spoor"} {"event":{"k":1},"time":"7","sourcetype":"s"}
{"event":"c","fields":{"x":"y"}}"#;
        let meta = meta();
        let got = parse(ok, "main", &meta, t).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0].time.unix_timestamp_nanos(),
            1_433_188_255_500_000_000
        );
        assert_eq!((&*got[0].index, &*got[1].index), ("spoor", "main"));
        assert_eq!(got[1].event, r#"{"k":1}"#);
        assert_eq!(got[1].sourcetype, "s");
        assert_eq!(got[2].time, t);
        let fault = |body: &[u8]| parse(body, "main", &meta, t).unwrap_err();
        assert_eq!(fault(b"  "), (HecCode::NoData, None));
        assert_eq!(
            fault(br#"{"event":"a"} {"time":1}"#),
            (HecCode::EventFieldRequired, Some(1))
        );
        assert_eq!(
            fault(br#"{"event":""}"#),
            (HecCode::EventFieldBlank, Some(0))
        );
        assert_eq!(
            fault(br#"{"event":"a"}{"#),
            (HecCode::InvalidDataFormat, Some(1))
        );
        assert_eq!(
            fault(br#"["event"]"#),
            (HecCode::InvalidDataFormat, Some(0))
        );
        assert_eq!(
            fault(br#"{"event":"a","time":"soon"}"#),
            (HecCode::InvalidDataFormat, Some(0))
        );
        assert_eq!(
            fault(br#"{"event":"a","time":-1}"#),
            (HecCode::InvalidDataFormat, Some(0))
        );
        assert_eq!(
            fault(br#"{"event":"a","host":3}"#),
            (HecCode::InvalidDataFormat, Some(0))
        );
        assert_eq!(
            fault(br#"{"event":"a","fields":[1]}"#),
            (HecCode::IndexedFieldsError, Some(0))
        );
    }

    /// The check before a batch is stored says what the store's encoder says, at the limits.
    #[test]
    fn storable_is_the_stores_rule() {
        let encodes = |sourcetype: &str, host: &str, raw: String| {
            let record = crate::Record {
                time_micros: 0,
                index: "main".into(),
                sourcetype: sourcetype.into(),
                source: "s".into(),
                host: host.into(),
                raw,
            };
            record.encode(&mut Vec::new()).is_ok()
        };
        let long = "h".repeat(65_535);
        let longer = "h".repeat(65_536);
        for (sourcetype, host) in [("st", "h"), ("st", &*long), (&*long, "h"), ("st", &*longer)] {
            assert_eq!(
                storable("main", sourcetype, "s", host, 1),
                encodes(sourcetype, host, "x".into()),
                "{} {}",
                sourcetype.len(),
                host.len()
            );
        }
        let overhead = 1 + 8 + (2 + 4) + (2 + 2) + (2 + 1) + (2 + 1) + 4;
        for raw_len in [MAX_PAYLOAD - overhead, MAX_PAYLOAD - overhead + 1] {
            assert_eq!(
                storable("main", "st", "s", "h", raw_len),
                encodes("st", "h", "r".repeat(raw_len)),
                "{raw_len}"
            );
        }
        assert!(storable("main", "st", "s", "h", MAX_PAYLOAD - overhead));
        assert!(!storable(
            "main",
            "st",
            "s",
            "h",
            MAX_PAYLOAD - overhead + 1
        ));
    }

    #[test]
    fn client_mistakes_in_envelopes() {
        let t = OffsetDateTime::UNIX_EPOCH;
        let meta = meta();
        let fault = |body: &[u8]| parse(body, "main", &meta, t).unwrap_err();
        let long = "h".repeat(65_536);
        for key in ["host", "source", "sourcetype"] {
            let body = format!(r#"{{"event":"a"}} {{"event":"b","{key}":"{long}"}}"#);
            assert_eq!(
                fault(body.as_bytes()),
                (HecCode::InvalidDataFormat, Some(1)),
                "{key}"
            );
        }
        assert_eq!(
            fault(br#"{"event":"a","fields":{"x":{"y":1}}}"#),
            (HecCode::IndexedFieldsError, Some(0))
        );
        assert_eq!(
            fault(br#"{"event":"a","fields":{"x":[[1]]}}"#),
            (HecCode::IndexedFieldsError, Some(0))
        );
        assert_eq!(
            fault(br#"{"event":"a","fields":"x"}"#),
            (HecCode::IndexedFieldsError, Some(0))
        );
        assert_eq!(
            fault(b"{\"event\":\"a\xff\"}"),
            (HecCode::InvalidDataFormat, Some(0))
        );
        assert_eq!(
            fault(br#"{"event":"\ud800"}"#),
            (HecCode::InvalidDataFormat, Some(0))
        );
        let deep = format!(r#"{{"event":{}1{}}}"#, "[".repeat(200), "]".repeat(200));
        assert_eq!(
            fault(deep.as_bytes()),
            (HecCode::InvalidDataFormat, Some(0))
        );
        let ok = br#"{"event":"a","fields":{"s":"x","n":1,"b":true,"l":["x",2]}}"#;
        assert_eq!(parse(ok, "main", &meta, t).unwrap().len(), 1);
    }

    #[test]
    fn channels_are_guids_and_acks_count_per_channel() {
        assert!(is_guid("0AEEB3E1-6C49-45A8-A2B6-D6D5A1E2D1C0"));
        assert!(!is_guid("0AEEB3E1-6C49-45A8-A2B6"));
        assert!(!is_guid("zzzzzzzz-6C49-45A8-A2B6-D6D5A1E2D1C0"));
        let c = Channels::default();
        assert_eq!((c.issue("a"), c.issue("a"), c.issue("b")), (0, 1, 0));
        assert!(c.issued("a", 1) && !c.issued("a", 2) && !c.issued("z", 0));
    }
}
