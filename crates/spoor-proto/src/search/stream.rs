//! [`ExportSearch`]: an export search as a machine whose 2xx body is streamed.

use std::time::Instant;

use http::{Response, StatusCode};

use super::SearchParams;
use super::export::{ExportDecoder, ExportItem};
use crate::call::{Action, Call, Machine};
use crate::error::Error;
use crate::service::Service;

/// A `search/jobs/export` search, stepped like any [`Machine`] until Splunk starts
/// streaming, then fed the body in chunks.
///
/// The driver sends the request and asks [`Machine::streams_body`] about the status: a
/// success is streamed into [`Machine::handle_body_chunk`] (then
/// [`Machine::handle_body_end`]); anything else is read whole and handed to
/// `handle_response`, which applies the retry and re-login rules before the stream starts.
/// Once bytes have flowed nothing is retried: a broken stream ends the search with the
/// error the driver reports.
///
/// ```
/// use spoor_proto::search::{ExportItem, ExportSearch, SearchParams};
/// use spoor_proto::{Action, Config, Machine, Service};
///
/// let service = Service::new(&Config::builder().token("t").build()?)?;
/// let mut export = ExportSearch::new(service, "search index=spoor", &SearchParams::window("-1h", "now"))?;
/// # #[allow(clippy::disallowed_methods)]
/// let now = std::time::Instant::now();
/// let Action::Send(request) = export.poll(now) else { panic!() };
/// assert_eq!(request.uri().path(), "/services/search/jobs/export");
///
/// // 200: the body is streamed in chunks as they arrive.
/// assert!(export.streams_body(http::StatusCode::OK));
/// export.handle_body_chunk(br#"{"preview":false,"offset":0,"result":{"event":"lo"#)?;
/// export.handle_body_chunk(b"gin\"}}\n")?;
/// export.handle_body_end(now);
/// let Some(Ok(ExportItem::Row(row))) = export.next_item() else { panic!() };
/// assert_eq!(row.get_str("event"), Some("login"));
/// assert!(matches!(export.poll(now), Action::Done(Ok(()))));
/// # Ok::<(), spoor_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct ExportSearch {
    /// The request up to a final reply, with the shared retry and re-login rules.
    call: Call<Response<Vec<u8>>>,
    decoder: ExportDecoder,
    streaming: bool,
    outcome: Option<Result<(), Error>>,
    finished: bool,
}

/// Keeps the final reply whole: [`ExportSearch`] decides what it means.
fn whole(response: &Response<Vec<u8>>) -> Result<Response<Vec<u8>>, Error> {
    Ok(response.clone())
}

impl ExportSearch {
    /// An export of `query` over the window in `params`.
    ///
    /// # Errors
    ///
    /// As [`Service::export_request`].
    pub fn new(service: Service, query: &str, params: &SearchParams) -> Result<Self, Error> {
        let request = service.export_request(query, params)?;
        Ok(Self {
            call: Call::new(service, request, whole),
            decoder: ExportDecoder::new(),
            streaming: false,
            outcome: None,
            finished: false,
        })
    }

    /// The next final row or message decoded so far.
    ///
    /// # Errors
    ///
    /// As [`ExportDecoder::next_item`].
    pub fn next_item(&mut self) -> Option<Result<ExportItem, Error>> {
        self.decoder.next_item()
    }

    fn done(&mut self, result: Result<(), Error>) -> Action<()> {
        self.finished = true;
        Action::Done(result)
    }
}

impl Machine for ExportSearch {
    type Output = ();

    fn poll(&mut self, now: Instant) -> Action<()> {
        if self.finished {
            return Action::Done(Err(Error::Finished));
        }
        if self.streaming {
            let outcome = self.outcome.take().unwrap_or(Ok(()));
            return self.done(outcome);
        }
        match self.call.poll(now) {
            Action::Send(request) => Action::Send(request),
            Action::Wait(until) => Action::Wait(until),
            // A driver that does not stream handed over the whole 2xx body.
            Action::Done(Ok(reply)) if reply.status().is_success() => {
                self.streaming = true;
                let pushed = self.decoder.push(reply.body());
                self.decoder.finish();
                self.done(pushed)
            }
            Action::Done(Ok(reply)) => {
                let error = crate::api_error(reply.status(), reply.body());
                self.done(Err(error))
            }
            Action::Done(Err(e)) => self.done(Err(e)),
        }
    }

