//! [`Call`]: one REST call with the shared retry and re-login rules, as a state machine the
//! driver steps. [`SearchJob`](crate::search::SearchJob) is stepped the same way.
//!
//! A driver's whole loop, for any machine here:
//!
//! ```text
//! loop {
//!     match machine.poll(Instant::now()) {
//!         Action::Send(request) => match transport.send(request) {
//!             Ok(response) if machine.streams_body(response.status()) => {
//!                 for chunk in response.body_chunks() {        // as they arrive
//!                     machine.handle_body_chunk(&chunk?)?;     // (errors: handle_transport_error)
//!                 }
//!                 machine.handle_body_end(Instant::now());
//!             }
//!             Ok(response) => machine.handle_response(read_whole(response), Instant::now()),
//!             Err(e) => machine.handle_transport_error(Error::transport(e), Instant::now()),
//!         },
//!         Action::Wait(until) => sleep_until(until),
//!         Action::Done(result) => return result,
//!     }
//! }
//! ```
//!
//! Rules applied to every request:
//! - 408, 429 and 5xx replies are retried after [`RetryPolicy`](crate::RetryPolicy) backoff (or `Retry-After`);
//! - transport errors are retried the same way for `GET` requests only (a repeated `POST`
//!   could create a second job or index events twice);
//! - with password credentials, the machine logs in first when there is no session, and a
//!   401 is answered by exactly one new login and one resend; a second 401 is final (a
//!   call of the login request itself is sent once, as it is).
//!
//! A machine works on its own copy of the [`Service`]: after `Done`, read
//! [`Call::service`] to keep a renewed session key.

use std::time::Instant;

use http::{Method, Request, Response, StatusCode};

use crate::error::Error;
use crate::rest::{LOGIN_PATH, parse_login};
use crate::service::Service;

/// What a machine wants the driver to do next.
#[derive(Debug)]
#[must_use]
pub enum Action<T> {
    /// Send this request and hand the response to `handle_response` (or a failure to
    /// `handle_transport_error`).
    Send(Request<Vec<u8>>),
    /// Sleep until this instant, then poll again.
    Wait(Instant),
    /// Finished; further polls return `Done(Err(Error::Finished))`.
    Done(Result<T, Error>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NeedLogin,
    LoggingIn,
    Ready,
    InFlight,
    WaitUntil(Instant),
}

/// One logical request with its retries and re-login.
#[derive(Debug)]
pub(crate) struct Exchange {
    request: Request<Vec<u8>>,
    retries: u32,
    relogged: bool,
    phase: Phase,
}

/// What an exchange makes of a response.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Keep polling: a retry or a login is under way.
    Pending,
    /// The final response (any status; the caller parses it).
    Complete(Response<Vec<u8>>),
    /// The exchange failed.
    Failed(Error),
}

impl Exchange {
    pub(crate) fn new(service: &Service, request: Request<Vec<u8>>) -> Self {
        // The login request itself is sent as it is: no login before it, none after a 401.
        let is_login = request.uri().path() == LOGIN_PATH;
        let login_first = service.needs_login() && !is_login;
        Self {
            request,
            retries: 0,
            relogged: login_first || is_login,
            phase: if login_first {
                Phase::NeedLogin
            } else {
                Phase::Ready
            },
        }
    }

    pub(crate) fn poll(&mut self, service: &Service, now: Instant) -> Result<Action<()>, Error> {
        match self.phase {
            Phase::WaitUntil(until) if now < until => Ok(Action::Wait(until)),
            Phase::NeedLogin | Phase::LoggingIn => {
                self.phase = Phase::LoggingIn;
                Ok(Action::Send(service.login_request()?))
            }
            Phase::Ready | Phase::InFlight | Phase::WaitUntil(_) => {
                self.phase = Phase::InFlight;
                Ok(Action::Send(self.request.clone()))
            }
        }
    }

    /// Whether the request in flight is a login, not the exchange's own request.
    pub(crate) fn is_logging_in(&self) -> bool {
        self.phase == Phase::LoggingIn
    }

