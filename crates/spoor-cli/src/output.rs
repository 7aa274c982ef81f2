//! Answers printed as a person or a program reads them: an aligned table, CSV or JSON lines.

use std::io::{self, Write};

use serde_json::Value as Json;

/// How answers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns under a header, numbers to the right.
    #[default]
    Table,
    /// CSV (RFC 4180) with a header row, safe to open in a spreadsheet.
    Csv,
    /// One JSON object a row, numbers as numbers.
    Json,
}

/// Rows under named columns; each cell a JSON string or number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// The column names.
    pub columns: Vec<String>,
    /// The rows, each as many cells as columns.
    pub rows: Vec<Vec<Json>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&str]) -> Self {
        Self {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Json>) {
        self.rows.push(row);
    }

    /// Writes the table in `format`.
    ///
    /// ```
    /// use serde_json::json;
    /// use spoor_cli::output::{Format, Table};
    ///
    /// let mut table = Table::new(&["event", "count"]);
    /// table.push(vec![json!("login"), json!(1200)]);
    /// table.push(vec![json!("purchase"), json!(31)]);
    /// let mut out = Vec::new();
    /// table.write(Format::Table, &mut out)?;
    /// assert_eq!(String::from_utf8(out).unwrap(), "event     count\nlogin      1200\npurchase     31\n");
    /// let mut out = Vec::new();
    /// table.write(Format::Json, &mut out)?;
    /// assert_eq!(String::from_utf8(out).unwrap().lines().next(), Some(r#"{"event":"login","count":1200}"#));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The writer's.
    pub fn write(&self, format: Format, out: &mut impl Write) -> io::Result<()> {
        match format {
            Format::Table => self.write_table(out),
            Format::Csv => {
                let header: Vec<&str> = self.columns.iter().map(String::as_str).collect();
                let rows = self.rows.iter().map(|row| row.iter().map(text));
                out.write_all(spoor::csv::table(&header, rows).as_bytes())
            }
            Format::Json => {
                for row in &self.rows {
                    json_line(out, self.columns.iter().map(String::as_str).zip(row))?;
                }
                Ok(())
            }
        }
    }

    fn write_table(&self, out: &mut impl Write) -> io::Result<()> {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(text).map(|t| one_line(&t)).collect())
            .collect();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let numeric: Vec<bool> = (0..self.columns.len())
            .map(|i| {
                !self.rows.is_empty()
                    && self
                        .rows
                        .iter()
                        .all(|r| r.get(i).is_none_or(Json::is_number))
            })
            .collect();
        let line = |out: &mut dyn Write, row: &[String], header: bool| -> io::Result<()> {
            let mut text = String::new();
            for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                let pad = width - cell.chars().count();
                if numeric[i] && !header {
                    text.extend(std::iter::repeat_n(' ', pad));
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", text.trim_end())
        };
        line(out, &self.columns, true)?;
        for row in &cells {
            line(out, row, false)?;
        }
        Ok(())
    }
}

/// A cell as text: a string as it is, a number as JSON writes it.
fn text(cell: &Json) -> String {
    match cell {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// A cell on one line of a table: line breaks and tabs shown escaped.
fn one_line(cell: &str) -> String {
    if cell.contains(['\n', '\r', '\t']) {
        cell.replace('\n', "\\n")
            .replace('\r', "\\r")
            .replace('\t', "\\t")
    } else {
        cell.to_owned()
    }
}

/// Writes one JSON object on a line, its keys in the order given (as Splunk gives fields).
///
/// ```
/// let mut out = Vec::new();
/// spoor_cli::output::json_line(&mut out, [("b", &serde_json::json!(1)), ("a", &serde_json::json!("x"))])?;
/// assert_eq!(out, b"{\"b\":1,\"a\":\"x\"}\n");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// The writer's.
pub fn json_line<'a>(
    out: &mut impl Write,
    pairs: impl IntoIterator<Item = (&'a str, &'a Json)>,
) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, value)?;
    }
    out.write_all(b"}\n")
}
