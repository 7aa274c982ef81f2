//! What a Splunk server writes back: the bodies of its replies, in both output modes, for a
//! server that stands in for Splunk (spoor's engine).
//!
//! Each writer produces the exact shape the parsers of this crate, and Splunk's own SDKs,
//! read: XML (the default output mode) with Splunk's quirks kept (single-quoted attributes in
//! results, the `s:` namespace in Atom), and JSON on a single line (the Python SDK's
//! `JSONResultsReader` reads JSON line by line).
//!
//! ```
//! use spoor_proto::reply::{self, OutputMode};
//! use spoor_proto::{Level, Message};
//!
//! let body = reply::messages(OutputMode::Json, &[Message::new(Level::Fatal, "Unknown sid.")]);
//! assert_eq!(body, br#"{"messages":[{"type":"FATAL","text":"Unknown sid."}]}"#);
//!
//! // And this crate reads it back as Splunk's error.
//! let response = http::Response::builder().status(404).body(body)?;
//! let err = spoor_proto::check(&response).unwrap_err();
//! assert_eq!(err.to_string(), "splunk answered 404: FATAL Unknown sid.");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod feed;
mod job;
mod results;

use std::fmt::Write as _;

pub use feed::{Content, Entry, Feed, job_entry};
pub use job::Job;
pub use results::{ExportWriter, Table, results};

use crate::error::Message;
use crate::hec::HecCode;

/// The two output modes a reply can be written in (`output_mode=xml|json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputMode {
    /// XML: Atom feeds, `<response>` documents, `<results>`; Splunk's default.
    #[default]
    Xml,
    /// JSON, on one line.
    Json,
}

impl OutputMode {
    /// The mode a request's `output_mode` parameter names; `None` (absent) is XML. An unknown
    /// name is given back as the error, for Splunk's `400` reply.
    ///
    /// ```
    /// use spoor_proto::reply::OutputMode;
    ///
    /// assert_eq!(OutputMode::from_param(None), Ok(OutputMode::Xml));
    /// assert_eq!(OutputMode::from_param(Some("json")), Ok(OutputMode::Json));
    /// assert_eq!(OutputMode::from_param(Some("yaml")), Err("yaml"));
    /// ```
    pub fn from_param(value: Option<&str>) -> Result<Self, &str> {
        match value {
            None | Some("" | "xml" | "atom") => Ok(Self::Xml),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(other),
        }
    }

    /// The `Content-Type` of a reply in this mode.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Xml => "text/xml; charset=UTF-8",
            Self::Json => "application/json; charset=UTF-8",
        }
    }
}

/// The headers Splunk's REST port puts on every reply (besides `Content-Type`).
pub const COMMON_HEADERS: [(&str, &str); 6] = [
    ("server", "Splunkd"),
    ("expires", "Thu, 26 Oct 1978 00:00:00 GMT"),
    (
        "cache-control",
        "no-store, must-revalidate, no-cache, max-age=0",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "SAMEORIGIN"),
    ("vary", "Cookie, Authorization"),
];

/// A value inside an entry's content: typed, because Splunk's JSON is typed (`true`, `3`,
/// `null`) where its XML writes text (`1`, `3`, an empty key).
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A number with a fraction; XML writes it with five decimals, as Splunk does for
    /// `doneProgress`.
    Num(f64),
    /// A boolean: `1`/`0` in XML, `true`/`false` in JSON.
    Bool(bool),
    /// A list.
    List(Vec<Self>),
    /// A dictionary, keys in order.
    Dict(Vec<(String, Self)>),
    /// No value: an empty key in XML, `null` in JSON.
    Null,
}

