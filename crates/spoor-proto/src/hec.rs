//! The HTTP Event Collector: batches of event envelopes, channel and acknowledgements,
//! health, and HEC's `{"text":…,"code":n}` replies.
//!
//! Envelopes arrive already encoded (spoor-event writes them); this module only cuts them
//! into batches under a byte cap and wraps them in requests.

use std::collections::BTreeMap;
use std::fmt;

use http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use crate::call::{Call, Parser};
use crate::config::HecConfig;
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::service::{Service, USER_AGENT_VALUE};

/// The default batch cap: 900 000 bytes, below HEC's default `max_content_length` of 1 MB.
pub const DEFAULT_BATCH_CAP: usize = 900_000;

/// HEC's reply codes (`code` in `{"text":…,"code":n}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HecCode {
    /// 0: Success.
    Success,
    /// 1: Token disabled.
    TokenDisabled,
    /// 2: Token is required.
    TokenRequired,
    /// 3: Invalid authorization.
    InvalidAuthorization,
    /// 4: Invalid token.
    InvalidToken,
    /// 5: No data.
    NoData,
    /// 6: Invalid data format.
    InvalidDataFormat,
    /// 7: Incorrect index.
    IncorrectIndex,
    /// 8: Internal server error.
    InternalServerError,
    /// 9: Server is busy.
    ServerBusy,
    /// 10: Data channel is missing.
    DataChannelMissing,
    /// 11: Invalid data channel.
    InvalidDataChannel,
    /// 12: Event field is required.
    EventFieldRequired,
    /// 13: Event field cannot be blank.
    EventFieldBlank,
    /// 14: ACK is disabled.
    AckDisabled,
    /// 15: Error in handling indexed fields.
    IndexedFieldsError,
    /// 16: Query string authorization is not enabled.
    QueryStringAuthorizationDisabled,
    /// 17: HEC is healthy.
    Healthy,
    /// 18: HEC is unhealthy, queues are full.
    QueuesFull,
    /// 19: HEC is unhealthy, ack service unavailable.
    AckUnavailable,
    /// 20: HEC is unhealthy, queues are full, ack service unavailable.
    QueuesFullAckUnavailable,
    /// 21: Invalid token (400 form).
    InvalidTokenAlt,
    /// 22: Token disabled (400 form).
    TokenDisabledAlt,
    /// A code not in Splunk's table.
    Other(u16),
}

const CODES: [HecCode; 23] = [
    HecCode::Success,
    HecCode::TokenDisabled,
    HecCode::TokenRequired,
    HecCode::InvalidAuthorization,
    HecCode::InvalidToken,
    HecCode::NoData,
    HecCode::InvalidDataFormat,
    HecCode::IncorrectIndex,
    HecCode::InternalServerError,
    HecCode::ServerBusy,
    HecCode::DataChannelMissing,
    HecCode::InvalidDataChannel,
    HecCode::EventFieldRequired,
    HecCode::EventFieldBlank,
    HecCode::AckDisabled,
    HecCode::IndexedFieldsError,
    HecCode::QueryStringAuthorizationDisabled,
    HecCode::Healthy,
    HecCode::QueuesFull,
    HecCode::AckUnavailable,
    HecCode::QueuesFullAckUnavailable,
    HecCode::InvalidTokenAlt,
    HecCode::TokenDisabledAlt,
];

impl HecCode {
    /// The code for a number.
    pub fn from_u16(n: u16) -> Self {
        CODES.get(usize::from(n)).copied().unwrap_or(Self::Other(n))
    }

    /// The number.
    pub fn as_u16(self) -> u16 {
        match self {
            Self::Other(n) => n,
            known => CODES
                .iter()
                .position(|c| *c == known)
                .and_then(|i| u16::try_from(i).ok())
                .unwrap_or(u16::MAX),
        }
    }

    /// Whether resending the same batch later may succeed (busy, unhealthy, internal error).
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::InternalServerError
                | Self::ServerBusy
                | Self::QueuesFull
                | Self::AckUnavailable
                | Self::QueuesFullAckUnavailable
        )
    }
}

