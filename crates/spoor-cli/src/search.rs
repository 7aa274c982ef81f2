//! `spoor query` and `spoor export`: SPL as Splunk's CLI takes it, rows as a table or JSON
//! lines.

use std::io::Write;

use serde_json::Value as Json;
use spoor_proto::search::{ExportItem, Row, SearchParams, Value};

use crate::CliError;
use crate::connect::Backend;
use crate::output::Table;
use spoor_engine::cli::Failure;

/// The query as a search job takes it: `search ` put in front unless it starts with a
/// command (`search`, `|`), as Splunk's CLI does.
///
/// ```
/// assert_eq!(spoor_cli::search::full_query("index=spoor | stats count"), "search index=spoor | stats count");
/// assert_eq!(spoor_cli::search::full_query("| makeresults"), "| makeresults");
/// assert_eq!(spoor_cli::search::full_query(" search x"), "search x");
/// ```
pub fn full_query(spl: &str) -> String {
    let spl = spl.trim();
    let first = spl.split_whitespace().next().unwrap_or_default();
    if spl.starts_with('|') || first.eq_ignore_ascii_case("search") {
        spl.to_owned()
    } else {
        format!("search {spl}")
    }
}

/// The job's window: Splunk's time modifiers (`-24h`, `@d`, `2026-11-01T00:00:00Z`, `0`).
pub fn params(earliest: Option<&str>, latest: Option<&str>) -> SearchParams {
    SearchParams {
        earliest_time: earliest.map(str::to_owned),
        latest_time: latest.map(str::to_owned),
        ..SearchParams::default()
    }
}

/// Runs `spl` as a search job over the window and gives every result row as a table, the
/// columns in order of first appearance.
///
/// # Errors
///
/// As [`CliError::splunk`]: a query Splunk refuses is a [`CliError::Failed`] with its
/// message.
pub fn query(backend: &Backend, spl: &str, params: SearchParams) -> Result<Table, CliError> {
    let client = spoor_splunk::blocking::Client::new(&backend.config)
        .map_err(|e| backend.error("making a client", e))?;
    let results = client
        .search(&full_query(spl), params)
        .map_err(|e| backend.error("running the search", e))?;
    Ok(table(&results.rows))
}

/// Rows as a table: columns in order of first appearance, numbers as numbers.
pub fn table(rows: &[Row]) -> Table {
    let mut table = Table::default();
    for row in rows {
        for (name, _) in row.iter() {
            if !table.columns.iter().any(|c| c == name) {
                table.columns.push(name.to_owned());
            }
        }
    }
    for row in rows {
        let cells = table
            .columns
            .iter()
            .map(|c| row.get(c).map_or(Json::Null, cell))
            .collect();
        table.push(cells);
    }
    table
}

/// A field's value as a cell: a number when it reads back as the same text, else a string;
/// a multivalue field as its values joined by a line break (shown `\n` in a table).
fn cell(value: &Value) -> Json {
    let text = value.values().join("\n");
    if let Ok(n) = text.parse::<i64>()
        && n.to_string() == text
    {
        return Json::from(n);
    }
    if let Ok(x) = text.parse::<f64>()
        && x.is_finite()
        && serde_json::Number::from_f64(x).is_some_and(|n| n.to_string() == text)
    {
        return Json::from(x);
    }
    Json::String(text)
}

/// Writes every event of `index` in the window as JSON lines (`_time`, `_raw` and the fields
/// as Splunk's export gives them, a multivalue field as an array), returning how many.
///
/// # Errors
///
/// As [`CliError::splunk`], or the writer's error.
pub fn export(
    backend: &Backend,
    index: &str,
    params: &SearchParams,
    out: &mut impl Write,
) -> Result<u64, CliError> {
    let client = spoor_splunk::blocking::Client::new(&backend.config)
        .map_err(|e| backend.error("making a client", e))?;
    let index = spoor_spl::build::Index::new(index)
        .map_err(|e| CliError::Usage(format!("--index: {e}")))?;
    let query = format!("search index={}", index.as_str());
    let rows = client
        .export(&query, params)
        .map_err(|e| backend.error("starting the export", e))?;
    let mut count = 0;
    for item in rows {
        match item.map_err(|e| backend.error("reading the export", e))? {
            ExportItem::Row(row) => {
                let fields: Vec<(String, Json)> = row
                    .into_fields()
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::Single(s) => Json::String(s),
                            Value::Multi(items) => Json::from(items),
                        };
                        (k, v)
                    })
                    .collect();
                match crate::output::json_line(out, fields.iter().map(|(k, v)| (k.as_str(), v))) {
                    Ok(()) => {}
                    // A reader that has gone (`| head`) ends the export, no failure.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(count),
                    Err(e) => {
                        return Err(CliError::Failed(Failure::caused(
                            "cannot write the export",
                            e,
                        )));
                    }
                }
                count += 1;
            }
            ExportItem::Message(message) => {
                spoor_engine::cli::tell(format_args!("splunk: {}", message.text));
            }
        }
    }
    Ok(count)
}
