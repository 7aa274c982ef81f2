//! Where the command line's events go and its questions are asked: a Splunk deployment, or a
//! local data folder opened in this process and served on a loopback port of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use spoor_engine::Engine;
use spoor_engine::StoreError;
use spoor_engine::cli::{Context as _, Failure, SplunkArgs};
use spoor_engine::server::{Credentials, Running, Server, ServerOptions};
use spoor_proto::Config;

use crate::CliError;

/// The data folder used when neither `--splunk`, `--data` nor any Splunk setting
/// (`SPLUNK_HOST`, `SPLUNK_HEC_URL`, `SPLUNKRC`, `~/.splunkrc`) is given: the dashboard's.
pub const DEFAULT_DATA: &str = "spoor-data";

/// The connection flags every command takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectArgs {
    /// A Splunk deployment's settings.
    #[command(flatten)]
    pub splunk: SplunkArgs,
    /// A local data folder (created if missing): spoor's engine opened in this process, the
    /// folder the dashboard uses. The default when no Splunk is configured is ./spoor-data.
    /// A folder is open in one process at a time: while a dashboard runs on it, reach its
    /// engine with --splunk http://127.0.0.1:8089 instead.
    #[arg(long, value_name = "DIR", conflicts_with = "splunk")]
    pub data: Option<PathBuf>,
    /// The index events go to and questions read.
    #[arg(long, env = "SPOOR_INDEX", default_value = spoor::DEFAULT_INDEX, value_name = "NAME")]
    pub index: String,
}

/// Where a command talks to, kept open while it runs.
#[derive(Debug)]
pub struct Backend {
    /// The client settings (Splunk's, or the embedded engine's on its loopback port).
    pub config: Config,
    /// The index.
    pub index: String,
    /// The embedded engine and its server, when a data folder is used.
    embedded: Option<(Running, Arc<Engine>)>,
    /// The data folder, when one is used.
    data: Option<PathBuf>,
}

impl Backend {
    /// The backend the flags and the environment name (see [`ConnectArgs::data`]).
    ///
    /// ```
    /// use spoor_cli::connect::{Backend, ConnectArgs};
    ///
    /// let data = std::env::temp_dir().join(format!("spoor-cli-doc-{}", std::process::id()));
    /// let args = ConnectArgs { data: Some(data.clone()), index: "spoor".into(), ..Default::default() };
    /// let backend = Backend::open(&args)?;
    /// assert_eq!(backend.data(), Some(data.as_path()));
    /// assert!(backend.config.base_url().starts_with("http://127.0.0.1:"));
    /// drop(backend);
    /// # std::fs::remove_dir_all(&data)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CliError::Connect`] for a folder another process holds, [`CliError::Failed`] for
    /// settings that do not make a client or a folder that cannot be opened.
    pub fn open(args: &ConnectArgs) -> Result<Self, CliError> {
        let data = match (&args.splunk.splunk, &args.data) {
            (Some(_), _) => None,
            (None, Some(data)) => Some(data.clone()),
            (None, None) if splunk_configured() => None,
            (None, None) => Some(PathBuf::from(DEFAULT_DATA)),
        };
        match data {
            Some(data) => embedded(&data, &args.index),
            None => {
                let config = spoor_splunk::load_config(&args.splunk.layer()?)
                    .context("the splunk settings (flags, SPLUNK_* variables, ~/.splunkrc)")?;
                Ok(Self {
                    config,
                    index: args.index.clone(),
                    embedded: None,
                    data: None,
                })
            }
        }
    }

    /// The data folder, when the backend is the embedded engine.
    pub fn data(&self) -> Option<&Path> {
        self.data.as_deref()
    }

    /// Where the backend is, for messages: the URL, or the data folder.
    pub fn describe(&self) -> String {
        match &self.data {
            Some(data) => format!("the data folder {}", data.display()),
            None => self.config.base_url(),
        }
    }

    /// Makes sure the index and spoor's sourcetype exist (a tracker's setup).
    ///
    /// # Errors
    ///
    /// As [`CliError::splunk`].
    pub fn setup(&self) -> Result<(), CliError> {
        let tracker = spoor::Tracker::builder(&self.config, "spoor")
            .index(self.index.as_str())
            .build()
            .map_err(|e| self.error("making a client", e))?;
        let done = tracker.setup();
        let _ = tracker.shutdown(Duration::from_secs(1));
        done.map_err(|e| self.error(&format!("creating the index {:?}", self.index), e))
    }

    /// A Splunk error met while doing `what`, as [`CliError::splunk`] classifies it.
    pub fn error(
        &self,
        what: &str,
        err: impl std::error::Error + Send + Sync + 'static,
    ) -> CliError {
        CliError::splunk(what, &self.describe(), err)
    }

    /// Stops the embedded engine's server, every acknowledged event on disk; a no-op for
    /// Splunk.
    pub fn close(mut self) {
        if let Some((running, engine)) = self.embedded.take() {
            drop(running);
            drop(engine);
        }
    }
}

/// Whether the environment names a Splunk: `SPLUNK_HOST`, `SPLUNK_HEC_URL`, `SPLUNKRC` or a
/// `~/.splunkrc`.
fn splunk_configured() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    set("SPLUNK_HOST")
        || set("SPLUNK_HEC_URL")
        || set("SPLUNKRC")
        || std::env::var_os("HOME").is_some_and(|home| Path::new(&home).join(".splunkrc").is_file())
}

/// The engine on `data`, served on a loopback port of its own with the folder's credentials.
fn embedded(data: &Path, index: &str) -> Result<Backend, CliError> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("cannot create the data folder {}", data.display()))?;
    let (engine, report) = Engine::open(data).map_err(|err| match err {
        StoreError::InUse { holder, .. } => CliError::Connect {
            what: format!(
                "the data folder {} is open in another process{} (a dashboard or spoor-engine?); \
                 reach its engine with --splunk http://127.0.0.1:8089 and the credentials in \
                 {}, or stop it first",
                data.display(),
                holder.map(|pid| format!(" (id {pid})")).unwrap_or_default(),
                data.join("credentials.json").display()
            ),
            source: None,
        },
        other => CliError::Failed(Failure::caused(
            format!("cannot open the data folder {}", data.display()),
            other,
        )),
    })?;
    for damage in &report.damage {
        spoor_engine::cli::tell(format_args!("warning: {damage}"));
    }
    let engine = Arc::new(engine);
    let kept =
        Credentials::kept_in(data).context("cannot read or make the data folder's credentials")?;
    let listen = "127.0.0.1:0".parse().expect("a loopback address");
    let options = ServerOptions::new(kept.credentials).listen(listen);
    let running = Server::start(Arc::clone(&engine), options)
        .context("cannot start the embedded engine's server")?;
    let config = running
        .config()
        .build()
        .context("the embedded engine's client settings")?;
    Ok(Backend {
        config,
        index: index.to_owned(),
        embedded: Some((running, engine)),
        data: Some(data.to_owned()),
    })
}
