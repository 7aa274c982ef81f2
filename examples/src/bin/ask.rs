//! Asking questions with [`spoor::Retriever`] and printing the answers as a table.
//!
//! ```text
//! ask                 the applications, with their events and unique users
//! ask APPLICATION     the events of one application, the same way
//! ```
//!
//! over all time, largest first. Connection settings: `SPLUNK_*` or `~/.splunkrc` (see the
//! package's `config`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use spoor::{Retriever, Window};

/// Rows of a name, its events and unique users, as a table with a header and aligned columns.
fn table(first: &str, rows: &[(String, u64, u64)]) -> String {
    let width = rows
        .iter()
        .map(|(name, ..)| name.chars().count())
        .chain([first.len()])
        .max()
        .unwrap_or_default();
    let mut out = format!(
        "{first:<width$}  {:>10}  {:>12}\n",
        "events", "unique users"
    );
    for (name, events, users) in rows {
        out.push_str(&format!("{name:<width$}  {events:>10}  {users:>12}\n"));
    }
    out
}

fn run(application: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
    let retriever = Retriever::new(&spoor_examples::config()?)?;
    let window = Window::AllTime;
    let (first, rows) = match application {
        None => (
            "application",
            retriever
                .applications(&[], &window)?
                .into_iter()
                .map(|a| (a.name, a.events, a.unique_users))
                .collect::<Vec<_>>(),
        ),
        Some(application) => (
            "event",
            retriever
                .events(application, &[], &window)?
                .into_iter()
                .map(|e| (e.name, e.events, e.unique_users))
                .collect(),
        ),
    };
    print!("{}", table(first, &rows));
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() > 1 || args.first().is_some_and(|a| a.starts_with('-')) {
        eprintln!("usage: ask [APPLICATION]");
        return ExitCode::from(2);
    }
    match run(args.first().map(String::as_str)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