    pub(crate) fn handle_response(
        &mut self,
        service: &mut Service,
        response: Response<Vec<u8>>,
        now: Instant,
    ) -> Outcome {
        if self.phase == Phase::LoggingIn {
            let renewed = parse_login(&response).and_then(|key| service.set_session_key(&key));
            return match renewed {
                Ok(()) => {
                    service.authorize(&mut self.request);
                    self.phase = Phase::Ready;
                    Outcome::Pending
                }
                Err(e) => Outcome::Failed(e),
            };
        }
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED && service.can_relogin() && !self.relogged {
            self.relogged = true;
            self.phase = Phase::NeedLogin;
            return Outcome::Pending;
        }
        let jitter = service.next_jitter();
        match service
            .retry_policy()
            .decide(self.retries, status, response.headers(), jitter, None)
        {
            Some(wait) => {
                self.retries += 1;
                self.phase = Phase::WaitUntil(now + wait);
                Outcome::Pending
            }
            None => Outcome::Complete(response),
        }
    }

    pub(crate) fn handle_transport_error(
        &mut self,
        service: &mut Service,
        error: Error,
        now: Instant,
    ) -> Outcome {
        let idempotent = self.phase == Phase::InFlight
            && matches!(*self.request.method(), Method::GET | Method::HEAD);
        if idempotent && self.retries < service.retry_policy().max_retries {
            let wait = service
                .retry_policy()
                .backoff(self.retries, service.next_jitter());
            self.retries += 1;
            self.phase = Phase::WaitUntil(now + wait);
            Outcome::Pending
        } else {
            Outcome::Failed(error)
        }
    }
}

/// A sans-I/O machine: the driver polls it, does what [`Action`] says, and hands back
/// what happened. [`Call`] and [`SearchJob`](crate::search::SearchJob) are machines, so one
/// driver loop serves both.
pub trait Machine {
    /// What the machine produces when done.
    type Output;

    /// What to do next. The answer changes only after `handle_response`,
    /// `handle_transport_error`, a method of the machine that says so, or time reaching a
    /// `Wait` instant (or a time limit).
    fn poll(&mut self, now: Instant) -> Action<Self::Output>;

    /// Hands over the response to the last `Send` (body read in full).
    fn handle_response(&mut self, response: Response<Vec<u8>>, now: Instant);

    /// Reports that the last `Send` failed below HTTP (connect, reset, driver timeout).
    fn handle_transport_error(&mut self, error: Error, now: Instant);

    /// The service as the machine left it: after a re-login it holds the new session key,
    /// which the driver keeps for the next machines.
    fn service(&self) -> &Service;

    /// Whether the body of a response with this status should be streamed into
    /// [`handle_body_chunk`](Self::handle_body_chunk) rather than read whole for
    /// [`handle_response`](Self::handle_response). Only
    /// [`ExportSearch`](crate::search::ExportSearch) streams (its 2xx bodies).
    fn streams_body(&self, status: StatusCode) -> bool {
        let _ = status;
        false
    }

    /// A chunk of a streamed body, split anywhere.
    ///
    /// # Errors
    ///
    /// When the chunk cannot be taken (e.g. a line over the decoder's limit); the driver
    /// stops reading and reports it with `handle_transport_error`.
    fn handle_body_chunk(&mut self, chunk: &[u8]) -> Result<(), Error> {
        let _ = chunk;
        Ok(())
    }

    /// The end of a streamed body.
    fn handle_body_end(&mut self, now: Instant) {
        let _ = now;
    }
}

/// Parses a final response into the call's result.
pub type Parser<T> = fn(&Response<Vec<u8>>) -> Result<T, Error>;

