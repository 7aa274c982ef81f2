//! The engine behind Splunk's REST and HEC APIs: the calls a real Splunk answers, answered the
//! same way, so that spoor's client, other people's Splunk clients (the official Python SDK
//! among them) and spoor's dashboard run against the engine unchanged.
//!
//! - Routes (`route.rs`): `/services/…` and `/servicesNS/{owner}/{app}/…`, trailing slashes
//!   accepted: `auth/login`, `server/info`, `data/indexes`, `configs/conf-props`,
//!   `properties/props`, `receivers/simple`, `receivers/stream`, HEC's `collector` endpoints,
//!   `search/jobs` (v1 and v2), `search/jobs/export`.
//! - Bodies in both output modes, written by `spoor_proto::reply`.
//! - Authentication always on (`auth.rs`): login and session keys (also as the `splunkd_<port>`
//!   cookie the Python SDK switches to), bearer tokens, Basic, HEC tokens; secrets compared in
//!   constant time.
//! - Limits ([`Limits`]): body sizes, concurrent searches, how long job results are kept, the
//!   memory all search results may take, the rows and bytes of one results page; connections
//!   in all and per client, time limits on request heads and bodies, lockout after repeated
//!   failed authentication.
//! - Ingest answers only once the events are durable (the store's group commit).
//!
//! Start one in-process with [`Server::start`] (port 0 allowed), or drive [`Server::bind`] and
//! [`Server::run_until`] on your own runtime; bind the [`Listeners`] first to learn of a busy
//! port before opening a large data folder.

mod auth;
mod body;
mod conn;
mod hec;
mod jobs;
mod receivers;
mod reply;
mod rest;
mod route;
pub mod tls;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Engine;

pub use auth::{CREDENTIALS_FILE, Credentials, Kept, client_key};
pub use conn::{Gate, Permit, WriteDeadline};

/// Sizes and counts the server holds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest REST request body (`receivers/simple`, forms), in bytes, and longest event of a
    /// `receivers/stream` request (stored as it arrives, whatever its length). Default 64 MiB.
    pub max_body_bytes: usize,
    /// Largest HEC request body, in bytes. Default 1 MB, as Splunk's `max_content_length`.
    pub max_hec_body_bytes: usize,
    /// Searches running at once (Splunk's default on two cores: 6 + 1 a core). More wait for a
    /// slot up to `search_queue_wait`, then are refused with 503. Default 8.
    pub max_searches: usize,
    /// How long a search waits for a slot when `max_searches` run. Default 10 s.
    pub search_queue_wait: Duration,
    /// Jobs kept; past this the oldest finished ones are dropped. Default 1,000.
    pub max_jobs: usize,
    /// How long a finished job's results are kept after their last use. Default 600 s, as Splunk.
    pub job_ttl: Duration,
    /// How long a session key stays valid after its last use. Default one hour, as Splunk.
    pub session_ttl: Duration,
    /// Memory for search results held at once, across all jobs, in bytes: the results kept by
    /// finished jobs, those of searches still running (measured row by row as they are made)
    /// and those being exported or sent by `oneshot`, measured as allocated. To make room,
    /// finished jobs are dropped, least recently used first; a search that still does not fit
    /// is stopped and fails with 503. Default 2 GiB: on a 24 GB machine the engine then stays
    /// within the index (about 37 bytes an event: 3.7 GB for 100 million), this, the searches
    /// running (`max_searches`) and the replies being written, leaving most of the memory to
    /// the page cache the store reads through; it holds about 60 listings of 50,000 events or
    /// thousands of `stats` and `timechart` results.
    pub max_result_bytes: usize,
    /// Rows one page of `results` or `events` (or a `oneshot` reply) holds at most, whatever
    /// its `count` asks (`count=0`: up to this many). Default 50,000, Splunk's
    /// `maxresultrows`.
    pub max_result_rows: usize,
    /// Bytes one page of `results` or `events` (or a `oneshot` reply) holds at most, as
    /// written; a page stops before the row that would pass it (clients read on from the
    /// next offset). An export is sent in pieces of about 1 MiB instead. Default 64 MiB.
    pub max_reply_bytes: usize,
    // Connections, bodies and failed authentication.
    /// Connections open at once over all listeners; a new one past this is refused at once
    /// (closed, after a 503 on a plain-HTTP listener). Default 1,024.
    pub max_connections: usize,
    /// Connections open at once from one client address (an IPv6 client counted by its /64);
    /// past this its new ones are refused the same way. Default 128.
    pub max_connections_per_client: usize,
    /// How long a client may take to send a request's head (and its TLS handshake), and how
    /// long a kept-alive connection may sit idle. Default 30 s.
    pub head_timeout: Duration,
    /// How long a request body may take to arrive, plus a second for each `min_body_rate`
    /// bytes of it received so far; a body slower than that gets 408 and its connection is
    /// closed. Default 30 s.
    pub body_timeout: Duration,
    /// The rate, in bytes a second, a body must keep up past `body_timeout`; 0 makes
    /// `body_timeout` a deadline for the whole body. Default 32 KiB/s.
    pub min_body_rate: usize,
    /// Failed attempts within `lockout_window` that lock out a user (wrong password by login
    /// or Basic) or a client address (wrong password, bearer token or HEC token): while locked
    /// out even the right one is refused. 0 turns lockout off. Default 5, as Splunk's
    /// `lockoutAttempts`.
    pub lockout_attempts: u32,
    /// The window failed attempts are counted in. Default 5 minutes, as Splunk's
    /// `lockoutThresholdMins`.
    pub lockout_window: Duration,
    /// How long a lockout lasts. Default 30 minutes, as Splunk's `lockoutMins`.
    pub lockout_duration: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 << 20,
            max_hec_body_bytes: 1_000_000,
            max_searches: 8,
            search_queue_wait: Duration::from_secs(10),
            max_jobs: 1_000,
            job_ttl: Duration::from_secs(600),
            session_ttl: Duration::from_secs(3600),
            max_result_bytes: 2 << 30,
            max_result_rows: 50_000,
            max_reply_bytes: 64 << 20,
            max_connections: 1_024,
            max_connections_per_client: 128,
            head_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            min_body_rate: 32 << 10,
            lockout_attempts: 5,
            lockout_window: Duration::from_secs(5 * 60),
            lockout_duration: Duration::from_secs(30 * 60),
        }
    }
}