impl From<&str> for Item {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Item {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<bool> for Item {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<i64> for Item {
    fn from(n: i64) -> Self {
        Self::Int(n)
    }
}

impl From<u64> for Item {
    fn from(n: u64) -> Self {
        i64::try_from(n).map_or(Self::Num(n as f64), Self::Int)
    }
}

/// `<response><messages><msg type="…">…</msg></messages></response>` or
/// `{"messages":[{"type":…,"text":…}]}`: Splunk's body for errors and notices.
pub fn messages(mode: OutputMode, messages: &[Message]) -> Vec<u8> {
    let mut out = String::new();
    match mode {
        OutputMode::Xml => {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n  <messages>\n");
            for m in messages {
                xml_msg(&mut out, "    ", m);
            }
            out.push_str("  </messages>\n</response>\n");
        }
        OutputMode::Json => {
            out.push_str("{\"messages\":");
            json_messages(&mut out, messages);
            out.push('}');
        }
    }
    out.into_bytes()
}

/// The reply to `auth/login`: the session key.
///
/// ```
/// use spoor_proto::reply::{self, OutputMode};
///
/// let body = reply::login(OutputMode::Xml, "k3y");
/// let key = spoor_proto::rest::parse_login(&http::Response::new(body))?;
/// assert_eq!(key.expose(), "k3y");
/// # Ok::<(), spoor_proto::Error>(())
/// ```
pub fn login(mode: OutputMode, session_key: &str) -> Vec<u8> {
    let mut out = String::new();
    match mode {
        OutputMode::Xml => {
            out.push_str("<response>\n  <sessionKey>");
            xml_text(&mut out, session_key);
            out.push_str("</sessionKey>\n  <messages>\n    <msg code=\"\"></msg>\n  </messages>\n</response>\n");
        }
        OutputMode::Json => {
            out.push_str("{\"sessionKey\":");
            json_str(&mut out, session_key);
            out.push_str(",\"message\":\"\",\"code\":\"\"}");
        }
    }
    out.into_bytes()
}

/// The reply to creating a search job: its id.
pub fn sid(mode: OutputMode, sid: &str) -> Vec<u8> {
    let mut out = String::new();
    match mode {
        OutputMode::Xml => {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n  <sid>");
            xml_text(&mut out, sid);
            out.push_str("</sid>\n</response>\n");
        }
        OutputMode::Json => {
            out.push_str("{\"sid\":");
            json_str(&mut out, sid);
            out.push('}');
        }
    }
    out.into_bytes()
}

/// What `receivers/simple` and `receivers/stream` say about the text they stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt<'a> {
    /// The index written to.
    pub index: &'a str,
    /// The bytes received.
    pub bytes: u64,
    /// The host the events were given.
    pub host: &'a str,
    /// Their source.
    pub source: &'a str,
    /// Their sourcetype.
    pub sourcetype: &'a str,
}

/// The reply to `receivers/simple`.
///
/// ```
/// use spoor_proto::reply::{self, OutputMode, Receipt};
///
/// let receipt = Receipt { index: "spoor", bytes: 40, host: "h", source: "http-simple", sourcetype: "spoor" };
/// let parsed = spoor_proto::rest::parse_submit_receipt(&http::Response::new(reply::receipt(OutputMode::Xml, &receipt)))?;
/// assert_eq!((parsed.index.as_str(), parsed.bytes), ("spoor", 40));
/// # Ok::<(), spoor_proto::Error>(())
/// ```
pub fn receipt(mode: OutputMode, receipt: &Receipt<'_>) -> Vec<u8> {
    let bytes = receipt.bytes.to_string();
    let pairs = [
        ("_index", receipt.index),
        ("bytes", bytes.as_str()),
        ("host", receipt.host),
        ("source", receipt.source),
        ("sourcetype", receipt.sourcetype),
    ];
    let mut out = String::new();
    match mode {
        OutputMode::Xml => {
            out.push_str(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n  <results>\n    <result>\n",
            );
            for (k, v) in pairs {
                out.push_str("      <field k=\"");
                xml_text(&mut out, k);
                out.push_str("\">\n        <value>\n          <text>");
                xml_text(&mut out, v);
                out.push_str("</text>\n        </value>\n      </field>\n");
            }
            out.push_str("    </result>\n  </results>\n</response>\n");
        }
        OutputMode::Json => {
            out.push_str("{\"index\":");
            json_str(&mut out, receipt.index);
            let _ = write!(out, ",\"bytes\":{}", receipt.bytes);
            for (k, v) in &pairs[2..] {
                out.push(',');
                json_str(&mut out, k);
                out.push(':');
                json_str(&mut out, v);
            }
            out.push('}');
        }
    }
    out.into_bytes()
}

/// The HTTP status HEC answers a code with.
pub fn hec_status(code: HecCode) -> u16 {
    match code {
        HecCode::Success | HecCode::Healthy => 200,
        HecCode::TokenRequired | HecCode::InvalidAuthorization => 401,
        HecCode::TokenDisabled | HecCode::InvalidToken => 403,
        HecCode::InternalServerError => 500,
        HecCode::ServerBusy
        | HecCode::QueuesFull
        | HecCode::AckUnavailable
        | HecCode::QueuesFullAckUnavailable => 503,
        _ => 400,
    }
}

/// The text HEC gives with a code.
pub fn hec_text(code: HecCode) -> &'static str {
    match code {
        HecCode::Success => "Success",
        HecCode::TokenDisabled | HecCode::TokenDisabledAlt => "Token disabled",
        HecCode::TokenRequired => "Token is required",
        HecCode::InvalidAuthorization => "Invalid authorization",
        HecCode::InvalidToken | HecCode::InvalidTokenAlt => "Invalid token",
        HecCode::NoData => "No data",
        HecCode::InvalidDataFormat => "Invalid data format",
        HecCode::IncorrectIndex => "Incorrect index",
        HecCode::InternalServerError => "Internal server error",
        HecCode::ServerBusy => "Server is busy",
        HecCode::DataChannelMissing => "Data channel is missing",
        HecCode::InvalidDataChannel => "Invalid data channel",
        HecCode::EventFieldRequired => "Event field is required",
        HecCode::EventFieldBlank => "Event field cannot be blank",
        HecCode::AckDisabled => "ACK is disabled",
        HecCode::IndexedFieldsError => "Error in handling indexed fields",
        HecCode::QueryStringAuthorizationDisabled => "Query string authorization is not enabled",
        HecCode::Healthy => "HEC is healthy",
        HecCode::QueuesFull => "HEC is unhealthy, queues are full",
        HecCode::AckUnavailable => "HEC is unhealthy, ack service unavailable",
        HecCode::QueuesFullAckUnavailable => {
            "HEC is unhealthy, queues are full, ack service unavailable"
        }
        HecCode::Other(_) => "Unknown error",
    }
}

/// HEC's reply: `{"text":…,"code":n}`, with the failing event's number for a bad batch and the
/// acknowledgement id when the channel acknowledges.
///
/// ```
/// use spoor_proto::hec::{self, HecCode};
/// use spoor_proto::reply;
///
/// let body = reply::hec(HecCode::InvalidDataFormat, Some(2), None);
/// assert_eq!(body, br#"{"text":"Invalid data format","code":6,"invalid-event-number":2}"#);
/// let response = http::Response::builder().status(reply::hec_status(HecCode::InvalidDataFormat)).body(body)?;
/// assert_eq!(hec::parse_event_reply(&response).unwrap_err().status().map(|s| s.as_u16()), Some(400));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn hec(code: HecCode, invalid_event_number: Option<u64>, ack_id: Option<u64>) -> Vec<u8> {
    hec_body(code, hec_text(code), invalid_event_number, ack_id)
}

