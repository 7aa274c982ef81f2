//! `spoor-dashboard`: spoor's web dashboard, on the embedded engine (default) or on Splunk.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line program tells its user where it listens and how seeding goes"
)]

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use spoor::{AsyncRetriever, Tracker};
use spoor_dashboard::{Dashboard, META_APPLICATION, demo};
use spoor_engine::Engine;
use spoor_engine::cli::{Context as _, Failure, Report};
use spoor_engine::server::{Credentials, Running, Server, ServerOptions, shutdown_signal};
use spoor_proto::ConfigBuilder;

/// spoor's dashboard. With no `--splunk` it runs spoor's embedded engine on a local data
/// folder, seeded with demo data when empty.
#[derive(Debug, Parser)]
#[command(name = "spoor-dashboard", version)]
struct Args {
    /// Where the dashboard listens.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// The embedded engine's data folder (created if missing).
    #[arg(long, default_value = "spoor-data", value_name = "DIR")]
    data: PathBuf,
    /// Events of the demo data set seeded into an empty embedded engine.
    #[arg(long, default_value_t = demo::DEFAULT_EVENTS, value_name = "N")]
    demo_events: usize,
    /// Do not seed demo data.
    #[arg(long)]
    no_demo: bool,
    /// Use this Splunk deployment (`https://host:8089`) instead of the embedded engine.
    /// Credentials come from the flags below, `SPLUNK_*` variables or `~/.splunkrc`.
    #[arg(long, value_name = "URL")]
    splunk: Option<String>,
    /// Splunk user name.
    #[arg(long)]
    username: Option<String>,
    /// Splunk password (better given as SPLUNK_PASSWORD).
    #[arg(long)]
    password: Option<String>,
    /// Splunk bearer token (better given as SPLUNK_TOKEN).
    #[arg(long)]
    token: Option<String>,
    /// HEC URL for the dashboard's own page views (`https://host:8088`).
    #[arg(long, value_name = "URL")]
    hec_url: Option<String>,
    /// HEC token (better given as SPLUNK_HEC_TOKEN).
    #[arg(long)]
    hec_token: Option<String>,
    /// PEM file of a CA to trust for Splunk's certificate (e.g. Splunk's cacert.pem).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Do not verify Splunk's TLS certificate (only for a test deployment).
    #[arg(long)]
    insecure: bool,
    /// Do not log the dashboard's own page views.
    #[arg(long)]
    no_meta: bool,
}

/// The backend: Splunk's configuration, or the embedded engine's (kept running).
struct Backend {
    config: spoor_proto::Config,
    embedded: Option<(Running, Arc<Engine>)>,
}

fn splunk_config(args: &Args, url: &str) -> Result<spoor_proto::Config, Failure> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        Failure::new(format!(
            "--splunk {url:?} is not a URL like https://splunk.example:8089"
        ))
    })?;
    let scheme = match scheme {
        "https" => spoor_proto::config::Scheme::Https,
        "http" => spoor_proto::config::Scheme::Http,
        other => {
            return Err(Failure::new(format!(
                "--splunk: unknown scheme {other:?}; use https or http"
            )));
        }
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| Failure::new(format!("--splunk: bad port {port:?}")))?,
        ),
        None => (authority, 8089),
    };
    let mut builder = ConfigBuilder::new();
    builder.scheme(scheme).host(host).port(port);
    if let Some(u) = &args.username {
        builder.username(u.clone());
    }
    if let Some(p) = &args.password {
        builder.password(p.clone());
    }
    if let Some(t) = &args.token {
        builder.token(t.clone());
    }
    if let Some(h) = &args.hec_url {
        builder.hec_url(h.clone());
    }
    if let Some(t) = &args.hec_token {
        builder.hec_token(t.clone());
    }
    if let Some(ca) = &args.ca {
        let pem = std::fs::read_to_string(ca)
            .with_context(|| format!("cannot read --ca {}", ca.display()))?;
        builder.ca_pem(pem);
    }
    if args.insecure {
        builder.verify_tls(false);
    }
    spoor_splunk::load_config(&builder).context("splunk configuration")
}

fn embedded(args: &Args) -> Result<Backend, Failure> {
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create {}", args.data.display()))?;
    let (engine, report) = Engine::open(&args.data)
        .with_context(|| format!("cannot open the data folder {}", args.data.display()))?;
    for damage in &report.damage {
        eprintln!("warning: {damage}");
    }
    let engine = Arc::new(engine);
    let credentials = Credentials::generate().context("cannot make the engine's credentials")?;
    let options = ServerOptions::new(credentials).listen(SocketAddr::from(([127, 0, 0, 1], 0)));
    let running =
        Server::start(Arc::clone(&engine), options).context("cannot start the embedded engine")?;
    let config = running
        .config()
        .build()
        .context("the embedded engine's client settings")?;
    eprintln!(
        "embedded engine: {} events in {}",
        report.records,
        args.data.display()
    );
    let empty = engine
        .index_summary(spoor::DEFAULT_INDEX)
        .is_none_or(|s| s.events == 0);
    if empty && !args.no_demo && args.demo_events > 0 {
        seed_demo(&config, args.demo_events)?;
    }
    Ok(Backend {
        config,
        embedded: Some((running, engine)),
    })
}

fn seed_demo(config: &spoor_proto::Config, events: usize) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let mut stderr = io::stderr();
    let sent = demo::seed(config, events, |done| {
        let pct = done * 100 / events.max(1);
        let bar: String = (0..40)
            .map(|i| if i * 100 / 40 < pct { '#' } else { '.' })
            .collect();
        let _ = write!(stderr, "\rseeding demo data [{bar}] {done}/{events}");
        let _ = stderr.flush();
    })
    .context("cannot seed the demo data")?;
    eprintln!(
        "\nseeded {sent} demo events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run(args: &Args) -> Result<(), Failure> {
    let backend = match &args.splunk {
        Some(url) => Backend {
            config: splunk_config(args, url)?,
            embedded: None,
        },
        None => embedded(args)?,
    };
    let retriever = AsyncRetriever::new(&backend.config).context("cannot make the retriever")?;
    let tracker = if args.no_meta {
        None
    } else {
        let tracker = Tracker::new(&backend.config, META_APPLICATION)
            .context("cannot make the tracker of page views")?;
        if let Err(err) = tracker.setup() {
            eprintln!(
                "warning: page views will not be logged where spoor's index is missing: {}",
                Report(&err)
            );
        }
        Some(tracker)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        if let Err(err) = retriever.connect().await {
            eprintln!(
                "warning: the backend does not answer yet ({}); pages will say so until it does",
                Report(&err)
            );
        }
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener
            .local_addr()
            .context("cannot read the listening address")?;
        let backend_name = if backend.embedded.is_some() {
            format!("embedded engine, data in {}", args.data.display())
        } else {
            format!("Splunk at {}", backend.config.base_url())
        };
        let stop = shutdown_signal();
        println!("spoor dashboard: http://{addr}/ ({backend_name})");
        let dashboard = Arc::new(Dashboard::new(retriever, tracker.clone()));
        spoor_dashboard::serve(listener, dashboard, stop)
            .await
            .context("the dashboard's server failed")
    })?;
    if let Some(tracker) = tracker {
        let _ = tracker.shutdown(Duration::from_secs(5));
    }
    drop(backend);
    Ok(())
}

fn main() -> ExitCode {
    spoor_engine::cli::init_logging("warn");
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("spoor-dashboard: {}", Report(&err));
            ExitCode::FAILURE
        }
    }
}