/// How to run a server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Where the REST API listens. Default `127.0.0.1:8089`.
    pub listen: SocketAddr,
    /// Where HEC listens too, if apart (Splunk's HEC port is 8088). HEC's endpoints are also
    /// served on `listen`.
    pub hec_listen: Option<SocketAddr>,
    /// Who may call.
    pub credentials: Credentials,
    /// TLS for both listeners; `None` serves plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Limits.
    pub limits: Limits,
    /// The version `server/info` reports; clients choose the search API by it (9.0.2 and later
    /// use `search/v2`). Default `9.4.0`.
    pub version: String,
    /// Whether HEC gives acknowledgement ids (channels required, `collector/ack` answers).
    /// Default off, as a new HEC token in Splunk.
    pub hec_acks: bool,
}

impl ServerOptions {
    /// Options with these credentials and every default.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8089)),
            hec_listen: None,
            credentials,
            tls: None,
            limits: Limits::default(),
            version: "9.4.0".to_owned(),
            hec_acks: false,
        }
    }

    /// Listens on `addr` (port 0: any free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Also listens for HEC on `addr`.
    pub fn hec_listen(mut self, addr: SocketAddr) -> Self {
        self.hec_listen = Some(addr);
        self
    }

    /// Serves TLS with this configuration.
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Sets the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the version `server/info` reports.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Turns HEC acknowledgements on or off.
    pub fn hec_acks(mut self, on: bool) -> Self {
        self.hec_acks = on;
        self
    }
}

/// The server's listening sockets, bound on their own: a program binds them first, so a busy
/// port is said at once, before a long open of the data folder.
///
/// ```
/// use spoor_engine::server::Listeners;
///
/// let listeners = Listeners::bind("127.0.0.1:0".parse()?, Some("127.0.0.1:0".parse()?))?;
/// assert_ne!(listeners.addr()?.port(), 0);
/// assert!(listeners.hec_addr()?.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Listeners {
    rest: std::net::TcpListener,
    hec: Option<std::net::TcpListener>,
}

