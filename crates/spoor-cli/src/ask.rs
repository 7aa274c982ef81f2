//! `spoor ask`: the retriever's questions, each answer a table.

use std::num::NonZeroU32;

use serde_json::{Value as Json, json};
use spoor::{Filter, OverTime, Retriever, Span, Split, Window};
use time::format_description::well_known::Rfc3339;

use crate::CliError;
use crate::connect::Backend;
use crate::output::Table;

/// What every question takes: where to ask, over which window, with which filters, and how
/// to print the answer.
#[derive(Debug, Clone, clap::Args)]
pub struct AskArgs {
    /// The window: 24h, 7d, 30d, 90d or all (days start at midnight UTC).
    #[arg(long, default_value = "7d", value_parser = preset, value_name = "WINDOW")]
    pub last: Window,
    /// The window's start instead, RFC 3339 (2026-11-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub earliest: Option<String>,
    /// The window's end (excluded), RFC 3339; now when left out.
    #[arg(long, value_name = "TIME", requires = "earliest")]
    pub latest: Option<String>,
    /// Only events whose properties pass this condition (plan=pro, amount>=10, coupon!=*);
    /// repeat for more, all of them must pass.
    #[arg(long = "where", value_name = "CONDITION", value_parser = filter)]
    pub filters: Vec<Filter>,
    /// How to print the answer.
    #[arg(long, value_enum, default_value_t)]
    pub format: crate::output::Format,
    /// Where to ask.
    #[command(flatten, next_help_heading = "Connection")]
    pub connect: crate::connect::ConnectArgs,
}

fn filter(text: &str) -> Result<Filter, String> {
    text.parse().map_err(|e: spoor::FilterError| e.to_string())
}

/// A question of `spoor ask`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Question {
    /// Every application: events and unique users.
    Applications {
        /// The window, filters, format and connection.
        #[command(flatten)]
        common: AskArgs,
    },
    /// The events of an application: counts and unique users.
    Events {
        /// The application.
        app: String,
        /// The window, filters, format and connection.
        #[command(flatten)]
        common: AskArgs,
    },
    /// The properties of an event (of all the application's events when left out), each with
    /// its number of distinct values.
    Properties {
        /// The application.
        app: String,
        /// The event.
        event: Option<String>,
        /// The window, filters, format and connection.
        #[command(flatten)]
        common: AskArgs,
    },
    /// The values of a property in an event (`*`: in all the application's events), the most
    /// frequent first.
    Values {
        /// The application.
        app: String,
        /// The event, or `*` for every event.
        event: String,
        /// The property's key.
        property: String,
        /// At most this many values.
        #[arg(long, value_name = "N")]
        top: Option<NonZeroU32>,
        /// The window, filters, format and connection.
        #[command(flatten)]
        common: AskArgs,
    },
    /// Events per bucket of time, one column a series: by event name, or by a property's
    /// values with --by.
    OverTime {
        /// The application.
        app: String,
        /// Only this event.
        event: Option<String>,
        /// The bucket length: 1h, 1d, 1w, 1mon…
        #[arg(long, default_value = "1d", value_parser = span)]
        span: Span,
        /// Split by this property's top values instead of by event name.
        #[arg(long, value_name = "PROPERTY")]
        by: Option<String>,
        /// The window, filters, format and connection.
        #[command(flatten)]
        common: AskArgs,
    },
}

impl Question {
    /// What the question takes besides its own arguments.
    pub fn common(&self) -> &AskArgs {
        match self {
            Self::Applications { common }
            | Self::Events { common, .. }
            | Self::Properties { common, .. }
            | Self::Values { common, .. }
            | Self::OverTime { common, .. } => common,
        }
    }
}

fn span(text: &str) -> Result<Span, String> {
    text.parse()
        .map_err(|e: spoor_spl::ParseError| e.to_string())
}

/// Reads `--last`'s value: `24h`, `7d`, `30d`, `90d` or `all`.
///
/// ```
/// assert_eq!(spoor_cli::ask::preset("7d"), Ok(spoor::Window::Last7Days));
/// assert!(spoor_cli::ask::preset("8d").is_err());
/// ```
///
/// # Errors
///
/// What it takes, for any other text.
pub fn preset(text: &str) -> Result<Window, String> {
    match text {
        "24h" => Ok(Window::Last24Hours),
        "7d" => Ok(Window::Last7Days),
        "30d" => Ok(Window::Last30Days),
        "90d" => Ok(Window::Last90Days),
        "all" => Ok(Window::AllTime),
        other => Err(format!(
            "{other:?} is no window; use 24h, 7d, 30d, 90d or all"
        )),
    }
}