/// HEC's reply with a text of the server's own for the code (a refused request's reason).
///
/// ```
/// use spoor_proto::hec::HecCode;
///
/// let body = spoor_proto::reply::hec_with_text(HecCode::InvalidDataFormat, "too large");
/// assert_eq!(body, br#"{"text":"too large","code":6}"#);
/// ```
pub fn hec_with_text(code: HecCode, text: &str) -> Vec<u8> {
    hec_body(code, text, None, None)
}

fn hec_body(
    code: HecCode,
    text: &str,
    invalid_event_number: Option<u64>,
    ack_id: Option<u64>,
) -> Vec<u8> {
    let mut out = String::from("{\"text\":");
    json_str(&mut out, text);
    let _ = write!(out, ",\"code\":{}", code.as_u16());
    if let Some(n) = invalid_event_number {
        let _ = write!(out, ",\"invalid-event-number\":{n}");
    }
    if let Some(id) = ack_id {
        let _ = write!(out, ",\"ackId\":{id}");
    }
    out.push('}');
    out.into_bytes()
}

/// The reply to an acknowledgement poll: `{"acks":{"0":true,"1":false}}`.
pub fn hec_acks(acks: &[(u64, bool)]) -> Vec<u8> {
    let mut out = String::from("{\"acks\":{");
    for (i, (id, done)) in acks.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{id}\":{done}");
    }
    out.push_str("}}");
    out.into_bytes()
}

