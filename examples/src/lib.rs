//! Programs that show spoor in use, each a binary of this package, run by its tests against
//! spoor's engine:
//!
//! - `track-http`: an HTTP server whose handler tracks an event per request with
//!   [`spoor::Tracker`], and shuts the tracker down, flushing every event, when it stops;
//! - `ask`: questions asked with [`spoor::Retriever`], answered as a table.
//!
//! Both take the Splunk (or engine) to talk to from the `SPLUNK_*` variables or `~/.splunkrc`,
//! as every spoor program does ([`config`]). The application that depends on `spoor-event`
//! alone, writing a file for a Splunk forwarder, is a package of its own beside this one
//! (`forwarder-file/`), outside the workspace.

/// The connection settings of Splunk or spoor's engine: `SPLUNK_HOST`, `SPLUNK_PORT`,
/// `SPLUNK_SCHEME`, `SPLUNK_USERNAME`, `SPLUNK_PASSWORD` (or `SPLUNK_TOKEN`), optionally
/// `SPLUNK_HEC_URL` and `SPLUNK_HEC_TOKEN`; else `~/.splunkrc`.
///
/// # Errors
///
/// When a setting is missing or not valid, naming it.
pub fn config() -> Result<spoor_proto::Config, spoor_proto::Error> {
    spoor_splunk::load_config(&spoor_proto::ConfigBuilder::new())
}
