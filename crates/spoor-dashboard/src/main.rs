//! `spoor-dashboard`: spoor's web dashboard, on the embedded engine (default) or on Splunk.

use std::io::{self, IsTerminal as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use spoor::{AsyncRetriever, Tracker};
use spoor_dashboard::{
    DEFAULT_META_INDEX, Dashboard, META_APPLICATION, TrackOptions, allowed_origin, demo, index_name,
};
use spoor_engine::Engine;
use spoor_engine::cli::{Context as _, Failure, Report, SplunkArgs, say, tell};
use spoor_engine::server::{
    Credentials, Listeners, Running, Server, ServerOptions, shutdown_signal,
};

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
    /// Where the embedded engine serves Splunk's REST API (Splunk's management port), for any
    /// Splunk client; its credentials are kept in DATA/credentials.json.
    #[arg(long, default_value = "127.0.0.1:8089", value_name = "ADDR")]
    engine_listen: SocketAddr,
    /// Where the embedded engine serves HEC (Splunk's HEC port), for HEC loggers and `curl`.
    #[arg(long, default_value = "127.0.0.1:8088", value_name = "ADDR")]
    hec_listen: SocketAddr,
    /// Events of the demo data set seeded into an empty embedded engine.
    #[arg(long, default_value_t = demo::DEFAULT_EVENTS, value_name = "N")]
    demo_events: usize,
    /// Do not seed demo data.
    #[arg(long)]
    no_demo: bool,
    #[command(flatten)]
    splunk: SplunkArgs,
    /// The index the dashboard reads; on the embedded engine it is created at start, and
    /// seeded with the demo data when empty.
    #[arg(long, env = "SPOOR_INDEX", default_value = spoor::DEFAULT_INDEX, value_name = "NAME", value_parser = index_name)]
    index: String,
    /// The index the dashboard's own page views go to (created at start), apart from the
    /// applications it shows.
    #[arg(long, default_value = DEFAULT_META_INDEX, value_name = "NAME", value_parser = index_name)]
    meta_index: String,
    /// Do not log the dashboard's own page views.
    #[arg(long)]
    no_meta: bool,
    /// An origin (`https://shop.example`) whose pages may send events to /api/track with
    /// spoor.js; repeat for more, or `*` for any. The dashboard's own pages always may.
    #[arg(
        long,
        value_name = "ORIGIN",
        env = "SPOOR_ALLOW_ORIGIN",
        value_delimiter = ',',
        value_parser = allowed_origin
    )]
    allow_origin: Vec<String>,
    /// Requests a second /api/track takes from one client address (0: no limit).
    #[arg(long, default_value_t = TrackOptions::default().rate, value_name = "N")]
    track_rate: u32,
    /// Do not take events at /api/track (nor serve spoor.js's endpoint).
    #[arg(long)]
    no_track: bool,
}

/// Events `/api/track` holds at most before the backend has them (a few tens of megabytes).
const INTAKE_QUEUE: usize = 200_000;

/// The backend: Splunk's configuration, or the embedded engine's (kept running).
struct Backend {
    config: spoor_proto::Config,
    embedded: Option<(Running, Arc<Engine>)>,
}

fn splunk_config(args: &Args) -> Result<spoor_proto::Config, Failure> {
    spoor_splunk::load_config(&args.splunk.layer()?).context("splunk configuration")
}

fn embedded(args: &Args, listeners: Listeners) -> Result<Backend, Failure> {
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create {}", args.data.display()))?;
    let (engine, report) = Engine::open(&args.data)
        .with_context(|| format!("cannot open the data folder {}", args.data.display()))?;
    for damage in &report.damage {
        tell(format_args!("warning: {damage}"));
    }
    let engine = Arc::new(engine);
    let kept = Credentials::kept_in(&args.data)
        .context("cannot read or make the embedded engine's credentials")?;
    let options = ServerOptions::new(kept.credentials)
        .listen(args.engine_listen)
        .hec_listen(args.hec_listen);
    let running = Server::start_on(Arc::clone(&engine), options, listeners)
        .context("cannot start the embedded engine")?;
    let config = running
        .config()
        .build()
        .context("the embedded engine's client settings")?;
    tell(format_args!(
        "embedded engine: {} events in {}",
        report.records,
        args.data.display()
    ));
    // The index read and spoor's sourcetype exist from the start, so an event sent from outside
    // (the printed curl line, an HEC logger) is taken before any page view or demo event.
    let setup = Tracker::builder(&config, META_APPLICATION)
        .index(args.index.as_str())
        .build()
        .context("cannot reach the embedded engine")?;
    setup.setup().with_context(|| {
        format!(
            "cannot create the index {:?} in the embedded engine",
            args.index
        )
    })?;
    let _ = setup.shutdown(Duration::from_secs(1));
    let hec = running.hec_addr().unwrap_or(running.addr());
    say(format_args!(
        "embedded engine: Splunk REST API on http://{}, HEC on http://{hec} \
         (admin credentials and HEC token in {})",
        running.addr(),
        kept.path.display()
    ));
    say(format_args!(
        "send an event: {}",
        curl_line(hec, &kept.path, &args.index)
    ));
    let empty = engine
        .index_summary(&args.index)
        .is_none_or(|s| s.events == 0);
    if empty && !args.no_demo && args.demo_events > 0 {
        seed_demo(&config, &args.index, args.demo_events)?;
    }
    Ok(Backend {
        config,
        embedded: Some((running, engine)),
    })
}

