//! `spoor-engine`: spoor's embedded engine as a server that answers Splunk's REST and HEC
//! calls, so Splunk clients (spoor's, Splunk's SDKs, HEC loggers) can use it in place of Splunk.
#![allow(
    clippy::print_stdout,
    reason = "a command-line program tells its user how to log in"
)]

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use spoor_engine::Engine;
use spoor_engine::server::{Credentials, Limits, Server, ServerOptions, shutdown_signal, tls};

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
}

const CREDENTIALS_FILE: &str = "credentials.json";

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    username: String,
    password: String,
    hec_token: String,
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

fn kept_credentials(data: &Path) -> io::Result<Credentials> {
    let path = data.join(CREDENTIALS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is not valid ({e}); fix or delete it", path.display()),
                )
            })?;
            tracing::info!(file = %path.display(), "credentials read");
            Ok(Credentials::new(stored.username, stored.password).hec_token(stored.hec_token))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let made = Credentials::generate()?;
            let stored = Stored {
                username: made.username.clone(),
                password: made.password.expose().to_owned(),
                hec_token: made.hec_tokens[0].expose().to_owned(),
            };
            write_private(
                &path,
                &serde_json::to_vec_pretty(&stored).map_err(io::Error::other)?,
            )?;
            println!(
                "Created an admin password and an HEC token in {}",
                path.display()
            );
            println!(
                "(readable by you only). Log in as `{}` with that password.",
                made.username
            );
            Ok(made)
        }
        Err(err) => Err(err),
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn run(args: Args) -> io::Result<()> {
    std::fs::create_dir_all(&args.data)?;
    let credentials = credentials(&args)?;
    let (engine, report) = Engine::open(&args.data).map_err(io::Error::other)?;
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
        let server = Server::bind(Arc::new(engine), options).await?;
        println!(
            "spoor-engine listening on {scheme}://{}",
            server.local_addr()
        );
        if let Some(hec) = server.hec_addr() {
            println!("HEC on {scheme}://{hec}/services/collector");
        }
        server.run_until(shutdown_signal()).await
    })?;
    tracing::info!("stopped; every acknowledged write is on disk");
    Ok(())
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .init();
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "spoor-engine stopped");
            ExitCode::FAILURE
        }
    }
}
