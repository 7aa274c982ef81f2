//! What the two drivers share, written once: the client state ([`Core`]), the steps of the
//! driver loop ([`next`], [`deliver`], [`feed`]) and the loop itself ([`driver_loop!`]), the
//! export row pump ([`ExportState`]), time limits, error mapping, and the convenience
//! methods ([`convenience_methods!`]).
//!
//! The two macros are expanded once per driver, with and without `async`/`.await`; what
//! each driver writes itself is only what touches its socket library: `send` a request,
//! `read_whole` a body, `sleep`, and read a streamed body in `Chunks`.

use std::error::Error as StdError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::header::AUTHORIZATION;
use http::{Request, Response, StatusCode};
use spoor_proto::config::Timeouts;
use spoor_proto::form::Form;
use spoor_proto::hec::{Batch, Hec, HecReply, parse_event_reply};
use spoor_proto::rest::{
    Index, ServerInfo, SubmitReceipt, SubmitTarget, parse_conf_reply, parse_index, parse_indexes,
    parse_login, parse_server_info, parse_submit_receipt,
};
use spoor_proto::search::{
    ExecMode, ExportItem, ExportSearch, JobSummary, Row, SearchJob, SearchParams,
};
use spoor_proto::{Action, BoxError, Call, Config, Error, Machine, Secret, Service};

/// The longest body read whole (every reply but a streamed export): 256 MiB.
pub(crate) const MAX_WHOLE_BODY: u64 = 256 << 20;

/// A search's rows and what the job reported, from the `search` convenience method.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SearchResults {
    /// Every result row, in order (read page by page; never cut at Splunk's 100-row default).
    pub rows: Vec<Row>,
    /// The sid, the row count and Splunk's messages.
    pub summary: JobSummary,
}

/// The state a client keeps between machines: the management service (with the session key
/// of the last login), the collector, and the time limits.
#[derive(Debug)]
pub(crate) struct Core {
    service: Mutex<Service>,
    hec: Option<Hec>,
    timeouts: Timeouts,
}

