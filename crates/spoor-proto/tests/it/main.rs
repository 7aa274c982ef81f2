//! Integration tests: the public API against the response bodies in `fixtures/splunk/`.

mod export;
mod flows;
mod hec;
mod parsers;

/// A fixture body, compiled in.
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../fixtures/", $name))
    };
}
pub(crate) use fixture;

/// A response with this status and body.
pub(crate) fn reply(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .expect("valid response")
}