impl fmt::Display for HecCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_u16())
    }
}

/// A batch body: envelopes concatenated, as `collector/event` takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The body bytes.
    pub body: Vec<u8>,
    /// How many envelopes it holds.
    pub events: usize,
}

/// Cuts a stream of encoded envelopes into batches no larger than a byte cap.
///
/// ```
/// use spoor_proto::hec::Batcher;
///
/// let mut batcher = Batcher::new(30);
/// assert!(batcher.push(br#"{"event":"a=\"1\""}"#)?.is_none());
/// let full = batcher.push(br#"{"event":"b=\"2\""}"#)?.expect("the second envelope does not fit");
/// assert_eq!((full.events, full.body.as_slice()), (1, &br#"{"event":"a=\"1\""}"#[..]));
/// assert_eq!(batcher.finish().map(|b| b.events), Some(1));
/// # Ok::<(), spoor_proto::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Batcher {
    cap: usize,
    current: Batch,
}

impl Default for Batcher {
    fn default() -> Self {
        Self::new(DEFAULT_BATCH_CAP)
    }
}

impl Batcher {
    /// A batcher cutting at `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            current: Batch::default(),
        }
    }

    /// Adds one envelope; returns the batch it closed when the envelope did not fit.
    ///
    /// # Errors
    ///
    /// [`Error::EventTooLarge`] when the envelope alone is over the cap (nothing is kept).
    pub fn push(&mut self, envelope: &[u8]) -> Result<Option<Batch>, Error> {
        if envelope.len() > self.cap {
            return Err(Error::EventTooLarge {
                size: envelope.len(),
                cap: self.cap,
            });
        }
        let closed = (self.current.body.len() + envelope.len() > self.cap)
            .then(|| std::mem::take(&mut self.current));
        self.current.body.extend_from_slice(envelope);
        self.current.events += 1;
        Ok(closed)
    }

    /// The bytes in the open batch.
    pub fn pending_bytes(&self) -> usize {
        self.current.body.len()
    }

    /// Closes the open batch, if it holds anything.
    pub fn finish(&mut self) -> Option<Batch> {
        (self.current.events > 0).then(|| std::mem::take(&mut self.current))
    }
}

/// The collector endpoint with its token and optional channel.
///
/// ```
/// use spoor_proto::Config;
/// use spoor_proto::hec::Hec;
///
/// let config = Config::builder().hec_url("https://splunk.example:8088").hec_token("tok").build()?;
/// let hec = Hec::new(config.hec().unwrap())?.with_channel("0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba")?;
/// let req = hec.event_request(br#"{"event":"x"}"#.to_vec())?;
/// assert_eq!(req.uri(), "https://splunk.example:8088/services/collector/event");
/// assert_eq!(req.headers()["authorization"], "Splunk tok");
/// assert_eq!(req.headers()["x-splunk-request-channel"], "0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba");
/// # Ok::<(), spoor_proto::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Hec {
    service: Service,
    authorization: HeaderValue,
    channel: Option<HeaderValue>,
}

/// The channel header name.
pub const CHANNEL_HEADER: &str = "x-splunk-request-channel";

impl Hec {
    /// The collector of a [`HecConfig`].
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the token cannot be sent in a header.
    pub fn new(config: &HecConfig) -> Result<Self, Error> {
        let mut authorization = HeaderValue::from_str(&format!("Splunk {}", config.token.expose()))
            .map_err(|_| {
                Error::config("the hec token contains characters not allowed in a header")
            })?;
        authorization.set_sensitive(true);
        Ok(Self {
            service: Service::bare(config.base_url.clone()),
            authorization,
            channel: None,
        })
    }