pub(crate) fn xml_msg(out: &mut String, indent: &str, m: &Message) {
    out.push_str(indent);
    out.push_str("<msg type=\"");
    xml_text(out, m.level.as_str());
    out.push('"');
    if let Some(code) = &m.code {
        out.push_str(" code=\"");
        xml_text(out, code);
        out.push('"');
    }
    out.push('>');
    xml_text(out, &m.text);
    out.push_str("</msg>\n");
}

pub(crate) fn json_messages(out: &mut String, messages: &[Message]) {
    out.push('[');
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"type\":");
        json_str(out, m.level.as_str());
        if let Some(code) = &m.code {
            out.push_str(",\"code\":");
            json_str(out, code);
        }
        out.push_str(",\"text\":");
        json_str(out, &m.text);
        out.push('}');
    }
    out.push(']');
}

/// Escapes text for an XML element or a quoted attribute (either quote). Characters XML 1.0
/// cannot carry at all (most C0 controls) become U+FFFD, so the document stays well-formed.
pub(crate) fn xml_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// Writes a JSON string (quotes included); never a raw line break, so one reply is one line.
pub(crate) fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Level;

    #[test]
    fn messages_read_back_in_both_modes() {
        let m = [Message::new(Level::Warn, "call not properly authenticated")];
        for mode in [OutputMode::Xml, OutputMode::Json] {
            let body = messages(mode, &m);
            let response = http::Response::builder().status(401).body(body).unwrap();
            let err = crate::check(&response).unwrap_err();
            assert!(err.is_unauthorized());
            assert_eq!(err.messages(), &m);
        }
    }

    #[test]
    fn hec_bodies_read_back() {
        let body = hec(HecCode::Success, None, Some(7));
        let reply = crate::hec::parse_event_reply(&http::Response::new(body)).unwrap();
        assert_eq!((reply.code, reply.ack_id), (HecCode::Success, Some(7)));
        let acks =
            crate::hec::parse_ack_reply(&http::Response::new(hec_acks(&[(0, true), (1, false)])))
                .unwrap();
        assert_eq!(acks.len(), 2);
        for n in 0..=22 {
            let code = HecCode::from_u16(n);
            assert!(!hec_text(code).is_empty());
            assert!((200..600).contains(&hec_status(code)));
        }
    }

    #[test]
    fn escaping_keeps_documents_well_formed_and_one_line() {
        let mut x = String::new();
        xml_text(&mut x, "<a href='x'>&\"\u{1}</a>");
        assert_eq!(
            x,
            "&lt;a href=&apos;x&apos;&gt;&amp;&quot;\u{FFFD}&lt;/a&gt;"
        );
        let mut j = String::new();
        json_str(&mut j, "a\nb\"\u{2028}\u{7}");
        assert_eq!(j, "\"a\\nb\\\"\\u2028\\u0007\"");
        let back: String = serde_json::from_str(&j).unwrap();
        assert_eq!(back, "a\nb\"\u{2028}\u{7}");
    }
}
