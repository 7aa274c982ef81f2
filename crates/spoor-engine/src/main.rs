//! `spoor-engine`: spoor's embedded engine as a server that answers Splunk's REST and HEC
//! calls, so Splunk clients (spoor's, Splunk's SDKs, HEC loggers) can use it in place of Splunk.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use spoor_engine::Engine;
use spoor_engine::cli::{Failure, Report, say, tell};
use spoor_engine::server::{
    Credentials, Limits, Listeners, Server, ServerOptions, shutdown_signal, tls,
};

/// spoor's engine behind Splunk's REST API and HTTP Event Collector.
///
/// With no credentials given it creates an admin password and an HEC token once, keeps them
/// in DATA/credentials.json (readable by its owner only) and prints where they are.
#[derive(Debug, Parser)]
#[command(name = "spoor-engine", version)]
struct Args {
    /// The data folder (created if missing).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Where the REST API listens.
    #[arg(long, default_value = "127.0.0.1:8089", value_name = "ADDR")]
    listen: SocketAddr,
    /// Also serve HEC on this address (Splunk's HEC port is 8088).
    #[arg(long, value_name = "ADDR")]
    hec_listen: Option<SocketAddr>,
    /// TLS certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve TLS with a certificate made at start (clients must trust it or not verify).
    #[arg(long)]
    tls_self_signed: bool,
    /// The admin's user name.
    #[arg(long, env = "SPOOR_ENGINE_USERNAME", default_value = "admin")]
    username: String,
    /// The admin's password (better given in the environment than on the command line).
    #[arg(long, env = "SPOOR_ENGINE_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// An HEC token to accept.
    #[arg(long, env = "SPOOR_ENGINE_HEC_TOKEN", hide_env_values = true)]
    hec_token: Option<String>,
    /// A bearer token to accept.
    #[arg(long, env = "SPOOR_ENGINE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The version `server/info` reports (clients pick the search API by it).
    #[arg(long, default_value = "9.4.0")]
    server_version: String,
    /// Give HEC acknowledgement ids (clients must then send a channel).
    #[arg(long)]
    hec_acks: bool,
    /// Largest HEC request body, in bytes.
    #[arg(long, default_value_t = Limits::default().max_hec_body_bytes)]
    max_hec_body_bytes: usize,
    /// Searches running at once.
    #[arg(long, default_value_t = Limits::default().max_searches)]
    max_searches: usize,
    /// Memory for search results across all jobs, in bytes (finished jobs are dropped, least
    /// recently used first, to make room; a search that still does not fit fails with 503).
    #[arg(long, default_value_t = Limits::default().max_result_bytes)]
    max_result_bytes: usize,
    /// Rows one results page holds at most (Splunk's maxresultrows).
    #[arg(long, default_value_t = Limits::default().max_result_rows)]
    max_result_rows: usize,
    /// Bytes one results page holds at most, as written.
    #[arg(long, default_value_t = Limits::default().max_reply_bytes)]
    max_reply_bytes: usize,
    /// Connections open at once, in all.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Connections open at once from one client address.
    #[arg(long, default_value_t = Limits::default().max_connections_per_client)]
    max_connections_per_client: usize,
    /// Seconds a client may take to send a request's head (or stay idle between requests).
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().head_timeout.as_secs())]
    head_timeout: u64,
    /// Seconds a request body may take, plus one for each --min-body-rate bytes received.
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().body_timeout.as_secs())]
    body_timeout: u64,
    /// Bytes a second a body must keep up past --body-timeout (0: a deadline for the whole body).
    #[arg(long, default_value_t = Limits::default().min_body_rate)]
    min_body_rate: usize,
    /// Failed logins (or tokens) within --lockout-threshold-mins that lock out the user or the
    /// client address (0: never).
    #[arg(long, default_value_t = Limits::default().lockout_attempts)]
    lockout_attempts: u32,
    /// Minutes failed attempts are counted in.
    #[arg(long, default_value_t = Limits::default().lockout_window.as_secs() / 60)]
    lockout_threshold_mins: u64,
    /// Minutes a lockout lasts.
    #[arg(long, default_value_t = Limits::default().lockout_duration.as_secs() / 60)]
    lockout_mins: u64,
}