    /// Sends `X-Splunk-Request-Channel` with every request (needed for acknowledgements;
    /// a GUID the caller chooses).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the channel cannot be sent in a header.
    pub fn with_channel(mut self, channel: &str) -> Result<Self, Error> {
        self.channel = Some(HeaderValue::from_str(channel).map_err(|_| {
            Error::config("the hec channel contains characters not allowed in a header")
        })?);
        Ok(self)
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<Request<Vec<u8>>, Error> {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.service.base_url()))
            .header(AUTHORIZATION, self.authorization.clone())
            .header(USER_AGENT, USER_AGENT_VALUE);
        if let Some(channel) = &self.channel {
            b = b.header(CHANNEL_HEADER, channel.clone());
        }
        if !body.is_empty() {
            b = b.header(CONTENT_TYPE, "application/json");
        }
        b.body(body)
            .map_err(|e| Error::config(format!("cannot build request: {e}")))
    }

    /// Uses this retry policy for [`Hec::call`] (default [`RetryPolicy::default`]).
    pub fn set_retry_policy(&mut self, policy: RetryPolicy) {
        self.service.set_retry_policy(policy);
    }

    /// Seeds the jitter of retry backoff for the next [`Hec::call`]s.
    pub fn set_jitter_seed(&mut self, seed: u64) {
        self.service.set_jitter_seed(seed);
    }

    /// A [`Call`] of a HEC request with the shared retry rules (503 "Server is busy" and
    /// other 5xx are retried; 4xx codes are final). A driver steps it like any [`Machine`](crate::Machine).
    ///
    /// ```
    /// use spoor_proto::hec::{Hec, parse_event_reply};
    /// use spoor_proto::{Action, Config, Machine};
    ///
    /// let config = Config::builder().hec_token("tok").build()?;
    /// let hec = Hec::new(config.hec().unwrap())?;
    /// let mut call = hec.call(hec.event_request(br#"{"event":"x"}"#.to_vec())?, parse_event_reply);
    /// # #[allow(clippy::disallowed_methods)]
    /// let now = std::time::Instant::now();
    /// let Action::Send(req) = call.poll(now) else { panic!() };
    /// assert_eq!(req.uri(), "https://localhost:8088/services/collector/event");
    /// call.handle_response(http::Response::new(br#"{"text":"Success","code":0}"#.to_vec()), now);
    /// assert!(matches!(call.poll(now), Action::Done(Ok(reply)) if reply.text == "Success"));
    /// # Ok::<(), spoor_proto::Error>(())
    /// ```
    pub fn call<T>(&self, request: Request<Vec<u8>>, parse: Parser<T>) -> Call<T> {
        Call::new(self.service.clone(), request, parse)
    }

    /// `POST /services/collector/event` with a batch body ([`Batch::body`]); read the
    /// reply with [`parse_event_reply`].
    ///
    /// # Errors
    ///
    /// [`Error::Config`] only if the configured URL cannot form a URI.
    pub fn event_request(&self, body: Vec<u8>) -> Result<Request<Vec<u8>>, Error> {
        self.request(Method::POST, "/services/collector/event", body)
    }

    /// `POST /services/collector/ack` asking about these ack ids (same channel as the
    /// events); read the reply with [`parse_ack_reply`].
    ///
    /// # Errors
    ///
    /// As [`Hec::event_request`].
    pub fn ack_request(&self, ack_ids: &[u64]) -> Result<Request<Vec<u8>>, Error> {
        let body = serde_json::to_vec(&serde_json::json!({ "acks": ack_ids }))
            .map_err(|e| Error::config(format!("cannot encode acks: {e}")))?;
        self.request(Method::POST, "/services/collector/ack", body)
    }

    /// `GET /services/collector/health`; read the reply with [`parse_health_reply`].
    ///
    /// # Errors
    ///
    /// As [`Hec::event_request`].
    pub fn health_request(&self) -> Result<Request<Vec<u8>>, Error> {
        self.request(Method::GET, "/services/collector/health", Vec::new())
    }
}

/// HEC's reply body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct HecReply {
    /// `text`.
    #[serde(default)]
    pub text: String,
    /// `code`.
    #[serde(deserialize_with = "de_code")]
    pub code: HecCode,
    /// `invalid-event-number`: the 0-based index of the bad event in a batch.
    #[serde(default, rename = "invalid-event-number")]
    pub invalid_event_number: Option<u64>,
    /// `ackId`, when the token has indexer acknowledgement on.
    #[serde(default, rename = "ackId")]
    pub ack_id: Option<u64>,
}

