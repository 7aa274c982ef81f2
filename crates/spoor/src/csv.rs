//! Tables as CSV (RFC 4180), safe to open in a spreadsheet: a cell that a spreadsheet would
//! read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is
//! prefixed with `'`, so an event or value named `=HYPERLINK(…)` stays text. The dashboard's
//! downloads and the command line's `--format csv` write them.

/// A CSV document: a header row, then rows; lines end with CRLF.
///
/// ```
/// let csv = spoor::csv::table(&["event", "count"], [["login".to_owned(), "3".to_owned()]]);
/// assert_eq!(csv, "event,count\r\nlogin,3\r\n");
/// ```
pub fn table<R, C>(header: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = C>,
    C: IntoIterator<Item = String>,
{
    let mut out = String::new();
    line(&mut out, header.iter().map(|h| (*h).to_owned()));
    for row in rows {
        line(&mut out, row);
    }
    out
}

fn line(out: &mut String, cells: impl IntoIterator<Item = String>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell_into(out, &cell);
    }
    out.push_str("\r\n");
}

fn cell_into(out: &mut String, cell: &str) {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || cell.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if formula && cell.parse::<f64>().is_err() {
        out.push('\'');
    }
    for c in cell.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_formulas() {
        let csv = table(
            &["value", "count"],
            [
                vec!["a,b".to_owned(), "1".to_owned()],
                vec!["say \"hi\"".to_owned(), "2".to_owned()],
                vec!["=HYPERLINK(\"x\")".to_owned(), "-3".to_owned()],
                vec!["line\nbreak".to_owned(), "4".to_owned()],
            ],
        );
        assert_eq!(
            csv,
            "value,count\r\n\"a,b\",1\r\n\"say \"\"hi\"\"\",2\r\n\"'=HYPERLINK(\"\"x\"\")\",\"-3\"\r\n\"line\nbreak\",4\r\n"
        );
    }
}
