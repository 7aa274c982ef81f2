//! `receivers/simple` and `receivers/stream`: raw text in the body, metadata in the query
//! string, cut into events by the sourcetype's props.
//!
//! The body is never read as a form, though the Python SDK labels it one. The reply comes once
//! the events are durable.

use std::net::SocketAddr;
use std::sync::Arc;

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

/// Stores `body` as text in the target and answers with Splunk's receipt.
pub(crate) async fn store(
    state: &Arc<State>,
    mode: OutputMode,
    target: Target,
    body: &[u8],
) -> Response {
    let Ok(text) = std::str::from_utf8(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            mode,
            Level::Error,
            "the body is not UTF-8 text: send events as UTF-8 (nothing was stored)",
        );
    };
    if let Err(response) = ingest(state, mode, &target, text.to_owned()).await {
        return response;
    }
    let receipt = Receipt {
        index: &target.index,
        bytes: body.len() as u64,
        host: &target.meta.host,
        source: &target.meta.source,
        sourcetype: &target.meta.sourcetype,
    };
    respond(StatusCode::OK, mode, wire::receipt(mode, &receipt))
}

/// Stores the events of `text` durably in the target; the reply to send when it cannot.
pub(crate) async fn ingest(
    state: &Arc<State>,
    mode: OutputMode,
    target: &Target,
    text: String,
) -> Result<(), Response> {
    if !state.engine.store().has_index(&target.index) {
        return Err(error(
            StatusCode::NOT_FOUND,
            mode,
            Level::Error,
            format!(
                "In handler 'receivers': Could not find object id={}: create the index first",
                target.index
            ),
        ));
    }
    let engine = Arc::clone(&state.engine);
    let Target { index, meta } = target.clone();
    let stored = tokio::task::spawn_blocking(move || {
        engine.receive(&index, &meta, &text, OffsetDateTime::now_utc())
    })
    .await;
    match stored {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(failed(mode, &err)),
        Err(err) => {
            tracing::error!(error = %err, "ingest task failed");
            Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                mode,
                Level::Error,
                "the write failed; nothing was acknowledged",
            ))
        }
    }
}

/// How much of a stream's `pending` bytes is whole events by the sourcetype's line breaking
/// (the last event may still be growing), on a character boundary.
pub(crate) fn whole_events(state: &State, target: &Target, pending: &[u8]) -> usize {
    let valid = match std::str::from_utf8(pending) {
        Ok(text) => text,
        // Bytes of a character still to come are left for the next read.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&pending[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return 0,
    };
    let parsing = state.engine.store().parsing(&target.meta.sourcetype);
    let (events, _) = parsing.split(valid);
    match events.last() {
        // Where the last event starts: everything before it is whole.
        Some(last) => last.as_ptr() as usize - valid.as_ptr() as usize,
        None => 0,
    }
}

fn failed(mode: OutputMode, err: &StoreError) -> Response {
    tracing::error!(error = %err, "ingest failed");
    let status = match err {
        StoreError::Record(_) | StoreError::Props(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, mode, Level::Error, err.to_string())
}