/// One REST call: a request from a `*_request` method and the `parse_*` function for its
/// reply, stepped with retries and re-login.
///
/// ```
/// use std::time::Instant;
/// use spoor_proto::{Action, Call, Config, Machine, Service};
///
/// let config = Config::builder().username("admin").password("changeme").build()?;
/// let service = Service::new(&config)?;
/// let mut call = Call::new(service.clone(), service.server_info_request()?, spoor_proto::rest::parse_server_info);
/// # #[allow(clippy::disallowed_methods)]
/// let now = Instant::now();
///
/// // No session yet: the call logs in first.
/// let Action::Send(login) = call.poll(now) else { panic!() };
/// assert_eq!(login.uri().path(), "/services/auth/login");
/// call.handle_response(http::Response::new(b"<response><sessionKey>k1</sessionKey></response>".to_vec()), now);
///
/// let Action::Send(info) = call.poll(now) else { panic!() };
/// assert_eq!(info.headers()["authorization"], "Splunk k1");
/// let body = br#"{"entry":[{"name":"server-info","content":{"version":"9.1.2","build":"b6436b649711","serverName":"idx1"}}]}"#;
/// call.handle_response(http::Response::new(body.to_vec()), now);
///
/// let Action::Done(Ok(info)) = call.poll(now) else { panic!() };
/// assert_eq!(info.version, "9.1.2");
/// assert!(!call.service().needs_login()); // keep the renewed session
/// # Ok::<(), spoor_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct Call<T> {
    service: Service,
    exchange: Exchange,
    parse: Parser<T>,
    result: Option<Result<T, Error>>,
    finished: bool,
}

impl<T> Call<T> {
    /// A call of `request` whose final response `parse` reads.
    pub fn new(service: Service, request: Request<Vec<u8>>, parse: Parser<T>) -> Self {
        let exchange = Exchange::new(&service, request);
        Self {
            service,
            exchange,
            parse,
            result: None,
            finished: false,
        }
    }
}

impl<T> Call<T> {
    /// Whether the request in flight is a login before (or a re-login for) the call's own.
    pub(crate) fn is_logging_in(&self) -> bool {
        self.exchange.is_logging_in()
    }
}

impl<T> Machine for Call<T> {
    type Output = T;

    fn service(&self) -> &Service {
        &self.service
    }

    fn poll(&mut self, now: Instant) -> Action<T> {
        if let Some(result) = self.result.take() {
            self.finished = true;
            return Action::Done(result);
        }
        if self.finished {
            return Action::Done(Err(Error::Finished));
        }
        match self.exchange.poll(&self.service, now) {
            Ok(Action::Send(r)) => Action::Send(r),
            Ok(Action::Wait(t)) => Action::Wait(t),
            Ok(Action::Done(_)) => Action::Done(Err(Error::Finished)),
            Err(e) => {
                self.finished = true;
                Action::Done(Err(e))
            }
        }
    }

    fn handle_response(&mut self, response: Response<Vec<u8>>, now: Instant) {
        match self
            .exchange
            .handle_response(&mut self.service, response, now)
        {
            Outcome::Pending => {}
            Outcome::Complete(resp) => self.result = Some((self.parse)(&resp)),
            Outcome::Failed(e) => self.result = Some(Err(e)),
        }
    }