fn de_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<HecCode, D::Error> {
    let n = <u16 as serde::Deserialize>::deserialize(d)?;
    Ok(HecCode::from_u16(n))
}

fn read_reply<B: AsRef<[u8]>>(response: &Response<B>) -> Result<HecReply, Error> {
    let status = response.status();
    match serde_json::from_slice::<HecReply>(response.body().as_ref()) {
        Ok(reply) if status.is_success() => Ok(reply),
        Ok(reply) => Err(Error::Hec {
            status,
            code: reply.code,
            text: reply.text,
            invalid_event_number: reply.invalid_event_number,
        }),
        Err(_) if !status.is_success() => {
            Err(crate::service::api_error(status, response.body().as_ref()))
        }
        Err(e) => Err(Error::parse_with("hec reply", e)),
    }
}

/// Reads a `collector/event` reply: `{"text":"Success","code":0}`, with `ackId` when
/// acknowledgement is on.
///
/// ```
/// let resp = http::Response::builder().status(400).body(r#"{"text":"Invalid data format","code":6,"invalid-event-number":2}"#)?;
/// let err = spoor_proto::hec::parse_event_reply(&resp).unwrap_err();
/// assert_eq!(err.to_string(), "http event collector answered 400 (code 6, event 2): Invalid data format");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Hec`] for an error reply (with the code, text and `invalid-event-number`),
/// [`Error::Api`] for an error status without a HEC body, [`Error::Parse`] otherwise.
pub fn parse_event_reply<B: AsRef<[u8]>>(response: &Response<B>) -> Result<HecReply, Error> {
    let reply = read_reply(response)?;
    if reply.code == HecCode::Success {
        Ok(reply)
    } else {
        Err(Error::Hec {
            status: response.status(),
            code: reply.code,
            text: reply.text,
            invalid_event_number: reply.invalid_event_number,
        })
    }
}

/// Reads a `collector/ack` reply `{"acks":{"0":true,"1":false}}` into id → indexed.
///
/// # Errors
///
/// As [`parse_event_reply`] (code 14 when acknowledgement is off for the token).
pub fn parse_ack_reply<B: AsRef<[u8]>>(
    response: &Response<B>,
) -> Result<BTreeMap<u64, bool>, Error> {
    #[derive(serde::Deserialize)]
    struct Acks {
        acks: BTreeMap<String, bool>,
    }
    if !response.status().is_success() {
        return Err(read_reply(response).err().unwrap_or_else(|| {
            crate::service::api_error(response.status(), response.body().as_ref())
        }));
    }
    let acks: Acks = serde_json::from_slice(response.body().as_ref())
        .map_err(|e| Error::parse_with("hec ack reply", e))?;
    acks.acks
        .into_iter()
        .map(|(k, v)| {
            k.parse()
                .map(|id| (id, v))
                .map_err(|e| Error::parse_with("hec ack reply", e))
        })
        .collect()
}

/// Health as `collector/health` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HecHealth {
    /// Whether HEC is healthy (code 17 with HTTP 200).
    pub healthy: bool,
    /// The reply code (17 healthy; 18–20 unhealthy).
    pub code: HecCode,
    /// The reply text.
    pub text: String,
}

