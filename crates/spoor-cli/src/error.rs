//! What can stop a command, and the exit code each gives.

use std::error::Error as StdError;
use std::fmt;

use spoor_engine::cli::Failure;

/// The exit codes, as `spoor --help` lists them.
pub mod exit {
    /// Everything went as asked (bad lines skipped under `--skip-bad` included).
    pub const SUCCESS: u8 = 0;
    /// A failure not named below (a search Splunk refused, a file that cannot be read…).
    pub const FAILURE: u8 = 1;
    /// The command line itself is wrong (clap's code for a usage error).
    pub const USAGE: u8 = 2;
    /// A bad input line under `import --strict`, or a bad event for `track`.
    pub const BAD_INPUT: u8 = 3;
    /// Splunk (or the engine) cannot be reached, refuses the credentials, or the data folder
    /// is held by another process.
    pub const CONNECT: u8 = 4;
    /// Stopped by Ctrl-C (what was acknowledged is kept; `import` resumes from there).
    pub const INTERRUPTED: u8 = 130;
}

/// Why a command stopped. Its message is lower-case and says what was wrong and what to do;
/// print it with its causes with [`spoor_engine::cli::Report`].
#[derive(Debug)]
#[non_exhaustive]
pub enum CliError {
    /// Arguments that make no sense together, or a value no flag takes.
    Usage(String),
    /// Input that is not an event: a line under `--strict`, a property of `track`.
    BadInput(String),
    /// Cannot reach the server, or it refuses the credentials.
    Connect {
        /// What was tried, and what to do.
        what: String,
        /// The error below.
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// Stopped by a signal.
    Interrupted(String),
    /// Anything else.
    Failed(Failure),
}

impl CliError {
    /// The process's exit code for this error (see [`exit`]).
    ///
    /// ```
    /// use spoor_cli::{CliError, exit};
    ///
    /// assert_eq!(CliError::BadInput("x".into()).exit_code(), exit::BAD_INPUT);
    /// ```
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => exit::USAGE,
            Self::BadInput(_) => exit::BAD_INPUT,
            Self::Connect { .. } => exit::CONNECT,
            Self::Interrupted(_) => exit::INTERRUPTED,
            Self::Failed(_) => exit::FAILURE,
        }
    }

    /// The error of a call to Splunk while doing `what`: a connection or credentials problem
    /// becomes [`CliError::Connect`] with what to check, anything else [`CliError::Failed`].
    pub fn splunk(what: &str, base_url: &str, err: impl StdError + Send + Sync + 'static) -> Self {
        match proto_error(&err) {
            Some(e) if e.is_unauthorized() => Self::Connect {
                what: format!(
                    "{base_url} refused the credentials while {what}; check --username and \
                     --password (or --token), SPLUNK_USERNAME and SPLUNK_PASSWORD, or \
                     ~/.splunkrc"
                ),
                source: Some(Box::new(err)),
            },
            Some(
                spoor_proto::Error::Transport { .. }
                | spoor_proto::Error::Tls { .. }
                | spoor_proto::Error::Timeout { .. },
            ) => Self::Connect {
                what: format!(
                    "cannot reach {base_url} while {what}; is splunk (or spoor's engine) \
                     running there? check --splunk, SPLUNK_HOST and SPLUNK_PORT, or use \
                     --data DIR for a local data folder"
                ),
                source: Some(Box::new(err)),
            },
            _ => Self::Failed(Failure::caused(format!("failed while {what}"), err)),
        }
    }
}

/// The `spoor_proto::Error` at or below `err`, if any.
fn proto_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a spoor_proto::Error> {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(found) = e.downcast_ref::<spoor_proto::Error>() {
            return Some(found);
        }
        cause = e.source();
    }
    None
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(m) | Self::BadInput(m) | Self::Interrupted(m) => f.write_str(m),
            Self::Connect { what, .. } => f.write_str(what),
            Self::Failed(failure) => fmt::Display::fmt(failure, f),
        }
    }
}

impl StdError for CliError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Connect { source, .. } => {
                source.as_deref().map(|e| e as &(dyn StdError + 'static))
            }
            Self::Failed(failure) => failure.source(),
            _ => None,
        }
    }
}

impl From<Failure> for CliError {
    fn from(failure: Failure) -> Self {
        Self::Failed(failure)
    }
}
