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
    index: String,
    meta: EventMeta,
}

impl Target {
    /// `index` (default `main`), `sourcetype` (default `unknown`), `source` (default
    /// `http-simple`), `host` (default the client's address).
    pub(crate) fn of(query: &Form, peer: SocketAddr) -> Self {
        let get = |k: &str| query.get(k).filter(|v| !v.is_empty());
        Self {
            index: get("index").unwrap_or("main").to_owned(),
            meta: EventMeta::new(
                get("sourcetype").unwrap_or("unknown"),
                get("source").unwrap_or("http-simple"),
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
    if !state.engine.store().has_index(&target.index) {
        return error(
            StatusCode::NOT_FOUND,
            mode,
            Level::Error,
            format!(
                "In handler 'receivers': Could not find object id={}: create the index first",
                target.index
            ),
        );
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            mode,
            Level::Error,
            "the body is not UTF-8 text: send events as UTF-8 (nothing was stored)",
        );
    };
    let text = text.to_owned();
    let bytes = body.len() as u64;
    let engine = Arc::clone(&state.engine);
    let Target { index, meta } = target;
    let (index_, meta_) = (index.clone(), meta.clone());
    let stored = tokio::task::spawn_blocking(move || {
        engine.ingest(&index_, &meta_, &text, OffsetDateTime::now_utc())
    })
    .await;
    match stored {
        Ok(Ok(_)) => {
            let receipt = Receipt {
                index: &index,
                bytes,
                host: &meta.host,
                source: &meta.source,
                sourcetype: &meta.sourcetype,
            };
            respond(StatusCode::OK, mode, wire::receipt(mode, &receipt))
        }
        Ok(Err(err)) => failed(mode, &err),
        Err(err) => {
            tracing::error!(error = %err, "ingest task failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                mode,
                Level::Error,
                "the write failed; nothing was acknowledged",
            )
        }
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