impl Listeners {
    /// Binds the REST API's address and, when given, HEC's own (port 0: any free port).
    ///
    /// # Errors
    ///
    /// When an address cannot be bound; the error names it.
    pub fn bind(rest: SocketAddr, hec: Option<SocketAddr>) -> io::Result<Self> {
        let bind = |addr: SocketAddr| {
            std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|err| {
                    io::Error::new(
                        err.kind(),
                        crate::cli::Failure::caused(format!("cannot listen on {addr}"), err),
                    )
                })
        };
        Ok(Self {
            rest: bind(rest)?,
            hec: hec.map(bind).transpose()?,
        })
    }

    /// The REST API's address.
    ///
    /// # Errors
    ///
    /// When the system cannot say.
    pub fn addr(&self) -> io::Result<SocketAddr> {
        self.rest.local_addr()
    }

    /// HEC's own address, when it has one.
    ///
    /// # Errors
    ///
    /// When the system cannot say.
    pub fn hec_addr(&self) -> io::Result<Option<SocketAddr>> {
        self.hec
            .as_ref()
            .map(std::net::TcpListener::local_addr)
            .transpose()
    }
}

/// A bound server, not yet running.
#[derive(Debug)]
pub struct Server {
    state: Arc<State>,
    listeners: Vec<TcpListener>,
    addr: SocketAddr,
    hec_addr: Option<SocketAddr>,
}

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) engine: Arc<Engine>,
    pub(crate) options: ServerOptions,
    pub(crate) auth: auth::Auth,
    pub(crate) jobs: jobs::Jobs,
    pub(crate) hec: hec::Channels,
    /// Connections open, held to the limits.
    pub(crate) gate: Gate,
    /// The REST port, for the `splunkd_<port>` cookie and the feeds' URLs.
    pub(crate) addr: SocketAddr,
    /// This server's id, for `server/info`.
    pub(crate) guid: String,
}

impl State {
    pub(crate) fn scheme(&self) -> &'static str {
        if self.options.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

impl Server {
    /// Binds the listeners. Call it within a tokio runtime.
    ///
    /// # Errors
    ///
    /// When an address cannot be bound.
    pub fn bind(engine: Arc<Engine>, options: ServerOptions) -> io::Result<Self> {
        let listeners = Listeners::bind(options.listen, options.hec_listen)?;
        Self::on(engine, options, listeners)
    }

    /// A server on listeners already bound (`options`' addresses are not used). Call it
    /// within a tokio runtime.
    ///
    /// # Errors
    ///
    /// When the listeners cannot be handed to the runtime.
    pub fn on(
        engine: Arc<Engine>,
        options: ServerOptions,
        listeners: Listeners,
    ) -> io::Result<Self> {
        let rest = TcpListener::from_std(listeners.rest)?;
        let addr = rest.local_addr()?;
        let mut hec_addr = None;
        let listeners = match listeners.hec {
            Some(hec) => {
                let hec = TcpListener::from_std(hec)?;
                hec_addr = Some(hec.local_addr()?);
                vec![rest, hec]
            }
            None => vec![rest],
        };
        let state = Arc::new(State {
            auth: auth::Auth::new(&options.credentials, &options.limits),
            gate: Gate::of(&options.limits),
            jobs: jobs::Jobs::new(options.limits),
            hec: hec::Channels::default(),
            engine,
            options,
            addr,
            guid: random_hex(16)?,
        });
        Ok(Self {
            state,
            listeners,
            addr,
            hec_addr,
        })
    }

    /// The REST API's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// HEC's own address, when it has one.
    pub fn hec_addr(&self) -> Option<SocketAddr> {
        self.hec_addr
    }

    /// Serves until `shutdown` completes, then stops accepting, lets requests in flight finish
    /// (at most 30 seconds) and returns. Every acknowledged write is durable before its reply.
    ///
    /// # Errors
    ///
    /// Never for a client's fault; only if a listener fails for good.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut accepting = Vec::new();
        for listener in self.listeners {
            let state = Arc::clone(&self.state);
            let stop = stop_rx.clone();
            accepting.push(tokio::spawn(conn::accept_loop(listener, state, stop)));
        }
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = stop_tx.send(true);
        for task in accepting {
            let _ = task.await;
        }
        Ok(())
    }

