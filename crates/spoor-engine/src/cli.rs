//! What spoor's command-line programs share: an error printed with its whole chain of causes,
//! logging that writes colour only to a terminal, a plain error type with context for a
//! program's own failures, and the flags that reach a Splunk deployment ([`SplunkArgs`]).
//!
//! ```
//! use std::io;
//! use spoor_engine::cli::{Context as _, Report};
//!
//! let opened: Result<(), io::Error> = Err(io::Error::from(io::ErrorKind::PermissionDenied));
//! let err = opened.context("cannot open the data folder ./data").unwrap_err();
//! assert_eq!(
//!     Report(&err).to_string(),
//!     "cannot open the data folder ./data: permission denied",
//! );
//! ```

use std::error::Error;
use std::fmt;
use std::io::{IsTerminal as _, Write as _};

/// Writes a line to standard output, for a person or a script reading it. Unlike `println!`,
/// it never panics: a long-running program whose reader has gone (`| head -1`, a test that read
/// what it needed) goes on serving.
pub fn say(line: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// As [`say`], to standard error: warnings and progress.
pub fn tell(line: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// An error and its causes on one line, `what: why: deeper why`, as a person reads them.
///
/// A cause whose text the line already holds (an error that prints its source in its own
/// message) is not repeated.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(err) = cause {
            let text = err.to_string();
            if !text.is_empty() && !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            cause = err.source();
        }
        f.write_str(&line)
    }
}

/// A program's failure: what it was doing, and the error that stopped it, if any.
#[derive(Debug)]
pub struct Failure {
    what: String,
    cause: Option<Box<dyn Error + Send + Sync + 'static>>,
}

impl Failure {
    /// A failure with no deeper cause.
    pub fn new(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            cause: None,
        }
    }

    /// A failure caused by `cause`.
    pub fn caused(what: impl Into<String>, cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self {
            what: what.into(),
            cause: Some(cause.into()),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl Error for Failure {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// Adds what was being done to an error, keeping it as the cause.
pub trait Context<T> {
    /// Wraps the error in a [`Failure`] saying what was being done.
    ///
    /// # Errors
    ///
    /// The wrapped error, when `self` is one.
    fn context(self, what: impl Into<String>) -> Result<T, Failure>;

    /// As [`Context::context`], the text made only on failure.
    ///
    /// # Errors
    ///
    /// The wrapped error, when `self` is one.
    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, Failure>;
}

impl<T, E: Error + Send + Sync + 'static> Context<T> for Result<T, E> {
    fn context(self, what: impl Into<String>) -> Result<T, Failure> {
        self.map_err(|e| Failure::caused(what, e))
    }

    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T, Failure> {
        self.map_err(|e| Failure::caused(what(), e))
    }
}

/// The flags that reach a Splunk deployment, as every spoor program takes them (flattened
/// into its own with `#[command(flatten)]`): the layer of settings above `SPLUNK_*` variables
/// and `~/.splunkrc`.
///
/// ```
/// use clap::Parser;
/// use spoor_engine::cli::SplunkArgs;
///
/// #[derive(Parser)]
/// struct Args {
///     #[command(flatten)]
///     splunk: SplunkArgs,
/// }
///
/// let args = Args::parse_from(["prog", "--splunk", "http://127.0.0.1:18089", "--username", "me", "--password", "pw"]);
/// let config = args.splunk.layer()?.build()?;
/// assert_eq!(config.base_url(), "http://127.0.0.1:18089");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SplunkArgs {
    /// Use this Splunk deployment (`https://host:8089`) instead of the embedded engine.
    /// Credentials come from the flags below, `SPLUNK_*` variables or `~/.splunkrc`.
    #[arg(long, value_name = "URL")]
    pub splunk: Option<String>,
    /// Splunk user name.
    #[arg(long)]
    pub username: Option<String>,
    /// Splunk password (better given as SPLUNK_PASSWORD).
    #[arg(long)]
    pub password: Option<String>,
    /// Splunk bearer token (better given as SPLUNK_TOKEN).
    #[arg(long)]
    pub token: Option<String>,
    /// HEC URL (`https://host:8088`).
    #[arg(long, value_name = "URL")]
    pub hec_url: Option<String>,
    /// HEC token (better given as SPLUNK_HEC_TOKEN).
    #[arg(long)]
    pub hec_token: Option<String>,
    /// PEM file of a CA to trust for Splunk's certificate (e.g. Splunk's cacert.pem).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<std::path::PathBuf>,
    /// Do not verify Splunk's TLS certificate (only for a test deployment).
    #[arg(long)]
    pub insecure: bool,
}

impl SplunkArgs {
    /// The settings the flags give (`--splunk`'s URL, when given, for the scheme, host and
    /// port), to be layered over the environment's (`spoor_splunk::load_config`).
    ///
    /// # Errors
    ///
    /// A [`Failure`] for a malformed `--splunk` URL or a `--ca` file that cannot be read.
    pub fn layer(&self) -> Result<spoor_proto::ConfigBuilder, Failure> {
        let mut builder = spoor_proto::ConfigBuilder::new();
        if let Some(url) = &self.splunk {
            builder.url(url).context("--splunk")?;
        }
        if let Some(u) = &self.username {
            builder.username(u.clone());
        }
        if let Some(p) = &self.password {
            builder.password(p.clone());
        }
        if let Some(t) = &self.token {
            builder.token(t.clone());
        }
        if let Some(h) = &self.hec_url {
            builder.hec_url(h.clone());
        }
        if let Some(t) = &self.hec_token {
            builder.hec_token(t.clone());
        }
        if let Some(ca) = &self.ca {
            let pem = std::fs::read_to_string(ca)
                .with_context(|| format!("cannot read --ca {}", ca.display()))?;
            builder.ca_pem(pem);
        }
        if self.insecure {
            builder.verify_tls(false);
        }
        Ok(builder)
    }
}

/// Whether to write colour to standard error: only to a terminal, and never when `NO_COLOR` is
/// set (<https://no-color.org>).
pub fn stderr_has_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Sends `tracing`'s events to standard error, filtered by `RUST_LOG` (default `default_filter`),
/// coloured only on a terminal. Call once, at the start of `main`.
pub fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(stderr_has_colour())
        .with_writer(std::io::stderr)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn a_chain_prints_every_cause_once() {
        let inner = io::Error::new(io::ErrorKind::AddrInUse, "address already in use");
        let outer = Failure::caused("cannot listen on 127.0.0.1:8089", inner);
        let top = Failure::caused("cannot start the engine", outer);
        assert_eq!(
            Report(&top).to_string(),
            "cannot start the engine: cannot listen on 127.0.0.1:8089: address already in use"
        );
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let inner = io::Error::other("disk full");
        let outer = Failure::caused("cannot write: disk full", inner);
        assert_eq!(Report(&outer).to_string(), "cannot write: disk full");
    }
}
