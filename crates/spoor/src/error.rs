//! The one error type of the façades.

use std::fmt;

/// What went wrong in a tracker or a retriever.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Talking to Splunk failed, or Splunk refused; its own message is kept.
    Splunk(spoor_proto::Error),
    /// An index name or property key Splunk would refuse or change.
    InvalidName(String),
    /// A time window that ends before it starts.
    InvalidWindow(String),
    /// A page of a listing past what a listing holds ([`Page::MAX_END`](crate::Page::MAX_END)).
    InvalidPage(String),
    /// A funnel with too few or too many steps, or a conversion window out of bounds.
    InvalidFunnel(spoor_spl::build::FunnelError),
    /// An event that cannot be stored as given (nothing was queued).
    InvalidEvent(spoor_event::EventError),
    /// Splunk answered with rows of another shape than the question's.
    Answer(String),
    /// The answer is larger than a retriever builds (a retention of more cohorts and periods
    /// than [`MAX_RETENTION_CELLS`](crate::answer::MAX_RETENTION_CELLS)); the message says what
    /// to ask instead.
    TooLarge(String),
    /// The tracker's queue was full and its policy is to drop (the event is counted as
    /// dropped), or it stayed full longer than the policy waits.
    QueueFull,
    /// The tracker is shut down.
    ShutDown,
    /// A flush or shutdown ran out of time with events undelivered.
    FlushTimeout {
        /// Events still queued (for a flush) or given up (for a shutdown).
        pending: usize,
    },
    /// Setting up the index and sourcetype needs rights this login lacks.
    SetupDenied(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Splunk(_) => f.write_str("splunk call failed"),
            Self::InvalidName(why) | Self::InvalidWindow(why) | Self::InvalidPage(why) => {
                f.write_str(why)
            }
            Self::InvalidEvent(_) => f.write_str("invalid event; nothing was queued"),
            Self::InvalidFunnel(_) => f.write_str("invalid funnel"),
            Self::Answer(why) => write!(f, "unexpected answer: {why}"),
            Self::TooLarge(why) => f.write_str(why),
            Self::QueueFull => f.write_str(
                "the tracker's queue is full: the event was dropped (raise the queue size or let the backend catch up)",
            ),
            Self::ShutDown => f.write_str("the tracker is shut down"),
            Self::FlushTimeout { pending } => write!(
                f,
                "timed out with {pending} events undelivered (is the backend reachable?)"
            ),
            Self::SetupDenied(why) => write!(f, "cannot set up spoor's index and sourcetype: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Splunk(err) => Some(err),
            Self::InvalidEvent(err) => Some(err),
            Self::InvalidFunnel(err) => Some(err),
            _ => None,
        }
    }
}

impl From<spoor_proto::Error> for Error {
    fn from(err: spoor_proto::Error) -> Self {
        Self::Splunk(err)
    }
}

impl From<spoor_event::EventError> for Error {
    fn from(err: spoor_event::EventError) -> Self {
        Self::InvalidEvent(err)
    }
}

impl From<spoor_spl::build::FunnelError> for Error {
    fn from(err: spoor_spl::build::FunnelError) -> Self {
        Self::InvalidFunnel(err)
    }
}
