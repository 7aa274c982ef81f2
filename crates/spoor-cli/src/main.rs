//! `spoor`: spoor's command line (see the crate's documentation).

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{ColorChoice, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use spoor::{Event, Tracker, Value};
use spoor_cli::ask::Question;
use spoor_cli::connect::{Backend, ConnectArgs};
use spoor_cli::import::{ImportOptions, InputFormat, Via};
use spoor_cli::output::Format;
use spoor_cli::{CliError, exit};
use spoor_engine::cli::{Failure, Report, say, tell};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const AFTER_HELP: &str = "\
Where it talks to:
  --splunk URL (with SPLUNK_* variables or ~/.splunkrc for the credentials) reaches a Splunk
  deployment; so do SPLUNK_HOST, SPLUNK_HEC_URL, SPLUNKRC or a ~/.splunkrc on their own.
  Otherwise --data DIR (default ./spoor-data, the dashboard's folder) opens spoor's engine in
  this process and talks to it over Splunk's REST API and HEC on a loopback port. A folder is
  open in one process at a time: while a dashboard runs on it, use --splunk http://127.0.0.1:8089.

Exit codes:
  0  done (bad lines skipped under --skip-bad included)
  1  failed (a search refused, a file that cannot be read, ...)
  2  usage: the command line is wrong
  3  bad input: a bad line under import --strict, a bad event for track
  4  cannot connect: the server is unreachable, refuses the credentials, or the data folder is
     held by another process
  130  interrupted (import keeps what was acknowledged and goes on from there when run again)";

/// spoor's command line: product analytics events into and out of Splunk (or spoor's
/// embedded engine).
#[derive(Debug, Parser)]
#[command(
    name = "spoor",
    version,
    after_help = AFTER_HELP,
    color = ColorChoice::Auto,
    arg_required_else_help = true,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Track one event.
    #[command(
        after_help = "Example:\n  spoor track shop purchase plan=pro seats=3 trial=false --user u42"
    )]
    Track {
        /// The application.
        app: String,
        /// The event's name.
        event: String,
        /// Properties: integers, floats, true and false are typed, anything else is a string
        /// ("42" in double quotes stays a string).
        #[arg(value_name = "KEY=VALUE", value_parser = spoor_cli::track::property)]
        properties: Vec<(String, Value)>,
        /// The user's id (distinct_id).
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// The event's time, RFC 3339 (now when left out).
        #[arg(long, value_name = "TIME")]
        time: Option<String>,
        #[command(flatten, next_help_heading = "Connection")]
        connect: ConnectArgs,
    },
    /// Import files of events: spoor's lines, the original Python tracker's, or JSON lines.
    #[command(after_help = "\