    /// A whole reply: an error (retried and re-logged-in as every call is), or, from a
    /// driver that does not stream, the complete 2xx body.
    fn handle_response(&mut self, response: Response<Vec<u8>>, now: Instant) {
        self.call.handle_response(response, now);
    }

    /// Before the stream: retried as every call is. During it: ends the search.
    fn handle_transport_error(&mut self, error: Error, now: Instant) {
        if self.streaming {
            self.outcome = Some(Err(error));
        } else {
            self.call.handle_transport_error(error, now);
        }
    }

    fn service(&self) -> &Service {
        self.call.service()
    }

    /// A 2xx reply to the export request is the result stream (a login reply is not).
    fn streams_body(&self, status: StatusCode) -> bool {
        status.is_success() && !self.call.is_logging_in()
    }

    fn handle_body_chunk(&mut self, chunk: &[u8]) -> Result<(), Error> {
        self.streaming = true;
        self.decoder.push(chunk)
    }

    fn handle_body_end(&mut self, _now: Instant) {
        self.streaming = true;
        self.decoder.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{password_service, reply, t0};

    fn export() -> ExportSearch {
        let service = password_service(Some("old"));
        ExportSearch::new(service, "search x", &SearchParams::default()).unwrap()
    }

    #[test]
    fn errors_before_the_stream_get_relogin_and_splunks_text() {
        let mut e = export();
        let now = t0();
        let Action::Send(_) = e.poll(now) else {
            panic!()
        };
        e.handle_response(reply(401, ""), now);
        let Action::Send(login) = e.poll(now) else {
            panic!()
        };
        assert_eq!(login.uri().path(), "/services/auth/login");
        e.handle_response(
            reply(200, "<response><sessionKey>new</sessionKey></response>"),
            now,
        );
        let Action::Send(again) = e.poll(now) else {
            panic!()
        };
        assert_eq!(again.headers()["authorization"], "Splunk new");
        e.handle_response(
            reply(
                400,
                r#"{"messages":[{"type":"FATAL","text":"Unknown search command 'x'."}]}"#,
            ),
            now,
        );
        let Action::Done(Err(err)) = e.poll(now) else {
            panic!()
        };
        assert_eq!(
            err.to_string(),
            "splunk answered 400: FATAL Unknown search command 'x'."
        );
        assert_eq!(e.service().retry_policy(), crate::RetryPolicy::default());
    }

    #[test]
    fn a_whole_body_from_a_non_streaming_driver_is_decoded_too() {
        let mut e = export();
        let now = t0();
        let Action::Send(_) = e.poll(now) else {
            panic!()
        };
        let body = "{\"preview\":true,\"result\":{\"a\":\"0\"}}\n{\"preview\":false,\"result\":{\"a\":\"1\"}}";
        e.handle_response(reply(200, body), now);
        assert!(matches!(e.poll(now), Action::Done(Ok(()))));
        assert!(
            matches!(e.next_item(), Some(Ok(ExportItem::Row(r))) if r.get_str("a") == Some("1"))
        );
        assert!(e.next_item().is_none());
        assert!(matches!(e.poll(now), Action::Done(Err(Error::Finished))));
    }

    #[test]
    fn a_login_reply_is_read_whole_not_streamed() {
        let mut e = ExportSearch::new(password_service(None), "search x", &SearchParams::default())
            .unwrap();
        let now = t0();
        let Action::Send(login) = e.poll(now) else {
            panic!()
        };
        assert_eq!(login.uri().path(), "/services/auth/login");
        assert!(!e.streams_body(StatusCode::OK));
        e.handle_response(
            reply(200, "<response><sessionKey>k</sessionKey></response>"),
            now,
        );
        let Action::Send(export) = e.poll(now) else {
            panic!()
        };
        assert_eq!(export.uri().path(), "/services/search/jobs/export");
        assert!(e.streams_body(StatusCode::OK));
    }

    #[test]
    fn a_broken_stream_is_not_retried() {
        let mut e = export();
        let now = t0();
        let Action::Send(_) = e.poll(now) else {
            panic!()
        };
        e.handle_body_chunk(b"{\"result\":{\"a\":\"1\"}}\n")
            .unwrap();
        e.handle_transport_error(Error::transport(std::io::Error::other("reset")), now);
        assert!(matches!(e.next_item(), Some(Ok(ExportItem::Row(_)))));
        assert!(matches!(
            e.poll(now),
            Action::Done(Err(Error::Transport { .. }))
        ));
    }
}
