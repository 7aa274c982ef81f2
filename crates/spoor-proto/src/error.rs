//! The crate's one error type and Splunk's messages.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::hec::HecCode;

/// A boxed error from below this crate (a driver's transport, a TLS stack, a JSON parser).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong talking to Splunk.
///
/// Messages are lower-case without a trailing period; the cause of a wrapped error is in
/// [`source()`](StdError::source), never repeated in `Display`.
/// No variant ever holds a password, session key or token.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Splunk answered with an error status; `messages` is its `<msg>` / `messages[]` text.
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// Splunk's messages, in order (may be empty when the body had none).
        messages: Vec<Message>,
    },
    /// The HTTP Event Collector refused a request.
    Hec {
        /// The HTTP status.
        status: StatusCode,
        /// HEC's reply code.
        code: HecCode,
        /// HEC's reply text.
        text: String,
        /// The 0-based index of the offending event in a batch, when HEC names one.
        invalid_event_number: Option<u64>,
    },
    /// A search job ended in the `FAILED` state (or reported `isFailed`).
    JobFailed {
        /// The job's search id.
        sid: String,
        /// Splunk's messages about the failure.
        messages: Vec<Message>,
    },
    /// The connection failed below HTTP (DNS, connect, reset); produced by drivers.
    Transport {
        /// What the driver reported.
        source: BoxError,
    },
    /// TLS setup or handshake failed; produced by drivers.
    Tls {
        /// What the TLS stack reported.
        source: BoxError,
    },
    /// An operation did not finish within its time limit.
    Timeout {
        /// What timed out, e.g. `"search job"`.
        what: &'static str,
        /// The limit that was exceeded.
        limit: Duration,
    },
    /// A response body did not have the shape Splunk documents.
    Parse {
        /// What was being parsed, e.g. `"login response"`.
        what: &'static str,
        /// The underlying parser error, when there is one.
        source: Option<BoxError>,
    },
    /// The configuration is incomplete or a value is malformed.
    Config {
        /// What is wrong, naming the key but never a secret value.
        message: String,
    },
    /// A name Splunk would refuse (e.g. an index name with upper-case letters).
    InvalidName {
        /// What kind of name, e.g. `"index"`.
        kind: &'static str,
        /// The name given.
        name: String,
    },
    /// A state machine was polled again after it returned `Done`.
    Finished,
    /// A single HEC event envelope is larger than the batch byte cap.
    EventTooLarge {
        /// The envelope's size in bytes.
        size: usize,
        /// The cap in bytes.
        cap: usize,
    },
}

impl Error {
    /// A transport error from a driver.
    pub fn transport(source: impl Into<BoxError>) -> Self {
        Self::Transport {
            source: source.into(),
        }
    }

    /// A TLS error from a driver.
    pub fn tls(source: impl Into<BoxError>) -> Self {
        Self::Tls {
            source: source.into(),
        }
    }

    pub(crate) fn parse(what: &'static str) -> Self {
        Self::Parse { what, source: None }
    }