    /// Starts a server on a thread of its own (with its own runtime) and returns once it
    /// listens: for tests, and for programs without a runtime (the dashboard).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use spoor_engine::Engine;
    /// use spoor_engine::server::{Credentials, Server, ServerOptions};
    ///
    /// # let dir = std::env::temp_dir().join(format!("spoor-server-doc-{}", std::process::id()));
    /// let (engine, _) = Engine::open(&dir)?;
    /// let options = ServerOptions::new(Credentials::generate()?).listen("127.0.0.1:0".parse()?);
    /// let running = Server::start(Arc::new(engine), options)?;
    /// assert_ne!(running.addr().port(), 0);
    /// running.shutdown()?;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the runtime cannot start or an address cannot be bound.
    pub fn start(engine: Arc<Engine>, options: ServerOptions) -> io::Result<Running> {
        let listeners = Listeners::bind(options.listen, options.hec_listen)?;
        Self::start_on(engine, options, listeners)
    }

    /// As [`start`](Self::start), on listeners already bound (see [`Listeners`]).
    ///
    /// # Errors
    ///
    /// When the runtime cannot start.
    pub fn start_on(
        engine: Arc<Engine>,
        options: ServerOptions,
        listeners: Listeners,
    ) -> io::Result<Running> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("spoor-engine-server")
            .enable_all()
            .build()?;
        let credentials = options.credentials.clone();
        let tls = options.tls.is_some();
        let server = runtime.block_on(async { Self::on(engine, options, listeners) })?;
        let (addr, hec_addr) = (server.local_addr(), server.hec_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("spoor-engine-server".to_owned())
            .spawn(move || {
                runtime.block_on(server.run_until(async {
                    let _ = stopped.await;
                }))
            })?;
        Ok(Running {
            addr,
            hec_addr,
            tls,
            credentials,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// A server started by [`Server::start`]; dropping it shuts the server down.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    hec_addr: Option<SocketAddr>,
    tls: bool,
    credentials: Credentials,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl Running {
    /// The REST API's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// HEC's own address, when it has one.
    pub fn hec_addr(&self) -> Option<SocketAddr> {
        self.hec_addr
    }

    /// The credentials the server accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// A client configuration for this server: address, scheme, the admin's username and
    /// password, and HEC (at its own address when it has one) with the first HEC token.
    pub fn config(&self) -> spoor_proto::ConfigBuilder {
        let (scheme, name) = if self.tls {
            (spoor_proto::config::Scheme::Https, "https")
        } else {
            (spoor_proto::config::Scheme::Http, "http")
        };
        let mut builder = spoor_proto::ConfigBuilder::new();
        builder
            .scheme(scheme)
            .host(self.addr.ip().to_string())
            .port(self.addr.port())
            .username(self.credentials.username.clone())
            .password(self.credentials.password.expose());
        if let Some(token) = self.credentials.hec_tokens.first() {
            let hec = self.hec_addr.unwrap_or(self.addr);
            builder
                .hec_url(format!("{name}://{hec}"))
                .hec_token(token.expose());
        }
        builder
    }

    /// Stops the server: no new connections, requests in flight finish, then it returns.
    ///
    /// # Errors
    ///
    /// When the server's thread failed.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop_now()
    }

    fn stop_now(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the server's thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop_now();
    }
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM: what a server program waits for before
/// shutting down gracefully (the `spoor-engine` and `spoor-dashboard` binaries).
///
/// The handlers are installed when this is called, not when the future is first polled, so a
/// program that calls it before saying it listens cannot be stopped ungracefully by a signal sent
/// the moment it says so. Call it within a Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |handler: Option<tokio::signal::unix::Signal>| async move {
                match handler {
                    Some(mut handler) => {
                        handler.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A fresh random secret of `bytes` random bytes, in hex.
pub(crate) fn random_hex(bytes: usize) -> io::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