Each line is an event: a spoor line (2026-11-28T12:00:00Z application=\"shop\" event=\"login\" ...),
a line of the original Python tracker, or a JSON object {\"application\", \"event\", \"distinct_id\",
\"time\", \"properties\": {...}} (the dashboard's /api/track shape). Blank lines are skipped.

An import goes on where it stopped: the lines acknowledged by the server are kept in a small
state file (under DATA/imports, or ~/.local/state/spoor/imports for Splunk), so running the same
command again never sends them twice; --restart forgets them.

Examples:
  spoor import events.log
  zcat old.log.gz | spoor import - --format spoor
  spoor import --strict --splunk https://splunk.example:8089 a.jsonl b.jsonl")]
    Import {
        /// The files (`-` for standard input, which cannot be resumed).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        /// The lines' format.
        #[arg(long, value_enum, default_value_t)]
        format: InputFormat,
        /// Stop at the first bad line: nothing after it is sent (exit code 3).
        #[arg(long, conflicts_with = "skip_bad")]
        strict: bool,
        /// Report each bad line with its file and number, and go on (the default).
        #[arg(long)]
        skip_bad: bool,
        /// Send every line again, forgetting what earlier runs imported.
        #[arg(long)]
        restart: bool,
        /// Lines read into one unit of work at most.
        #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        batch_lines: u32,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
        jobs: u32,
        /// Where the import's progress is kept.
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Which of Splunk's intakes to send to.
        #[arg(long, value_enum, default_value_t)]
        via: Via,
        #[command(flatten, next_help_heading = "Connection")]
        connect: ConnectArgs,
    },
    /// Run an SPL search and print its results.
    #[command(
        after_help = "Examples:\n  spoor query 'index=spoor event=purchase | stats count by application'\n  spoor query 'index=spoor | timechart span=1d count' --earliest -7d@d --format csv"
    )]
    Query {
        /// The search (`search` is put in front unless it starts with a command or `|`).
        spl: String,
        /// The window's start, a Splunk time modifier (-24h, -7d@d, 2026-11-01T00:00:00Z);
        /// all time when left out.
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        earliest: Option<String>,
        /// The window's end (now when left out).
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        latest: Option<String>,
        /// How to print the results.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
        #[command(flatten, next_help_heading = "Connection")]
        connect: ConnectArgs,
    },
    /// Ask a question about the events (applications, events, properties, values, over time).
    #[command(subcommand)]
    Ask(Question),
    /// Write every event of an index as JSON lines (_time, _raw and the fields).
    Export {
        /// The window's start, a Splunk time modifier; all time when left out.
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        earliest: Option<String>,
        /// The window's end.
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        latest: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten, next_help_heading = "Connection")]
        connect: ConnectArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tell(format_args!("spoor: {}", Report(&err)));
            ExitCode::from(err.exit_code())
        }
    }
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Track {
            app,
            event,
            properties,
            user,
            time,
            connect,
        } => track(app, event, properties, user, time.as_deref(), &connect),
        Command::Import {
            files,
            format,
            strict,
            skip_bad: _,
            restart,
            batch_lines,
            jobs,
            state_dir,
            via,
            connect,
        } => {
            let backend = Backend::open(&connect)?;
            let state_dir = state_dir.unwrap_or_else(|| default_state_dir(&backend));
            let options = ImportOptions {
                files,
                format,
                strict,
                restart,
                batch_lines: batch_lines as usize,
                jobs: jobs as usize,
                state_dir,
                via,
            };
            let done = import(&backend, &options);
            backend.close();
            done
        }
        Command::Query {
            spl,
            earliest,
            latest,
            format,
            connect,
        } => {
            let backend = Backend::open(&connect)?;
            let params = spoor_cli::search::params(earliest.as_deref(), latest.as_deref());
            let table = spoor_cli::search::query(&backend, &spl, params)?;
            backend.close();
            print(&table, format)
        }
        Command::Ask(question) => {
            let common = question.common();
            let window = spoor_cli::ask::window(
                common.last,
                common.earliest.as_deref(),
                common.latest.as_deref(),
            )?;
            let backend = Backend::open(&common.connect)?;
            let table = spoor_cli::ask::ask(&backend, &question, &common.filters, &window)?;
            backend.close();
            print(&table, common.format)
        }
        Command::Export {
            earliest,
            latest,
            output,
            connect,
        } => {
            let backend = Backend::open(&connect)?;
            let params = spoor_cli::search::params(earliest.as_deref(), latest.as_deref());
            let count = match &output {
                Some(path) => {
                    let file = std::fs::File::create(path).map_err(|e| {
                        Failure::caused(format!("cannot create {}", path.display()), e)
                    })?;
                    let mut out = std::io::BufWriter::new(file);
                    let count =
                        spoor_cli::search::export(&backend, &backend.index, &params, &mut out)?;
                    out.flush().map_err(|e| {
                        Failure::caused(format!("cannot write {}", path.display()), e)
                    })?;
                    count
                }
                None => {
                    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                    let count =
                        spoor_cli::search::export(&backend, &backend.index, &params, &mut out)?;
                    let _ = out.flush();
                    count
                }
            };
            backend.close();
            tell(format_args!("exported {count} events"));
            Ok(())
        }
    }
}

fn print(table: &spoor_cli::output::Table, format: Format) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match table.write(format, &mut out) {
        // A reader that has gone (`| head`) is no failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::caused("cannot write the answer", e).into())
        }
        _ => Ok(()),
    }
}