/// The window `--last`, `--earliest` and `--latest` give: two instants (RFC 3339; the latest
/// now when left out) when `earliest` is given, else the preset.
///
/// # Errors
///
/// [`CliError::Usage`] for a time that is not RFC 3339, or a window that ends before it
/// starts.
pub fn window(
    last: Window,
    earliest: Option<&str>,
    latest: Option<&str>,
) -> Result<Window, CliError> {
    let instant = |flag: &str, text: &str| {
        time::OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
            CliError::Usage(format!(
                "{flag} {text:?} is not an RFC 3339 time (like 2026-11-28T12:00:00Z)"
            ))
        })
    };
    match (earliest, latest) {
        (None, None) => Ok(last),
        (None, Some(_)) => Err(CliError::Usage(
            "--latest needs --earliest (or use --last)".to_owned(),
        )),
        (Some(e), l) => {
            let earliest = instant("--earliest", e)?;
            let latest = match l {
                Some(l) => instant("--latest", l)?,
                None => time::OffsetDateTime::now_utc(),
            };
            Window::between(earliest, latest).map_err(|e| CliError::Usage(e.to_string()))
        }
    }
}

/// Asks `question` over `window`, every event passing `filters`.
///
/// # Errors
///
/// [`CliError::Usage`] for a property key no event can have, else as [`CliError::splunk`].
pub fn ask(
    backend: &Backend,
    question: &Question,
    filters: &[Filter],
    window: &Window,
) -> Result<Table, CliError> {
    let retriever = Retriever::with_index(&backend.config, &backend.index)
        .map_err(|e| failed(backend, "making a retriever", e))?;
    let asking = "asking the question";
    let mut table;
    match question {
        Question::Applications { .. } => {
            table = Table::new(&["application", "events", "unique_users"]);
            for a in retriever
                .applications(filters, window)
                .map_err(|e| failed(backend, asking, e))?
            {
                table.push(vec![json!(a.name), json!(a.events), json!(a.unique_users)]);
            }
        }
        Question::Events { app, .. } => {
            table = Table::new(&["event", "events", "unique_users"]);
            for e in retriever
                .events(app, filters, window)
                .map_err(|e| failed(backend, asking, e))?
            {
                table.push(vec![json!(e.name), json!(e.events), json!(e.unique_users)]);
            }
        }
        Question::Properties { app, event, .. } => {
            table = Table::new(&["property", "distinct_values"]);
            let answer = retriever
                .properties(app, event.as_deref(), filters, window)
                .map_err(|e| failed(backend, asking, e))?;
            for p in answer {
                table.push(vec![json!(p.key), json!(p.distinct_values)]);
            }
        }
        Question::Values {
            app,
            event,
            property,
            top,
            ..
        } => {
            table = Table::new(&["value", "count"]);
            let event = (event != "*").then_some(event.as_str());
            let answer = retriever
                .values(app, event, property, *top, filters, window)
                .map_err(|e| failed(backend, asking, e))?;
            for v in answer {
                table.push(vec![json!(v.value), json!(v.count)]);
            }
        }
        Question::OverTime {
            app,
            event,
            span,
            by,
            ..
        } => {
            let mut over = OverTime::new(*span);
            if let Some(event) = event {
                over = over.event(event.clone());
            }
            if let Some(by) = by {
                let key = spoor::Key::new(by.as_str())
                    .map_err(|e| CliError::Usage(format!("--by: {e}")))?;
                over = over.split(Split::Property(key));
            }
            let chart = retriever
                .events_over_time(app, &over, filters, window)
                .map_err(|e| failed(backend, asking, e))?;
            let mut columns = vec!["time"];
            columns.extend(chart.series.iter().map(|s| s.name.as_str()));
            table = Table::new(&columns);
            for (i, time) in chart.times.iter().enumerate() {
                let mut row = vec![Json::String(time.format(&Rfc3339).unwrap_or_default())];
                row.extend(
                    chart
                        .series
                        .iter()
                        .map(|s| json!(s.values.get(i).copied().unwrap_or(0))),
                );
                table.push(row);
            }
        }
    }
    Ok(table)
}

/// A retriever's error: a name it refuses is a usage error, the rest as [`CliError::splunk`].
fn failed(backend: &Backend, what: &str, err: spoor::Error) -> CliError {
    match err {
        spoor::Error::InvalidName(why) | spoor::Error::InvalidWindow(why) => CliError::Usage(why),
        other => backend.error(what, other),
    }
}