/// Reads a `collector/health` reply; an unhealthy 503 is a value, not an error.
///
/// # Errors
///
/// [`Error::Hec`] / [`Error::Api`] for other error replies, [`Error::Parse`] for an
/// unreadable body.
pub fn parse_health_reply<B: AsRef<[u8]>>(response: &Response<B>) -> Result<HecHealth, Error> {
    match read_reply(response) {
        Ok(r) => Ok(HecHealth {
            healthy: r.code == HecCode::Healthy,
            code: r.code,
            text: r.text,
        }),
        Err(Error::Hec {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code,
            text,
            ..
        }) if matches!(
            code,
            HecCode::QueuesFull | HecCode::AckUnavailable | HecCode::QueuesFullAckUnavailable
        ) =>
        {
            Ok(HecHealth {
                healthy: false,
                code,
                text,
            })
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use proptest::prelude::*;

    #[test]
    fn codes_round_trip() {
        for n in 0..30 {
            assert_eq!(HecCode::from_u16(n).as_u16(), n);
        }
        assert_eq!(HecCode::from_u16(9), HecCode::ServerBusy);
        assert!(HecCode::ServerBusy.is_transient() && !HecCode::InvalidToken.is_transient());
    }

    #[test]
    fn replies() {
        let ok = Response::new(r#"{"text":"Success","code":0,"ackId":7}"#);
        assert_eq!(parse_event_reply(&ok).unwrap().ack_id, Some(7));
        let busy = Response::builder()
            .status(503)
            .body(r#"{"text":"Server is busy","code":9}"#)
            .unwrap();
        let e = parse_event_reply(&busy).unwrap_err();
        assert!(matches!(
            e,
            Error::Hec {
                code: HecCode::ServerBusy,
                ..
            }
        ));
        let html = Response::builder()
            .status(502)
            .body("<html>bad gateway</html>")
            .unwrap();
        assert!(matches!(parse_event_reply(&html), Err(Error::Api { .. })));
        let acks = Response::new(r#"{"acks":{"0":true,"1":true,"2":false}}"#);
        assert_eq!(
            parse_ack_reply(&acks).unwrap(),
            BTreeMap::from([(0, true), (1, true), (2, false)])
        );
        let disabled = Response::builder()
            .status(400)
            .body(r#"{"text":"ACK is disabled","code":14}"#)
            .unwrap();
        assert!(matches!(
            parse_ack_reply(&disabled),
            Err(Error::Hec {
                code: HecCode::AckDisabled,
                ..
            })
        ));
        let healthy = Response::new(r#"{"text":"HEC is healthy","code":17}"#);
        assert!(parse_health_reply(&healthy).unwrap().healthy);
        let full = Response::builder()
            .status(503)
            .body(r#"{"text":"HEC is unhealthy, queues are full","code":18}"#)
            .unwrap();
        assert_eq!(
            parse_health_reply(&full).unwrap(),
            HecHealth {
                healthy: false,
                code: HecCode::QueuesFull,
                text: "HEC is unhealthy, queues are full".into()
            }
        );
    }

    #[test]
    fn ack_request_body() {
        let hec = Hec::new(&HecConfig {
            base_url: "https://h:8088".into(),
            token: Secret::new("t"),
        })
        .unwrap()
        .with_channel("c")
        .unwrap();
        let r = hec.ack_request(&[0, 1, 2]).unwrap();
        assert_eq!(r.body(), br#"{"acks":[0,1,2]}"#);
        assert_eq!(r.headers()[CHANNEL_HEADER], "c");
        assert!(r.headers()[AUTHORIZATION].is_sensitive());
        assert_eq!(
            hec.health_request().unwrap().uri(),
            "https://h:8088/services/collector/health"
        );
        assert!(hec.with_channel("a\nb").is_err());
    }

    proptest! {
        #[test]
        fn batches_respect_the_cap_and_keep_every_byte(sizes in proptest::collection::vec(1usize..50, 0..40), cap in 50usize..200) {
            let mut b = Batcher::new(cap);
            let mut batches = Vec::new();
            let mut all = Vec::new();
            for (i, size) in sizes.iter().enumerate() {
                let envelope = vec![b'a' + (i % 26) as u8; *size];
                all.extend_from_slice(&envelope);
                batches.extend(b.push(&envelope).unwrap());
            }
            batches.extend(b.finish());
            prop_assert!(batches.iter().all(|x| x.body.len() <= cap && x.events > 0));
            prop_assert_eq!(batches.iter().map(|x| x.events).sum::<usize>(), sizes.len());
            prop_assert_eq!(batches.iter().flat_map(|x| x.body.iter().copied()).collect::<Vec<u8>>(), all);
        }
    }
}