    fn handle_transport_error(&mut self, error: Error, now: Instant) {
        if let Outcome::Failed(e) =
            self.exchange
                .handle_transport_error(&mut self.service, error, now)
        {
            self.result = Some(Err(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigBuilder;
    use crate::service::check;
    use std::time::Duration;

    use crate::test_util::{password_service, reply as resp, t0};

    fn ok(resp: &Response<Vec<u8>>) -> Result<String, Error> {
        check(resp).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    fn send<T>(a: Action<T>) -> Request<Vec<u8>> {
        match a {
            Action::Send(r) => r,
            Action::Wait(_) => panic!("unexpected wait"),
            Action::Done(_) => panic!("unexpected done"),
        }
    }

    const LOGIN: &str = "<response><sessionKey>k2</sessionKey></response>";

    #[test]
    fn one_relogin_on_401_then_final() {
        let s = password_service(Some("k1"));
        let req = s.server_info_request().unwrap();
        let mut call = Call::new(s, req, ok);
        let now = t0();
        assert_eq!(send(call.poll(now)).headers()["authorization"], "Splunk k1");
        call.handle_response(resp(401, ""), now);
        assert_eq!(send(call.poll(now)).uri().path(), "/services/auth/login");
        call.handle_response(resp(200, LOGIN), now);
        assert_eq!(send(call.poll(now)).headers()["authorization"], "Splunk k2");
        call.handle_response(resp(401, "<response><messages><msg type=\"WARN\">call not properly authenticated</msg></messages></response>"), now);
        let Action::Done(Err(e)) = call.poll(now) else {
            panic!()
        };
        assert!(e.is_unauthorized());
        assert_eq!(e.messages()[0].text, "call not properly authenticated");
        assert!(matches!(call.poll(now), Action::Done(Err(Error::Finished))));
    }

    #[test]
    fn a_call_of_the_login_request_logs_in_once() {
        let s = password_service(None);
        let req = s.login_request().unwrap();
        let mut call = Call::new(s, req, parse_login);
        let now = t0();
        assert_eq!(send(call.poll(now)).uri().path(), "/services/auth/login");
        call.handle_response(
            resp(
                401,
                "<response><messages><msg type=\"WARN\">Login failed</msg></messages></response>",
            ),
            now,
        );
        let Action::Done(Err(e)) = call.poll(now) else {
            panic!()
        };
        assert!(e.is_unauthorized());
    }

    #[test]
    fn failed_login_is_final() {
        let s = password_service(None);
        let req = s.server_info_request().unwrap();
        let mut call = Call::new(s, req, ok);
        let now = t0();
        send(call.poll(now));
        call.handle_response(resp(401, r#"{"messages":[{"type":"WARN","code":"incorrect_username_or_password","text":"Login failed"}]}"#), now);
        let Action::Done(Err(e)) = call.poll(now) else {
            panic!()
        };
        assert_eq!(e.to_string(), "splunk answered 401: WARN Login failed");
    }

    #[test]
    fn retries_503_with_backoff_then_honours_retry_after() {
        let s = Service::new(&ConfigBuilder::new().token("t").build().unwrap()).unwrap();
        let req = s.server_info_request().unwrap();
        let mut call = Call::new(s, req, ok);
        let now = t0();
        send(call.poll(now));
        call.handle_response(resp(503, "busy"), now);
        let Action::Wait(until) = call.poll(now) else {
            panic!()
        };
        let waited = until - now;
        assert!(
            waited >= Duration::from_millis(100) && waited <= Duration::from_millis(200),
            "{waited:?}"
        );
        assert!(matches!(
            call.poll(now + Duration::from_millis(50)),
            Action::Wait(_)
        ));
        send(call.poll(until));
        let mut r = resp(429, "");
        r.headers_mut().insert("retry-after", "3".parse().unwrap());
        call.handle_response(r, until);
        let Action::Wait(next) = call.poll(until) else {
            panic!()
        };
        assert_eq!(next - until, Duration::from_secs(3));
        send(call.poll(next));
        call.handle_response(resp(200, "fine"), next);
        assert!(matches!(call.poll(next), Action::Done(Ok(body)) if body == "fine"));
    }

    #[test]
    fn transport_errors_retry_only_idempotent_requests() {
        let s = Service::new(&ConfigBuilder::new().token("t").build().unwrap()).unwrap();
        let get = s.server_info_request().unwrap();
        let post = s.cancel_job_request("x").unwrap();
        let now = t0();
        let mut once = s.clone();
        once.set_retry_policy(crate::RetryPolicy {
            max_retries: 1,
            ..crate::RetryPolicy::default()
        });
        let mut call = Call::new(once, get, ok);
        send(call.poll(now));
        call.handle_transport_error(Error::transport(std::io::Error::other("reset")), now);
        let Action::Wait(t) = call.poll(now) else {
            panic!()
        };
        send(call.poll(t));
        call.handle_transport_error(Error::transport(std::io::Error::other("reset")), t);
        assert!(matches!(
            call.poll(t),
            Action::Done(Err(Error::Transport { .. }))
        ));

        let mut call = Call::new(s, post, ok);
        send(call.poll(now));
        call.handle_transport_error(Error::transport(std::io::Error::other("reset")), now);
        assert!(matches!(
            call.poll(now),
            Action::Done(Err(Error::Transport { .. }))
        ));
    }
}
