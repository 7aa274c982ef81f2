//! The blocking driver: ureq 3, one agent (keep-alive pool) per client, rustls.
//!
//! It runs on the calling thread and needs no runtime, so it also works inside a tokio
//! runtime's blocking context (`spawn_blocking`, `block_in_place`).

use std::io::Read;
use std::task::Poll;

use http::Response;
use spoor_proto::config::Timeouts;
use spoor_proto::search::{ExportItem, SearchParams};
use spoor_proto::{Config, Error, Machine};
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
use ureq::{Agent, Body, BodyReader};

use crate::shared::{
    self, Core, Driven, ExportState, Limits, Next, convenience_methods, driver_loop,
};
use crate::tls::{self, Trust};

/// A blocking Splunk client: one connection pool, one session, reused by every call.
///
/// Share it between threads by reference (it is `Sync`) or in an `Arc`.
///
/// ```no_run
/// use spoor_proto::search::SearchParams;
///
/// # fn main() -> Result<(), spoor_proto::Error> {
/// let config = spoor_proto::Config::builder().host("splunk.example").username("admin").password("changeme").build()?;
/// let client = spoor_splunk::blocking::Client::new(&config)?;
/// let found = client.search("search index=spoor | stats count by event", SearchParams::window("-7d@d", "now"))?;
/// for row in &found.rows {
///     println!("{:?} {:?}", row.get_str("event"), row.get_str("count"));
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Client {
    core: Core,
    agent: Agent,
}

/// The body of a response, as ureq gives it.
type ResponseBody = Body;

impl Client {
    /// A client for `config`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for credentials that cannot be sent in a header or CA certificates
    /// that are not PEM.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let roots = match Trust::new(config.tls())? {
            Trust::WebPki | Trust::Anything => RootCerts::WebPki,
            Trust::Roots(certs) => RootCerts::new_with_certs(
                &certs
                    .iter()
                    .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                    .collect::<Vec<_>>(),
            ),
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(tls::provider())
            .root_certs(roots)
            .disable_verification(!config.tls().verify)
            .build();
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(ureq::config::AutoHeaderValue::None)
            .tls_config(tls)
            .timeout_connect(Some(config.timeouts().connect))
            .build()
            .new_agent();
        Ok(Self {
            core: Core::new(config)?,
            agent,
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

    driver_loop!(;);

    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> Result<Response<Body>, Error> {
        let request = self
            .agent
            .configure_request(request)
            .timeout_recv_response(Some(limits.head))
            .timeout_recv_body(limits.body)
            .timeout_per_read(limits.idle)
            .build();
        self.agent
            .run(request)
            .map_err(|e| error(e, self.core.timeouts()))
    }

    /// Reads a whole body (up to [`shared::MAX_WHOLE_BODY`]); ureq applies `limits`.
    fn read_whole(
        &self,
        response: Response<Body>,
        _limits: Limits,
    ) -> Result<Response<Vec<u8>>, Error> {
        let (parts, body) = response.into_parts();
        let bytes = body
            .into_with_config()
            .limit(shared::MAX_WHOLE_BODY)
            .read_to_vec()
            .map_err(|e| error(e, self.core.timeouts()))?;
        Ok(Response::from_parts(parts, bytes))
    }

    /// Streams the results of an export search as they arrive: an iterator of rows (and
    /// Splunk's messages), holding no more than a chunk and a line in memory.
    ///
    /// ```no_run
    /// use spoor_proto::search::{ExportItem, SearchParams};
    ///
    /// # fn main() -> Result<(), spoor_proto::Error> {
    /// # let client = spoor_splunk::blocking::Client::new(&spoor_proto::Config::builder().build()?)?;
    /// let mut logins = 0;
    /// for item in client.export("search index=spoor event=login", &SearchParams::window("-30d", "now"))? {
    ///     if let ExportItem::Row(_) = item? {
    ///         logins += 1;
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// Before the stream: [`Error::Api`] for a query Splunk refuses, or any error of the
    /// call (after its retries and re-login). During it, the iterator yields the error that
    /// ended it (a dropped connection, a stalled read, a malformed line) after the rows
    /// decoded before it.
    pub fn export(&self, query: &str, params: &SearchParams) -> Result<Export, Error> {
        let mut search = self.core.export(query, params)?;
        let (reading, body) = match self.drive(&mut search) {
            Driven::Done(result) => (false, result.map(|()| None)?),
            Driven::Streaming(body) => (true, Some(body)),
        };
        Ok(Export {
            state: ExportState::new(&self.core, search, reading),
            chunks: body.map(|b| Chunks::new(b, self.core.timeouts())),
        })
    }

    convenience_methods!(;);
}

/// The rows of an export search, decoded as they arrive; see [`Client::export`].
#[derive(Debug)]
pub struct Export {
    state: ExportState,
    chunks: Option<Chunks>,
}

impl Iterator for Export {
    type Item = Result<ExportItem, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let chunks = &mut self.chunks;
        let read = || {
            Poll::Ready(match chunks {
                Some(chunks) => chunks.next().map(|c| c.map(<[u8]>::to_vec)),
                None => Ok(None),
            })
        };
        match self.state.next_item(read) {
            Poll::Ready(item) => item,
            // A blocking read is never pending.
            Poll::Pending => None,
        }
    }
}

/// The size of one read from a streamed body.
const CHUNK: usize = 64 << 10;

/// A streamed body read in chunks.
struct Chunks {
    reader: BodyReader<'static>,
    buf: Vec<u8>,
    timeouts: Timeouts,
}

impl std::fmt::Debug for Chunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunks").finish_non_exhaustive()
    }
}

impl Chunks {
    fn new(body: Body, timeouts: Timeouts) -> Self {
        Self {
            reader: body.into_reader(),
            buf: vec![0; CHUNK],
            timeouts,
        }
    }

    /// The next chunk, `None` at the end of the body.
    fn next(&mut self) -> Result<Option<&[u8]>, Error> {
        loop {
            match self.reader.read(&mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(n) => return Ok(Some(&self.buf[..n])),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(error(ureq::Error::from(e), self.timeouts)),
            }
        }
    }
}

fn sleep(duration: std::time::Duration) {
    std::thread::sleep(duration);
}

/// Maps ureq's errors: time limits, TLS, and the rest as transport errors.
fn error(e: ureq::Error, timeouts: Timeouts) -> Error {
    let timed_out = |what, limit| Error::Timeout { what, limit };
    match e {
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            timed_out("connection", timeouts.connect)
        }
        ureq::Error::Timeout(ureq::Timeout::PerRead) => timed_out("read", timeouts.request),
        ureq::Error::Timeout(_) => timed_out("request", timeouts.request),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            timed_out("read", timeouts.request)
        }
        ureq::Error::Tls(_) | ureq::Error::Pem(_) | ureq::Error::Rustls(_) => Error::tls(e),
        ureq::Error::Io(io) => shared::transport_error(io),
        other => shared::transport_error(other),
    }
}