fn track(
    app: String,
    name: String,
    properties: Vec<(String, Value)>,
    user: Option<String>,
    time: Option<&str>,
    connect: &ConnectArgs,
) -> Result<(), CliError> {
    let time = match time {
        Some(text) => OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
            CliError::Usage(format!(
                "--time {text:?} is not an RFC 3339 time (like 2026-11-28T12:00:00Z)"
            ))
        })?,
        None => OffsetDateTime::now_utc(),
    };
    let mut builder = Event::builder(app.clone(), name.clone(), time).properties(properties);
    if let Some(user) = user {
        builder = builder.distinct_id(user);
    }
    // Checked before anything is sent: a bad key gets spoor-event's message.
    let event = builder
        .build()
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let backend = Backend::open(connect)?;
    backend.setup()?;
    let given_up: Arc<Mutex<Option<String>>> = Arc::default();
    let kept = Arc::clone(&given_up);
    let tracker = Tracker::builder(&backend.config, app.as_str())
        .index(backend.index.as_str())
        .on_error(move |err, _| {
            *kept
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Report(err).to_string());
        })
        .build()
        .map_err(|e| backend.error("making a tracker", e))?;
    tracker
        .track_events(std::slice::from_ref(&event))
        .map_err(|e| backend.error("tracking the event", e))?;
    let delivered = tracker.shutdown(Duration::from_secs(30));
    let sent = tracker.stats().sent;
    let describe = backend.describe();
    backend.close();
    if sent == 1 {
        tell(format_args!("tracked {app}/{name} in {describe}"));
        return Ok(());
    }
    let why = given_up
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    Err(match (why, delivered) {
        (Some(why), _) => CliError::Failed(Failure::new(format!("the event was refused: {why}"))),
        (None, Err(err)) => CliError::splunk("delivering the event", &describe, err),
        (None, Ok(())) => CliError::Failed(Failure::new("the event was not delivered")),
    })
}

/// Where import state is kept unless `--state-dir` says: in the data folder, or the user's
/// state folder for Splunk.
fn default_state_dir(backend: &Backend) -> PathBuf {
    if let Some(data) = backend.data() {
        return data.join("imports");
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")));
    base.map_or_else(
        || PathBuf::from(".spoor-imports"),
        |b| b.join("spoor/imports"),
    )
}

/// Sets the flag on Ctrl-C (or SIGTERM); a second one ends the process at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let _ = std::thread::Builder::new()
        .name("spoor-signals".to_owned())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                let _ = ready_tx.send(());
                return;
            };
            runtime.block_on(async {
                let first = spoor_engine::server::shutdown_signal();
                let _ = ready_tx.send(());
                first.await;
                set.store(true, Ordering::Relaxed);
                let second = spoor_engine::server::shutdown_signal();
                second.await;
                std::process::exit(i32::from(exit::INTERRUPTED));
            });
        });
    // The handlers are in place before any event is sent.
    let _ = ready_rx.recv_timeout(Duration::from_secs(5));
    flag
}

fn import(backend: &Backend, options: &ImportOptions) -> Result<(), CliError> {
    let interrupt = interrupt_flag();
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:30}] {bytes}/{total_bytes} {msg} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let summary = spoor_cli::import::import(
        backend,
        options,
        &interrupt,
        |bad| bar.suspend(|| tell(format_args!("{bad}"))),
        |bytes, total, events| {
            bar.set_length(total);
            bar.set_position(bytes);
            bar.set_message(format!(
                "{events} events, {:.0} events/s",
                rate(events, started)
            ));
        },
    );
    bar.finish_and_clear();
    let summary = summary?;
    let seconds = started.elapsed().as_secs_f64();
    let mut line = format!(
        "imported {} events from {} lines of {} file{} in {seconds:.1} s ({:.0} events/s); \
         {} bad lines skipped, {} blank",
        summary.events,
        summary.lines,
        summary.files,
        if summary.files == 1 { "" } else { "s" },
        rate(summary.events, started),
        summary.bad,
        summary.blank,
    );
    if summary.earlier_lines > 0 {
        line.push_str(&format!(
            "; {} lines ({} events) were imported by an earlier run and not sent again",
            summary.earlier_lines, summary.earlier_events
        ));
    }
    say(format_args!("{line}"));
    if let Some(bad) = summary.stopped_at {
        return Err(CliError::BadInput(format!(
            "{bad}; nothing after it was sent (--strict); fix the line and run the same command \
             to go on, or pass --skip-bad"
        )));
    }
    if summary.interrupted {
        return Err(CliError::Interrupted(
            "interrupted: what was acknowledged is kept; run the same command again to go on"
                .to_owned(),
        ));
    }
    Ok(())
}

fn rate(events: u64, since: Instant) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "a rate to print")]
    let events = events as f64;
    events / since.elapsed().as_secs_f64().max(1e-9)
}