impl Core {
    pub(crate) fn new(config: &Config) -> Result<Self, Error> {
        Ok(Self {
            service: Mutex::new(Service::new(config)?),
            hec: config.hec().map(Hec::new).transpose()?,
            timeouts: config.timeouts(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Service> {
        // A panic elsewhere cannot leave a `Service` half-updated: every update is one call.
        self.service.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// A copy of the service for a new machine, its retry jitter freshly seeded.
    pub(crate) fn service(&self) -> Service {
        let mut service = self.lock().clone();
        service.set_jitter_seed(seed());
        service
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut Service)) {
        change(&mut self.lock());
    }

    pub(crate) fn set_session_key(&self, key: &Secret) -> Result<(), Error> {
        self.lock().set_session_key(key)
    }

    /// Keeps the session a finished machine holds (after a login or a re-login on 401),
    /// when it logged in with this client's credentials.
    pub(crate) fn keep_session(&self, from: &Service) {
        let mut kept = self.lock();
        if !kept.can_relogin() || from.needs_login() || from.credentials() != kept.credentials() {
            return;
        }
        let mut probe = Request::new(Vec::new());
        from.authorize(&mut probe);
        if let Some(Ok(value)) = probe.headers().get(AUTHORIZATION).map(|v| v.to_str()) {
            // `Splunk <key>`: a key that carries its scheme is taken as it is.
            let _ = kept.set_session_key(&Secret::new(value));
        }
    }

    /// The time limits for the next request of `machine`.
    fn limits<M: Machine>(&self, machine: &M) -> Limits {
        let limit = self.timeouts.request;
        if machine.streams_body(StatusCode::OK) {
            Limits {
                head: limit,
                body: None,
                idle: Some(limit),
            }
        } else {
            Limits {
                head: limit,
                body: Some(limit),
                idle: None,
            }
        }
    }

    pub(crate) fn login(&self) -> Result<Call<Secret>, Error> {
        let service = self.service();
        let request = service.login_request()?;
        Ok(Call::new(service, request, parse_login))
    }

    pub(crate) fn server_info(&self) -> Result<Call<ServerInfo>, Error> {
        let service = self.service();
        let request = service.server_info_request()?;
        Ok(Call::new(service, request, parse_server_info))
    }

    pub(crate) fn indexes(&self) -> Result<Call<Vec<Index>>, Error> {
        let service = self.service();
        let request = service.list_indexes_request()?;
        Ok(Call::new(service, request, parse_indexes))
    }

    pub(crate) fn create_index(&self, name: &str, settings: &Form) -> Result<Call<Index>, Error> {
        let service = self.service();
        let request = service.create_index_request(name, settings)?;
        Ok(Call::new(service, request, parse_index))
    }

    pub(crate) fn create_props_stanza(&self, stanza: &str) -> Result<Call<()>, Error> {
        let service = self.service();
        let request = service.create_conf_stanza_request("props", stanza)?;
        Ok(Call::new(service, request, |reply| {
            match parse_conf_reply(reply) {
                // 409: the stanza exists already, which is what was wanted.
                Err(e) if e.status() == Some(StatusCode::CONFLICT) => Ok(()),
                other => other.map(drop),
            }
        }))
    }

    pub(crate) fn set_props_keys(&self, stanza: &str, keys: &Form) -> Result<Call<()>, Error> {
        let service = self.service();
        let request = service.set_conf_keys_request("props", stanza, keys)?;
        Ok(Call::new(service, request, |reply| {
            parse_conf_reply(reply).map(drop)
        }))
    }

    pub(crate) fn submit<'a>(
        &self,
        target: &SubmitTarget,
        events: impl IntoIterator<Item = &'a str>,
    ) -> Result<Call<SubmitReceipt>, Error> {
        let service = self.service();
        let request = service.submit_request(target, events)?;
        Ok(Call::new(service, request, parse_submit_receipt))
    }

    pub(crate) fn hec_send(&self, batch: Batch) -> Result<Call<HecReply>, Error> {
        let Some(hec) = &self.hec else {
            return Err(Error::Config {
                message: "no hec token configured".to_owned(),
            });
        };
        let mut hec = hec.clone();
        hec.set_jitter_seed(seed());
        let request = hec.event_request(batch.body)?;
        Ok(hec.call(request, parse_event_reply))
    }

    pub(crate) fn search(&self, query: &str, params: SearchParams) -> Result<SearchJob, Error> {
        SearchJob::new(self.service(), query, ExecMode::Normal, params)
    }

    pub(crate) fn export(&self, query: &str, params: &SearchParams) -> Result<ExportSearch, Error> {
        ExportSearch::new(self.service(), query, params)
    }
}

/// Collects a finished job's rows.
pub(crate) fn search_results(
    mut job: SearchJob,
    summary: Result<JobSummary, Error>,
) -> Result<SearchResults, Error> {
    let summary = summary?;
    let rows = std::iter::from_fn(|| job.next_row()).collect();
    Ok(SearchResults { rows, summary })
}

/// Time limits of one request, as [`Core`] decides them: the wait for the response head,
/// then for a whole body in total, or for a streamed body on each read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) head: Duration,
    pub(crate) body: Option<Duration>,
    pub(crate) idle: Option<Duration>,
}

/// What the driver does next.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "a value that lives for one step, like spoor-proto's Action"
)]
pub(crate) enum Next<T> {
    /// Send the request within these limits.
    Send(Request<Vec<u8>>, Limits),
    /// Sleep this long, then ask again.
    Sleep(Duration),
    /// The machine is done; its session is kept already.
    Done(Result<T, Error>),
}

/// Polls `machine` at the present time.
pub(crate) fn next<M: Machine>(core: &Core, machine: &mut M) -> Next<M::Output> {
    match machine.poll(Instant::now()) {
        Action::Send(request) => {
            let limits = core.limits(machine);
            Next::Send(request, limits)
        }
        Action::Wait(until) => Next::Sleep(until.saturating_duration_since(Instant::now())),
        Action::Done(result) => {
            core.keep_session(machine.service());
            Next::Done(result)
        }
    }
}

/// Hands a whole response, or the failure to get one, to `machine`.
pub(crate) fn deliver<M: Machine>(machine: &mut M, response: Result<Response<Vec<u8>>, Error>) {
    match response {
        Ok(response) => machine.handle_response(response, Instant::now()),
        Err(error) => machine.handle_transport_error(error, Instant::now()),
    }
}