    pub(crate) fn parse_with(what: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Parse {
            what,
            source: Some(source.into()),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Config {
            message: message.into(),
        }
    }

    /// The HTTP status Splunk answered with, for [`Error::Api`] and [`Error::Hec`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. } | Self::Hec { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Splunk's messages carried by this error (empty for errors that have none).
    pub fn messages(&self) -> &[Message] {
        match self {
            Self::Api { messages, .. } | Self::JobFailed { messages, .. } => messages,
            _ => &[],
        }
    }

    /// Whether trying the same thing later may succeed: transport failures, time-outs,
    /// 408, 429 and 5xx replies, and HEC's busy or unhealthy codes. (The machines already
    /// retried these; this is for callers deciding whether to keep data for later.)
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::Timeout { .. } => true,
            Self::Api { status, .. } => crate::retry::RetryPolicy::is_retryable(*status),
            Self::Hec { code, .. } => code.is_transient(),
            _ => false,
        }
    }

    /// Whether Splunk refused the credentials (HTTP 401).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// Whether the object asked for does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api { status, messages } => {
                write!(f, "splunk answered {}", status.as_u16())?;
                write_messages(f, messages)
            }
            Self::Hec {
                status,
                code,
                text,
                invalid_event_number,
            } => {
                write!(
                    f,
                    "http event collector answered {} (code {}",
                    status.as_u16(),
                    code.as_u16()
                )?;
                if let Some(n) = invalid_event_number {
                    write!(f, ", event {n}")?;
                }
                write!(f, "): {text}")
            }
            Self::JobFailed { sid, messages } => {
                write!(f, "search job {sid} failed")?;
                write_messages(f, messages)
            }
            Self::Transport { .. } => f.write_str("transport error"),
            Self::Tls { .. } => f.write_str("tls error"),
            Self::Timeout { what, limit } => {
                write!(f, "{what} timed out after {:.3}s", limit.as_secs_f64())
            }
            Self::Parse { what, .. } => write!(f, "invalid {what}"),
            Self::Config { message } => write!(f, "invalid configuration: {message}"),
            Self::InvalidName { kind, name } => write!(f, "{name:?} is not a valid {kind} name"),
            Self::Finished => f.write_str("the operation has already finished"),
            Self::EventTooLarge { size, cap } => {
                write!(
                    f,
                    "event of {size} bytes exceeds the batch cap of {cap} bytes"
                )
            }
        }
    }
}

fn write_messages(f: &mut fmt::Formatter<'_>, messages: &[Message]) -> fmt::Result {
    for (i, m) in messages.iter().enumerate() {
        f.write_str(if i == 0 { ": " } else { "; " })?;
        write!(f, "{} {}", m.level, m.text)?;
    }
    Ok(())
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Transport { source } | Self::Tls { source } => Some(source.as_ref()),
            Self::Parse {
                source: Some(source),
                ..
            } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// A message Splunk attached to a response: `<msg type="WARN">Login failed</msg>` or
/// `{"type":"WARN","text":"Login failed"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The level (`type` attribute or key).
    pub level: Level,
    /// The optional machine-readable `code` (e.g. `incorrect_username_or_password`).
    pub code: Option<String>,
    /// The text, as Splunk wrote it.
    pub text: String,
}

impl Message {
    /// A message with a level and text and no code.
    pub fn new(level: Level, text: impl Into<String>) -> Self {
        Self {
            level,
            code: None,
            text: text.into(),
        }
    }
}

/// The level of a [`Message`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Level {
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
    /// `FATAL`.
    Fatal,
    /// Any other level, upper-cased as received (empty when absent).
    Other(String),
}

impl Level {
    /// Reads a level as Splunk writes it; case-insensitive.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "DEBUG" => Self::Debug,
            "INFO" => Self::Info,
            "WARN" | "WARNING" => Self::Warn,
            "ERROR" => Self::Error,
            "FATAL" => Self::Fatal,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The level as Splunk writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
            Self::Fatal => "FATAL",
            Self::Other(s) => s,
        }
    }

    /// Whether the level reports a failure (`ERROR` or `FATAL`).
    pub fn is_error(&self) -> bool {
        matches!(self, Self::Error | Self::Fatal)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_lower_case_and_keeps_splunk_text() {
        let e = Error::Api {
            status: StatusCode::NOT_FOUND,
            messages: vec![Message::new(Level::Fatal, "Unknown sid.")],
        };
        assert_eq!(e.to_string(), "splunk answered 404: FATAL Unknown sid.");
        assert!(e.is_not_found());
        let e = Error::transport(std::io::Error::other("reset"));
        assert_eq!(e.to_string(), "transport error");
        assert!(e.is_transient());
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("reset")
        );
    }

    #[test]
    fn levels_round_trip() {
        for s in ["DEBUG", "INFO", "WARN", "ERROR", "FATAL", "NOTICE"] {
            assert_eq!(Level::parse(s).as_str(), s);
        }
        assert_eq!(Level::parse("warn"), Level::Warn);
        assert!(Level::Fatal.is_error());
    }
}
