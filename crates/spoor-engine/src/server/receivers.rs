//! `receivers/simple` and `receivers/stream`: raw text in the body, metadata in the query
//! string, cut into events by the sourcetype's props.
//!
//! The body is never read as a form, though the Python SDK labels it one. The reply comes once
//! the events are durable.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use spoor_proto::Level;
use spoor_proto::form::Form;
use spoor_proto::reply::{self as wire, OutputMode, Receipt};
use time::OffsetDateTime;

use super::State;
use super::reply::{Response, error, respond};
use crate::{EventMeta, StoreError};

/// Where text goes: the index and the events' metadata, from the query string.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) index: String,
    pub(crate) meta: EventMeta,
}

impl Target {
    /// `index` (default `main`), `sourcetype` (default `unknown`), `source` (default
    /// `http-simple`), `host` (default the client's address).
    pub(crate) fn of(query: &Form, peer: SocketAddr) -> Self {
        Self::with_defaults(query, peer, "unknown", "http-simple")
    }

    /// As [`of`](Self::of), with another endpoint's default sourcetype and source.
    pub(crate) fn with_defaults(
        query: &Form,
        peer: SocketAddr,
        sourcetype: &str,
        source: &str,
    ) -> Self {
        let get = |k: &str| query.get(k).filter(|v| !v.is_empty());
        Self {
            index: get("index").unwrap_or("main").to_owned(),
            meta: EventMeta::new(
                get("sourcetype").unwrap_or(sourcetype),
                get("source").unwrap_or(source),
                get("host").map_or_else(|| peer.ip().to_string(), str::to_owned),
            ),
        }
    }
}

/// Stores `body` as text in the target and answers with Splunk's receipt: all of it, or none
/// (a body that is not UTF-8 is refused whole).
pub(crate) async fn store(
    state: &Arc<State>,
    mode: OutputMode,
    target: Target,
    body: Bytes,
) -> Response {
    let bytes = body.len() as u64;
    match ingest(state, &target, body).await {
        Ok(_) => receipt(mode, &target, bytes),
        Err(Refusal::NotUtf8(at)) => error(
            StatusCode::BAD_REQUEST,
            mode,
            Level::Error,
            format!(
                "the body is not UTF-8 text (from byte {at}): send events as UTF-8 (nothing was \
                 stored)"
            ),
        ),
        Err(Refusal::Other(status, text)) => error(status, mode, Level::Error, text),
    }
}

/// Splunk's receipt for `bytes` of text stored in the target.
fn receipt(mode: OutputMode, target: &Target, bytes: u64) -> Response {
    let receipt = Receipt {
        index: &target.index,
        bytes,
        host: &target.meta.host,
        source: &target.meta.source,
        sourcetype: &target.meta.sourcetype,
    };
    respond(StatusCode::OK, mode, wire::receipt(mode, &receipt))
}

/// Why text was not stored.
enum Refusal {
    /// It stops being UTF-8 at this byte.
    NotUtf8(usize),
    /// Anything else: the reply's status and text.
    Other(StatusCode, String),
}