/// Hands one read of a streamed body (a chunk, the end, or a failure) to `machine`;
/// returns whether to read on.
pub(crate) fn feed<M: Machine, B: AsRef<[u8]>>(
    machine: &mut M,
    read: Result<Option<B>, Error>,
) -> bool {
    let taken = match read {
        Ok(Some(chunk)) => machine.handle_body_chunk(chunk.as_ref()),
        Ok(None) => {
            machine.handle_body_end(Instant::now());
            return false;
        }
        Err(error) => Err(error),
    };
    match taken {
        Ok(()) => true,
        Err(error) => {
            machine.handle_transport_error(error, Instant::now());
            false
        }
    }
}

/// An export whose body is being read: rows come out as the driver feeds chunks in.
#[derive(Debug)]
pub(crate) struct ExportState {
    search: ExportSearch,
    reading: bool,
}

impl ExportState {
    /// `reading`: whether a streamed body follows (else the search is over).
    pub(crate) fn new(core: &Core, search: ExportSearch, reading: bool) -> Self {
        // A re-login before the stream started is kept for the next machines.
        core.keep_session(search.service());
        Self { search, reading }
    }

    /// The next row or message, reading chunks with `read` as needed (`Pending` when the
    /// read is); `Ready(None)` at the end. An error of the stream (a dropped connection, a
    /// time limit, a line too long) comes after the rows decoded before it.
    pub(crate) fn next_item<B: AsRef<[u8]>>(
        &mut self,
        mut read: impl FnMut() -> Poll<Result<Option<B>, Error>>,
    ) -> Poll<Option<Result<ExportItem, Error>>> {
        loop {
            if let Some(item) = self.search.next_item() {
                return Poll::Ready(Some(item));
            }
            if !self.reading {
                return Poll::Ready(match self.search.poll(Instant::now()) {
                    Action::Done(Err(Error::Finished) | Ok(())) => None,
                    Action::Done(Err(error)) => Some(Err(error)),
                    // Once its body has been read, an export asks for nothing more.
                    Action::Send(_) | Action::Wait(_) => None,
                });
            }
            match read() {
                Poll::Ready(chunk) => self.reading = feed(&mut self.search, chunk),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A transport error, or a TLS error when rustls is anywhere in its causes.
pub(crate) fn transport_error(error: impl Into<BoxError>) -> Error {
    let error = error.into();
    if any_cause(&*error, &|e| e.is::<rustls::Error>()) {
        Error::tls(error)
    } else {
        Error::transport(error)
    }
}

/// Whether an I/O time-out is anywhere in the causes (a connect time-out below hyper).
#[cfg(feature = "tokio")]
pub(crate) fn timed_out_below(error: &(dyn StdError + 'static)) -> bool {
    any_cause(error, &|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    })
}

/// Whether `error` or any of its causes is one `found` recognizes.
fn any_cause(
    error: &(dyn StdError + 'static),
    found: &dyn Fn(&(dyn StdError + 'static)) -> bool,
) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if found(e) {
            return true;
        }
        // An `io::Error`'s `source` skips the error it wraps; look at that one too.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && any_cause(inner, found)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// A seed for retry jitter that differs between calls and processes.
fn seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos
        ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        ^ (u64::from(std::process::id()) << 32)
}

/// What [`driver_loop!`]'s `drive` stopped at.
#[derive(Debug)]
pub(crate) enum Driven<T, B> {
    /// The machine is done.
    Done(Result<T, Error>),
    /// A body the machine wants streamed has started.
    Streaming(B),
}

/// The driver loop, written once for both drivers (`$($kw)?` is empty or `async`,
/// `$(.$await)?` empty or `.await`). The client provides `core: Core`,
/// `send(request, limits) -> Result<Response<B>, Error>`,
/// `read_whole(response, limits) -> Result<Response<Vec<u8>>, Error>`, `sleep(duration)`,
/// and `Chunks::new(body, timeouts)` with `next() -> Result<Option<chunk>, Error>`.
macro_rules! driver_loop {
    ($($kw:ident)?; $(.$await:ident)?) => {
        /// Runs any [`Machine`] to its end: sends what it asks for, sleeps when it says
        /// wait, streams bodies into it when it asks for that. A session it renews (a
        /// login, a re-login after a 401) is kept for the next calls when it was made with
        /// this client's credentials.
        ///
        /// # Errors
        ///
        /// What the machine ends with.
        pub $($kw)? fn run<M: Machine>(&self, machine: &mut M) -> Result<M::Output, Error> {
            loop {
                match self.drive(machine)$(.$await)? {
                    Driven::Done(result) => return result,
                    Driven::Streaming(body) => {
                        let mut chunks = Chunks::new(body, self.core.timeouts());
                        while $crate::shared::feed(machine, chunks.next()$(.$await)?) {}
                    }
                }
            }
        }

        /// Steps `machine` until it is done or a body it wants streamed starts.
        $($kw)? fn drive<M: Machine>(&self, machine: &mut M) -> Driven<M::Output, ResponseBody> {
            loop {
                match $crate::shared::next(&self.core, machine) {
                    Next::Send(request, limits) => match self.send(request, limits)$(.$await)? {
                        Ok(response) if machine.streams_body(response.status()) => {
                            return Driven::Streaming(response.into_body());
                        }
                        Ok(response) => {
                            let response = self.read_whole(response, limits)$(.$await)?;
                            $crate::shared::deliver(machine, response);
                        }
                        Err(error) => $crate::shared::deliver(machine, Err(error)),
                    },
                    Next::Sleep(duration) => sleep(duration)$(.$await)?,
                    Next::Done(result) => return Driven::Done(result),
                }
            }
        }
    };
}
pub(crate) use driver_loop;

/// The convenience methods of a client, written once for both drivers: `$($kw)*` is empty
/// or `async`, `$(.$await)?` is empty or `.await`. Each builds its machine in [`Core`] and
/// hands it to the client's `run`.
macro_rules! convenience_methods {
    ($($kw:ident)?; $(.$await:ident)?) => {
        /// Logs in now with the configured username and password, and keeps the session
        /// key for the next calls. (Calls log in by themselves when needed; this checks
        /// the credentials early.)
        ///
        /// # Errors
        ///
        /// [`Error::Api`] with status 401 for wrong credentials, [`Error::Config`] when
        /// the credentials are not a username and password, or any transport error.
        pub $($kw)? fn login(&self) -> Result<(), Error> {
            let key = self.run(&mut self.core.login()?)$(.$await)??;
            self.core.set_session_key(&key)
        }

        /// Reads `server/info`, and uses the search API the server's version supports
        /// (`search/v2/jobs` from Splunk 9.0.2) for the searches that follow.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the call.
        pub $($kw)? fn server_info(&self) -> Result<spoor_proto::rest::ServerInfo, Error> {
            let info = self.run(&mut self.core.server_info()?)$(.$await)??;
            self.core.update(|service| service.set_search_api(info.search_api()));
            Ok(info)
        }

        /// Lists every index (`data/indexes?count=-1`).
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the call.
        pub $($kw)? fn indexes(&self) -> Result<Vec<spoor_proto::rest::Index>, Error> {
            self.run(&mut self.core.indexes()?)$(.$await)?
        }

        /// Creates an index with these extra settings (e.g. `maxTotalDataSizeMB`).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidName`] for a name Splunk would refuse, [`Error::Api`] with 409
        /// when it exists, or any other [`Error`] of the call.
        pub $($kw)? fn create_index(
            &self,
            name: &str,
            settings: &spoor_proto::form::Form,
        ) -> Result<spoor_proto::rest::Index, Error> {
            self.run(&mut self.core.create_index(name, settings)?)$(.$await)?
        }

        /// Makes sure the `props.conf` stanza exists (creating it when missing) and sets
        /// these keys in it, e.g. `KV_MODE=auto_escaped` and `SHOULD_LINEMERGE=false`.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the two calls.
        pub $($kw)? fn props(&self, stanza: &str, keys: &spoor_proto::form::Form) -> Result<(), Error> {
            self.run(&mut self.core.create_props_stanza(stanza)?)$(.$await)??;
            self.run(&mut self.core.set_props_keys(stanza, keys)?)$(.$await)?
        }

        /// Sends events, one line each, to `receivers/simple`.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the call (it is a `POST`: a transport failure is not retried).
        pub $($kw)? fn submit<'a>(
            &self,
            target: &spoor_proto::rest::SubmitTarget,
            events: impl IntoIterator<Item = &'a str>,
        ) -> Result<spoor_proto::rest::SubmitReceipt, Error> {
            self.run(&mut self.core.submit(target, events)?)$(.$await)?
        }

        /// Sends a batch of envelopes to the HTTP Event Collector; 503 "server is busy"
        /// and other 5xx replies are retried after their `Retry-After` or a backoff.
        ///
        /// # Errors
        ///
        /// [`Error::Config`] when no HEC token is configured, [`Error::Hec`] when the
        /// collector refuses the batch, or any other [`Error`] of the call.
        pub $($kw)? fn hec_send(
            &self,
            batch: spoor_proto::hec::Batch,
        ) -> Result<spoor_proto::hec::HecReply, Error> {
            self.run(&mut self.core.hec_send(batch)?)$(.$await)?
        }

        /// Runs a search job over the window in `params` and reads every result row,
        /// page by page.
        ///
        /// # Errors
        ///
        /// [`Error::Api`] for a query Splunk refuses, [`Error::JobFailed`], or any other
        /// [`Error`] of the calls.
        pub $($kw)? fn search(
            &self,
            query: &str,
            params: spoor_proto::search::SearchParams,
        ) -> Result<$crate::SearchResults, Error> {
            let mut job = self.core.search(query, params)?;
            let summary = self.run(&mut job)$(.$await)?;
            $crate::shared::search_results(job, summary)
        }
    };
}
pub(crate) use convenience_methods;

#[cfg(test)]
mod tests {
    use super::*;

    fn core(config: &spoor_proto::ConfigBuilder) -> Core {
        Core::new(&config.build().unwrap()).unwrap()
    }

    fn authorization(service: &Service) -> Option<String> {
        let mut probe = Request::new(Vec::new());
        service.authorize(&mut probe);
        probe
            .headers()
            .get(AUTHORIZATION)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn a_renewed_session_is_kept_only_from_the_same_credentials() {
        let mut builder = Config::builder();
        builder.username("admin").password("pw");
        let core = core(&builder);
        assert!(core.service().needs_login());

        let mut renewed = core.service();
        renewed.set_session_key(&Secret::new("k2")).unwrap();
        core.keep_session(&renewed);
        assert_eq!(authorization(&core.service()).as_deref(), Some("Splunk k2"));

        // Another user's session, or a token service's, is not taken.
        let mut other = Config::builder();
        other.username("eve").password("pw");
        let mut foreign = Service::new(&other.build().unwrap()).unwrap();
        foreign.set_session_key(&Secret::new("k-eve")).unwrap();
        core.keep_session(&foreign);
        let token = Service::new(&Config::builder().token("t").build().unwrap()).unwrap();
        core.keep_session(&token);
        assert_eq!(authorization(&core.service()).as_deref(), Some("Splunk k2"));
    }

    #[test]
    fn only_a_streaming_machine_gets_per_read_limits() {
        let core = core(
            Config::builder()
                .token("t")
                .request_timeout(Duration::from_secs(7)),
        );
        let service = core.service();
        let call = Call::new(
            service.clone(),
            service.server_info_request().unwrap(),
            |_| Ok(()),
        );
        let whole = core.limits(&call);
        assert_eq!(
            (whole.body, whole.idle),
            (Some(Duration::from_secs(7)), None)
        );
        let export = ExportSearch::new(service, "search x", &SearchParams::default()).unwrap();
        let streamed = core.limits(&export);
        assert_eq!(
            (streamed.body, streamed.idle),
            (None, Some(Duration::from_secs(7)))
        );
    }

    #[test]
    fn rustls_anywhere_in_the_causes_is_a_tls_error() {
        let wrapped = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(matches!(transport_error(wrapped), Error::Tls { .. }));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(matches!(transport_error(reset), Error::Transport { .. }));
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn a_time_out_below_is_found() {
        #[derive(Debug)]
        struct Connect(std::io::Error);
        impl std::fmt::Display for Connect {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tcp connect error")
            }
        }
        impl StdError for Connect {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let connect = Connect(std::io::ErrorKind::TimedOut.into());
        assert!(timed_out_below(&connect));
        let refused = Connect(std::io::ErrorKind::ConnectionRefused.into());
        assert!(!timed_out_below(&refused));
    }

    #[test]
    fn seeds_differ() {
        assert_ne!(seed(), seed());
    }
}