/// The credentials from flags or the environment; else those kept in the data folder, made
/// the first time.
fn credentials(args: &Args) -> io::Result<Credentials> {
    let mut credentials = match &args.password {
        Some(password) => {
            let mut c = Credentials::new(args.username.clone(), password.clone());
            if let Some(token) = &args.hec_token {
                c = c.hec_token(token.clone());
            }
            c
        }
        None => kept_credentials(&args.data)?,
    };
    if args.password.is_none()
        && let Some(token) = &args.hec_token
    {
        credentials = credentials.hec_token(token.clone());
    }
    if let Some(token) = &args.token {
        credentials = credentials.token(token.clone());
    }
    Ok(credentials)
}

/// The credentials kept in the data folder, made (and kept) the first time; says so when made.
fn kept_credentials(data: &Path) -> io::Result<Credentials> {
    let kept = Credentials::kept_in(data)?;
    if kept.made {
        say(format_args!(
            "Created an admin password and an HEC token in {}",
            kept.path.display()
        ));
        say(format_args!(
            "(readable by you only). Log in as `{}` with that password.",
            kept.credentials.username
        ));
    }
    Ok(kept.credentials)
}

fn run(args: Args) -> io::Result<()> {
    // The ports first, so a busy one is said at once, not after a long open of the store.
    let listeners = Listeners::bind(args.listen, args.hec_listen)?;
    // Then the store, so that the data folder is this process's alone (and owner-only) before the
    // credentials are read or made in it.
    let (engine, report) = Engine::open(&args.data).map_err(|err| {
        io::Error::other(Failure::caused(
            format!("cannot open the data folder {}", args.data.display()),
            err,
        ))
    })?;
    let credentials = credentials(&args)?;
    for damage in &report.damage {
        tracing::warn!("{damage}");
    }
    tracing::info!(events = report.records, data = %args.data.display(), "store opened");
    let mut options = ServerOptions::new(credentials)
        .listen(args.listen)
        .version(args.server_version.clone())
        .hec_acks(args.hec_acks);
    let mut limits = Limits::default();
    limits.max_hec_body_bytes = args.max_hec_body_bytes;
    limits.max_searches = args.max_searches.max(1);
    limits.max_result_bytes = args.max_result_bytes;
    limits.max_result_rows = args.max_result_rows.max(1);
    limits.max_reply_bytes = args.max_reply_bytes;
    limits.max_connections = args.max_connections.max(1);
    limits.max_connections_per_client = args.max_connections_per_client.max(1);
    limits.head_timeout = Duration::from_secs(args.head_timeout.max(1));
    limits.body_timeout = Duration::from_secs(args.body_timeout.max(1));
    limits.min_body_rate = args.min_body_rate;
    limits.lockout_attempts = args.lockout_attempts;
    limits.lockout_window =
        Duration::from_secs(args.lockout_threshold_mins.max(1).saturating_mul(60));
    limits.lockout_duration = Duration::from_secs(args.lockout_mins.max(1).saturating_mul(60));
    options = options.limits(limits);
    if let Some(hec) = args.hec_listen {
        options = options.hec_listen(hec);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        options = options.tls(tls::from_pem_files(cert, key)?);
    } else if args.tls_self_signed {
        let (config, _) = tls::self_signed()?;
        options = options.tls(config);
    }
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::on(Arc::new(engine), options, listeners)?;
        let stop = shutdown_signal();
        say(format_args!(
            "spoor-engine listening on {scheme}://{}",
            server.local_addr()
        ));
        if let Some(hec) = server.hec_addr() {
            say(format_args!("HEC on {scheme}://{hec}/services/collector"));
        }
        server.run_until(stop).await
    })?;
    tracing::info!("stopped; every acknowledged write is on disk");
    Ok(())
}

fn main() -> ExitCode {
    spoor_engine::cli::init_logging("info");
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tell(format_args!("spoor-engine: {}", Report(&err)));
            ExitCode::FAILURE
        }
    }
}
