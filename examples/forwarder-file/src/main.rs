//! Writes spoor's event lines to a file that a Splunk universal forwarder ships, with
//! `spoor-event` alone (no network code, no other crate of spoor's), and the `props.conf`
//! stanza Splunk needs to read them beside it.
//!
//! ```text
//! spoor-example-forwarder-file FOLDER
//! ```
//!
//! writes `FOLDER/events.log` (one event a line, appended to when it exists, as a forwarder's
//! monitored file grows) and `FOLDER/props.conf`, and says how many events it wrote. Point the
//! forwarder at the file with the sourcetype `spoor`, e.g. in `inputs.conf`:
//!
//! ```text
//! [monitor:///var/log/shop/events.log]
//! sourcetype = spoor
//! index = spoor
//! ```
//!
//! and put the `props.conf` stanza on the indexers (or a heavy forwarder), which parse the
//! lines. The events here are made up: a few users of a shop, a minute apart.

use std::fs::{self, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use spoor_event::{Event, EventError};
use time::{Duration, OffsetDateTime};

/// The sourcetype the forwarder gives the file, named in the `props.conf` stanza.
const SOURCETYPE: &str = "spoor";

/// What can go wrong: a bad event (a mistake in this program) or a file that cannot be written.
#[derive(Debug)]
enum Failure {
    Event(EventError),
    Write(PathBuf, std::io::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Event(err) => write!(f, "an event could not be made: {err}"),
            Self::Write(path, err) => write!(f, "cannot write {}: {err}", path.display()),
        }
    }
}

/// The events to write: each user signs up, views the pricing page and some buy a plan.
fn events(start: OffsetDateTime) -> Result<Vec<Event>, EventError> {
    let users = [("u1", "pro", 3), ("u2", "team", 10), ("u3", "", 0)];
    let mut events = Vec::new();
    let mut time = start;
    let mut next = || {
        time += Duration::minutes(1);
        time
    };
    for (user, plan, seats) in users {
        events.push(
            Event::builder("shop", "signup", next())
                .distinct_id(user)
                .property("referrer", "newsletter")
                .build()?,
        );
        events.push(
            Event::builder("shop", "view pricing", next())
                .distinct_id(user)
                .property("path", "/pricing")
                .build()?,
        );
        if !plan.is_empty() {
            events.push(
                Event::builder("shop", "purchase", next())
                    .distinct_id(user)
                    .property("plan", plan)
                    .property("seats", seats)
                    .property("amount", f64::from(seats) * 9.5)
                    .property("trial", false)
                    .build()?,
            );
        }
    }
    Ok(events)
}

/// Appends the events to `path`, one line each.
fn append(path: &Path, events: &[Event]) -> std::io::Result<()> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let mut out = BufWriter::new(file);
    let mut line = Vec::new();
    for event in events {
        line.clear();
        event.encode_line(&mut line);
        line.push(b'\n');
        out.write_all(&line)?;
    }
    out.into_inner().map_err(|err| err.into_error())?.sync_all()
}

fn run(folder: &Path) -> Result<usize, Failure> {
    fs::create_dir_all(folder).map_err(|err| Failure::Write(folder.to_owned(), err))?;
    // The events' times are the caller's: spoor-event reads no clock.
    let events = events(OffsetDateTime::now_utc() - Duration::hours(1)).map_err(Failure::Event)?;
    let log = folder.join("events.log");
    append(&log, &events).map_err(|err| Failure::Write(log.clone(), err))?;
    let props = folder.join("props.conf");
    fs::write(&props, spoor_event::props::stanza(SOURCETYPE))
        .map_err(|err| Failure::Write(props.clone(), err))?;
    Ok(events.len())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(folder), None) = (args.next(), args.next()) else {
        eprintln!("usage: spoor-example-forwarder-file FOLDER");
        return ExitCode::from(2);
    };
    let folder = PathBuf::from(folder);
    match run(&folder) {
        Ok(n) => {
            println!(
                "wrote {n} events to {} and the sourcetype's stanza to {}",
                folder.join("events.log").display(),
                folder.join("props.conf").display()
            );
            println!("{}", spoor_event::props::stanza(SOURCETYPE).trim_end());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
