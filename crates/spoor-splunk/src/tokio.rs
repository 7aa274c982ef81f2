//! The async driver: hyper 1 with hyper-util's pooled client (keep-alive), rustls.
//!
//! It works from inside any tokio runtime with the I/O and time drivers on (as
//! `#[tokio::main]` and `#[tokio::test]` set up), multi-threaded or current-thread: it never
//! blocks a runtime thread and never starts a runtime of its own.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use ::tokio::time::{Sleep, timeout};
use futures_core::Stream;
use http::Response;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Bytes, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use spoor_proto::config::Timeouts;
use spoor_proto::search::{ExportItem, SearchParams};
use spoor_proto::{Config, Error, Machine};

use crate::shared::{
    self, Core, Driven, ExportState, Limits, Next, convenience_methods, driver_loop,
};
use crate::tls::{self, Trust};

/// An async Splunk client: one connection pool, one session, reused by every call.
///
/// Share it between tasks by reference or in an `Arc`; its futures are `Send`.
///
/// ```no_run
/// use spoor_proto::hec::Batcher;
///
/// # async fn example() -> Result<(), spoor_proto::Error> {
/// let config = spoor_proto::Config::builder().hec_url("https://splunk.example:8088").hec_token("tok").build()?;
/// let client = spoor_splunk::tokio::Client::new(&config)?;
/// let mut batcher = Batcher::default();
/// batcher.push(br#"{"event":"application=\"shop\" event=\"login\""}"#)?;
/// if let Some(batch) = batcher.finish() {
///     client.hec_send(batch).await?;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Client {
    core: Core,
    http: Pool<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// The body of a response, as hyper gives it.
type ResponseBody = Incoming;

impl Client {
    /// A client for `config`. It needs no runtime to be built; its calls need one.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for credentials that cannot be sent in a header or CA certificates
    /// that are not PEM.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let tls = tls::client_config(&Trust::new(config.tls())?)?;
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(config.timeouts().connect));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        Ok(Self {
            core: Core::new(config)?,
            http: Pool::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .build(https),
        })
    }

    /// A client for the configuration in the environment and `.splunkrc`
    /// (see [`load_config`](crate::load_config)).
    ///
    /// # Errors
    ///
    /// As [`load_config`](crate::load_config) and [`Client::new`].
    pub fn from_env() -> Result<Self, Error> {
        Self::new(&crate::load_config(&spoor_proto::ConfigBuilder::new())?)
    }

    /// A copy of the client's service (with its current session key), to build machines
    /// of one's own for [`Client::run`].
    pub fn service(&self) -> spoor_proto::Service {
        self.core.service()
    }

    driver_loop!(async; .await);

    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> Result<Response<Incoming>, Error> {
        let request = request.map(|body| Full::new(Bytes::from(body)));
        let timeouts = self.core.timeouts();
        match timeout(limits.head, self.http.request(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) if e.is_connect() && shared::timed_out_below(&e) => {
                Err(timed_out("connection", timeouts.connect))
            }
            Ok(Err(e)) => Err(shared::transport_error(e)),
            Err(_) => Err(timed_out("request", timeouts.request)),
        }
    }

    /// Reads a whole body (up to [`shared::MAX_WHOLE_BODY`]) within `limits`.
    async fn read_whole(
        &self,
        response: Response<Incoming>,
        limits: Limits,
    ) -> Result<Response<Vec<u8>>, Error> {
        let (parts, body) = response.into_parts();
        let limit = limits.body.or(limits.idle).unwrap_or(limits.head);
        let body = Limited::new(body, shared::MAX_WHOLE_BODY as usize).collect();
        match timeout(limit, body).await {
            Ok(Ok(body)) => Ok(Response::from_parts(parts, Vec::from(body.to_bytes()))),
            Ok(Err(e)) => Err(shared::transport_error(e)),
            Err(_) => Err(timed_out("request", self.core.timeouts().request)),
        }
    }

    /// Streams the results of an export search as they arrive: a [`Stream`] of rows (and
    /// Splunk's messages), holding no more than a chunk and a line in memory.
    ///
    /// ```no_run
    /// use spoor_proto::search::{ExportItem, SearchParams};
    ///
    /// # async fn example(client: spoor_splunk::tokio::Client) -> Result<(), spoor_proto::Error> {
    /// let mut rows = client.export("search index=spoor event=login", &SearchParams::window("-30d", "now")).await?;
    /// while let Some(item) = rows.next().await {
    ///     if let ExportItem::Row(row) = item? {
    ///         println!("{:?}", row.get_str("distinct_id"));
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// Before the stream: [`Error::Api`] for a query Splunk refuses, or any error of the
    /// call (after its retries and re-login). During it, the stream yields the error that
    /// ended it (a dropped connection, a stalled read, a malformed line) after the rows
    /// decoded before it.
    pub async fn export(&self, query: &str, params: &SearchParams) -> Result<Export, Error> {
        let mut search = self.core.export(query, params)?;
        let (reading, body) = match self.drive(&mut search).await {
            Driven::Done(result) => (false, result.map(|()| None)?),
            Driven::Streaming(body) => (true, Some(body)),
        };
        Ok(Export {
            state: ExportState::new(&self.core, search, reading),
            chunks: body.map(|b| Chunks::new(b, self.core.timeouts())),
        })
    }

    convenience_methods!(async; .await);
}

async fn sleep(duration: Duration) {
    ::tokio::time::sleep(duration).await;
}

fn timed_out(what: &'static str, limit: Duration) -> Error {
    Error::Timeout { what, limit }
}

/// The rows of an export search, decoded as they arrive; see [`Client::export`].
#[derive(Debug)]
pub struct Export {
    state: ExportState,
    chunks: Option<Chunks>,
}

impl Export {
    /// The next row or message; `None` at the end.
    pub async fn next(&mut self) -> Option<Result<ExportItem, Error>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for Export {
    type Item = Result<ExportItem, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let chunks = &mut this.chunks;
        this.state.next_item(|| match chunks {
            Some(chunks) => chunks.poll_chunk(cx),
            None => Poll::Ready(Ok(None)),
        })
    }
}

/// A streamed body read frame by frame, each read within the request time limit.
#[derive(Debug)]
struct Chunks {
    body: Incoming,
    idle: Pin<Box<Sleep>>,
    limit: Duration,
}

impl Chunks {
    fn new(body: Incoming, timeouts: Timeouts) -> Self {
        Self {
            body,
            idle: Box::pin(::tokio::time::sleep(timeouts.request)),
            limit: timeouts.request,
        }
    }

    /// The next chunk, `None` at the end of the body.
    async fn next(&mut self) -> Result<Option<Bytes>, Error> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, Error>> {
        loop {
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let deadline = ::tokio::time::Instant::now() + self.limit;
                    self.idle.as_mut().reset(deadline);
                    match frame.into_data() {
                        Ok(data) if !data.is_empty() => return Poll::Ready(Ok(Some(data))),
                        // Trailers, or an empty frame: read on.
                        _ => {}
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(shared::transport_error(e))),
                Poll::Ready(None) => return Poll::Ready(Ok(None)),
                Poll::Pending => {
                    return match self.idle.as_mut().poll(cx) {
                        Poll::Ready(()) => Poll::Ready(Err(timed_out("read", self.limit))),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }
}