/// A `curl` command that sends one event to `index` through HEC at `hec`, reading the token
/// from the kept credentials file (so the token itself is never printed).
fn curl_line(hec: SocketAddr, credentials: &std::path::Path, index: &str) -> String {
    let file = shell_quote(&credentials.display().to_string());
    let event = format!(
        r#"{{"index":"{}","sourcetype":"{}","event":"application=\"myapp\" event=\"signup\" distinct_id=\"u1\" analytics_prop__plan=\"pro\""}}"#,
        index,
        spoor::DEFAULT_SOURCETYPE
    );
    format!(
        r#"curl -s http://{hec}/services/collector/event -H "Authorization: Splunk $(sed -n 's/.*"hec_token": *"\([^"]*\)".*/\1/p' {file})" -d {}"#,
        shell_quote(&event)
    )
}

/// `text` as one word for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn seed_demo(config: &spoor_proto::Config, index: &str, events: usize) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    // A bar on a terminal; nothing when standard error is a file or a pipe.
    let bar = if io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(events as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "seeding demo data [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#>."),
    );
    let sent = demo::seed(config, index, events, |done| bar.set_position(done as u64));
    bar.finish_and_clear();
    let sent = sent.context("cannot seed the demo data")?;
    tell(format_args!(
        "seeded {sent} demo events in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn run(args: &Args) -> Result<(), Failure> {
    if !args.no_meta && args.meta_index == args.index {
        return Err(Failure::new(format!(
            "--meta-index {:?} is the index the dashboard reads (--index): its own page views \
             would be listed among the applications; choose another --meta-index, or --no-meta",
            args.meta_index
        )));
    }
    // Every port first, so a busy one is said at once, not after the data folder is read or
    // the demo data seeded.
    let listener = std::net::TcpListener::bind(args.listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .with_context(|| {
            format!(
                "cannot listen on {}; choose another address with --listen",
                args.listen
            )
        })?;
    let backend = match &args.splunk.splunk {
        Some(_) => Backend {
            config: splunk_config(args)?,
            embedded: None,
        },
        None => {
            let listeners = Listeners::bind(args.engine_listen, Some(args.hec_listen))
                .with_context(|| {
                    format!(
                        "the embedded engine cannot take its ports (REST API {}, HEC {}): another \
                         Splunk or spoor may hold them; choose others with --engine-listen and \
                         --hec-listen",
                        args.engine_listen, args.hec_listen
                    )
                })?;
            embedded(args, listeners)?
        }
    };
    let retriever = AsyncRetriever::with_index(&backend.config, &args.index)
        .context("cannot make the retriever")?;
    let tracker = if args.no_meta {
        None
    } else {
        let tracker = spoor_dashboard::meta_tracker(&backend.config, &args.meta_index)
            .context("cannot make the tracker of page views")?;
        if let Err(err) = tracker.setup() {
            tell(format_args!(
                "warning: cannot create the index {:?} for the dashboard's page views ({}); \
                 they are logged once it exists (or pass --no-meta)",
                args.meta_index,
                Report(&err)
            ));
        }
        Some(tracker)
    };
    // Events sent to /api/track: each names its application; the queue holds bursts of
    // batches while the backend catches up.
    let intake = if args.no_track {
        None
    } else {
        Some(
            Tracker::builder(&backend.config, META_APPLICATION)
                .index(args.index.clone())
                .queue_capacity(INTAKE_QUEUE)
                .build()
                .context("cannot make the tracker of /api/track")?,
        )
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        if let Err(err) = retriever.connect().await {
            tell(format_args!(
                "warning: the backend does not answer yet ({}); pages will say so until it does",
                Report(&err)
            ));
        }
        let listener = tokio::net::TcpListener::from_std(listener)
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener
            .local_addr()
            .context("cannot read the listening address")?;
        let mut backend_name = if backend.embedded.is_some() {
            format!("embedded engine, data in {}", args.data.display())
        } else {
            format!("Splunk at {}", backend.config.base_url())
        };
        backend_name.push_str(&format!("; index {}", args.index));
        if !args.no_meta {
            backend_name.push_str(&format!(", page views in {}", args.meta_index));
        }
        let stop = shutdown_signal();
        say(format_args!("spoor dashboard: http://{addr}/ ({backend_name})"));
        let mut dashboard = Dashboard::new(retriever, tracker.clone());
        if let Some(intake) = &intake {
            dashboard = dashboard.with_intake(
                intake.clone(),
                TrackOptions {
                    rate: args.track_rate,
                    allow_origin: args.allow_origin.clone(),
                },
            );
            say(format_args!(
                "track from a web page: <script defer src=\"http://{addr}/spoor.js\" data-app=\"myapp\"></script>"
            ));
        }
        let dashboard = Arc::new(dashboard);
        spoor_dashboard::serve(listener, dashboard, stop)
            .await
            .context("the dashboard's server failed")
    })?;
    for tracker in [tracker, intake].into_iter().flatten() {
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
            tell(format_args!("spoor-dashboard: {}", Report(&err)));
            ExitCode::FAILURE
        }
    }
}