/// Stores the events of `text` durably in the target: how many. The text is checked to be
/// UTF-8 on the blocking thread that stores it, so a whole body is never walked on the
/// caller's task (a stream's chunk was checked there once already, where it was cut).
async fn ingest(state: &Arc<State>, target: &Target, text: Bytes) -> Result<usize, Refusal> {
    if !state.engine.store().has_index(&target.index) {
        return Err(Refusal::Other(
            StatusCode::NOT_FOUND,
            format!(
                "In handler 'receivers': Could not find object id={}: create the index first",
                target.index
            ),
        ));
    }
    let engine = Arc::clone(&state.engine);
    let Target { index, meta } = target.clone();
    let stored = tokio::task::spawn_blocking(move || {
        let text = std::str::from_utf8(&text).map_err(|e| Refusal::NotUtf8(e.valid_up_to()))?;
        engine
            .receive(&index, &meta, text, OffsetDateTime::now_utc())
            .map(|received| received.locations.len())
            .map_err(|err| {
                tracing::error!(error = %err, "ingest failed");
                let status = match err {
                    StoreError::Record(_) | StoreError::Props(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                Refusal::Other(status, err.to_string())
            })
    });
    stored.await.unwrap_or_else(|err| {
        tracing::error!(error = %err, "ingest task failed");
        Err(Refusal::Other(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the write failed; nothing was acknowledged".to_owned(),
        ))
    })
}

/// A `receivers/stream` request's text, stored as it arrives: each time [`STREAM_CHUNK`]
/// bytes wait, the whole events among them (by the sourcetype's line breaking) are stored, and
/// the last, perhaps unfinished, waits for more. So a stream of any length is held a chunk and
/// an event at a time, and its events are searchable while it goes on.
///
/// (Storing one chunk while the next is read, two at a time a stream, was tried: it took more
/// of the machine's time in the kernel for no more events a second.)
///
/// An event longer than [`Limits::max_body_bytes`](super::Limits::max_body_bytes) is
/// refused. A refusal after part of the stream was stored says how much was, so the client
/// can send the rest from there.
pub(crate) struct Stream<'s> {
    state: &'s Arc<State>,
    target: Target,
    mode: OutputMode,
    /// Bytes received and not stored yet.
    pending: Vec<u8>,
    /// How many bytes are to wait before they are looked at for whole events: a chunk, and
    /// another after each look that found only an event still growing (so an event of many
    /// chunks is not cut into events again at each read).
    look_at: usize,
    /// Bytes received in all.
    received: u64,
    /// Bytes stored (whole events), and their events.
    stored: u64,
    events: usize,
}

/// A stream's events are stored each time this many bytes wait.
pub(crate) const STREAM_CHUNK: usize = 1 << 20;

impl<'s> Stream<'s> {
    pub(crate) fn new(state: &'s Arc<State>, target: Target, mode: OutputMode) -> Self {
        Self {
            state,
            target,
            mode,
            pending: Vec::new(),
            look_at: STREAM_CHUNK,
            received: 0,
            stored: 0,
            events: 0,
        }
    }

    /// Takes the stream's next bytes, storing the whole events waiting once a chunk does;
    /// the reply that ends the stream if they cannot be.
    pub(crate) async fn push(&mut self, data: &[u8]) -> Result<(), Response> {
        self.pending.extend_from_slice(data);
        self.received += data.len() as u64;
        if self.pending.len() < self.look_at {
            return Ok(());
        }
        let whole = match whole_events(self.state, &self.target, &self.pending) {
            Ok(whole) => whole,
            Err(at) => return Err(self.not_utf8(at)),
        };
        if whole == 0 {
            let limit = self.state.options.limits.max_body_bytes;
            if self.pending.len() > limit {
                let text = format!(
                    "an event is longer than {limit} bytes, the longest taken: check the \
                     sourcetype's line breaking, or send it in parts"
                );
                return Err(self.refuse(StatusCode::PAYLOAD_TOO_LARGE, text));
            }
            self.look_at = self.pending.len() + STREAM_CHUNK;
            return Ok(());
        }
        self.look_at = STREAM_CHUNK;
        let mut rest = Vec::with_capacity(STREAM_CHUNK + (64 << 10));
        rest.extend_from_slice(&self.pending[whole..]);
        let mut chunk = std::mem::replace(&mut self.pending, rest);
        chunk.truncate(whole);
        self.store(chunk.into()).await
    }

    /// Stores what is left and answers with Splunk's receipt for the whole stream.
    pub(crate) async fn finish(mut self) -> Response {
        let rest = std::mem::take(&mut self.pending);
        if !rest.is_empty()
            && let Err(response) = self.store(rest.into()).await
        {
            return response;
        }
        receipt(self.mode, &self.target, self.received)
    }

    /// Ends the stream with an error of this status and text, saying what of it was stored.
    pub(crate) fn refuse(&self, status: StatusCode, text: impl std::fmt::Display) -> Response {
        let text = if self.stored == 0 {
            format!("{text} (nothing of this request was stored)")
        } else {
            format!(
                "{text} (the first {} bytes of this request, {} events, were stored: send the \
                 rest from there)",
                self.stored, self.events
            )
        };
        error(status, self.mode, Level::Error, text)
    }

    fn not_utf8(&self, at: usize) -> Response {
        self.refuse(
            StatusCode::BAD_REQUEST,
            format_args!(
                "the body is not UTF-8 text (from byte {}): send events as UTF-8",
                self.stored + at as u64
            ),
        )
    }

    async fn store(&mut self, text: Bytes) -> Result<(), Response> {
        let bytes = text.len() as u64;
        match ingest(self.state, &self.target, text).await {
            Ok(events) => {
                self.stored += bytes;
                self.events += events;
                Ok(())
            }
            Err(Refusal::NotUtf8(at)) => Err(self.not_utf8(at)),
            Err(Refusal::Other(status, text)) => Err(self.refuse(status, text)),
        }
    }
}

/// How much of a stream's `pending` bytes is whole events by the sourcetype's line breaking
/// (the last event may still be growing), on a character boundary; where the bytes stop
/// being UTF-8 if they do (bytes of a character still to come are not counted as such).
fn whole_events(state: &State, target: &Target, pending: &[u8]) -> Result<usize, usize> {
    let valid = match std::str::from_utf8(pending) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&pending[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(e) => return Err(e.valid_up_to()),
    };
    let parsing = state.engine.store().parsing(&target.meta.sourcetype);
    Ok(parsing.whole_len(valid))
}
