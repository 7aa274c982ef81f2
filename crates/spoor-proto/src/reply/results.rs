//! Search results: a page of `search/jobs/{sid}/results` (or `events`), and the stream of
//! `search/jobs/export`.

use super::{OutputMode, json_messages, json_str, xml_msg, xml_text};
use crate::error::Message;

/// Rows of fields, as a search gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table<'a> {
    /// The column names, in order.
    pub fields: &'a [String],
    /// The rows; each has one cell per column, `None` where the row has no value.
    pub rows: &'a [Vec<Option<String>>],
    /// The position of the first row in all the results (`init_offset`).
    pub offset: usize,
    /// Messages that come with the results.
    pub messages: &'a [Message],
    /// Whether these are preview rows of a search still running.
    pub preview: bool,
}

/// A page of results: `<results preview='0'>` with the field order, messages and
/// `<result offset='n'>` rows (Splunk's single quotes kept), or
/// `{"preview":false,"init_offset":0,"messages":[],"fields":[…],"results":[…], "highlighted":{}}` on
/// one line. A row's missing cells are left out, as Splunk leaves out null fields.
///
/// ```
/// use spoor_proto::reply::{self, OutputMode, Table};
///
/// let fields = ["event".to_owned(), "count".to_owned()];
/// let rows = [vec![Some("login".to_owned()), Some("3".to_owned())], vec![None, Some("1".to_owned())]];
/// let table = Table { fields: &fields, rows: &rows, offset: 0, messages: &[], preview: false };
/// let page = spoor_proto::search::parse_results(&http::Response::new(reply::results(OutputMode::Json, &table)))?;
/// assert_eq!(page.fields, ["event", "count"]);
/// assert_eq!(page.rows[0].get_str("event"), Some("login"));
/// assert_eq!(page.rows[1].get_str("event"), None);
///
/// let xml = String::from_utf8(reply::results(OutputMode::Xml, &table))?;
/// assert!(xml.contains("<result offset='1'>\n\t\t<field k='count'>\n\t\t\t<value><text>1</text></value>"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn results(mode: OutputMode, table: &Table<'_>) -> Vec<u8> {
    let mut out = String::new();
    match mode {
        OutputMode::Xml => {
            xml_head(&mut out, table.fields, table.messages, table.preview);
            for (i, row) in table.rows.iter().enumerate() {
                xml_row(&mut out, table.offset + i, table.fields, row);
            }
            out.push_str("</results>\n");
        }
        OutputMode::Json => {
            out.push_str(if table.preview {
                "{\"preview\":true"
            } else {
                "{\"preview\":false"
            });
            out.push_str(",\"init_offset\":");
            out.push_str(&table.offset.to_string());
            out.push_str(",\"messages\":");
            json_messages(&mut out, table.messages);
            out.push_str(",\"fields\":[");
            for (i, field) in table.fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"name\":");
                json_str(&mut out, field);
                out.push('}');
            }
            out.push_str("],\"results\":[");
            for (i, row) in table.rows.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_row(&mut out, table.fields, row);
            }
            out.push_str("], \"highlighted\":{}}");
        }
    }
    out.into_bytes()
}

/// Writes `search/jobs/export`'s stream a piece at a time, so a server can send rows as it
/// goes: [`head`](Self::head), then [`row`](Self::row) for each row, then
/// [`tail`](Self::tail). XML is one `<results preview='0'>` document; JSON is one object per
/// line, `{"preview":false,"offset":n,"result":{…}}`, the last row marked `"lastrow":true`
/// and the messages on a line of their own first.
///
/// ```
/// use spoor_proto::reply::{ExportWriter, OutputMode};
/// use spoor_proto::search::{ExportDecoder, ExportItem};
///
/// let fields = ["n".to_owned()];
/// let writer = ExportWriter::new(OutputMode::Json, &fields);
/// let mut body = Vec::new();
/// writer.head(&mut body, &[]);
/// writer.row(&mut body, 0, &[Some("1".to_owned())], false);
/// writer.row(&mut body, 1, &[Some("2".to_owned())], true);
/// writer.tail(&mut body);
///
/// let mut decoder = ExportDecoder::new();
/// decoder.push(&body)?;
/// decoder.finish();
/// let rows: Vec<_> = std::iter::from_fn(|| decoder.next_item()).collect::<Result<_, _>>()?;
/// assert!(matches!(&rows[1], ExportItem::Row(row) if row.get_str("n") == Some("2")));
/// # Ok::<(), spoor_proto::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ExportWriter<'a> {
    mode: OutputMode,
    fields: &'a [String],
}

impl<'a> ExportWriter<'a> {
    /// A writer for rows of these fields.
    pub fn new(mode: OutputMode, fields: &'a [String]) -> Self {
        Self { mode, fields }
    }

    /// The start of the stream, with the search's messages.
    pub fn head(&self, out: &mut Vec<u8>, messages: &[Message]) {
        let mut s = String::new();
        match self.mode {
            OutputMode::Xml => xml_head(&mut s, self.fields, messages, false),
            OutputMode::Json if messages.is_empty() => {}
            OutputMode::Json => {
                s.push_str("{\"preview\":false,\"messages\":");
                json_messages(&mut s, messages);
                s.push_str("}\n");
            }
        }
        out.extend_from_slice(s.as_bytes());
    }

    /// One row, at `offset` in the results; `last` for the final one.
    pub fn row(&self, out: &mut Vec<u8>, offset: usize, row: &[Option<String>], last: bool) {
        let mut s = String::new();
        match self.mode {
            OutputMode::Xml => xml_row(&mut s, offset, self.fields, row),
            OutputMode::Json => {
                s.push_str("{\"preview\":false,\"offset\":");
                s.push_str(&offset.to_string());
                if last {
                    s.push_str(",\"lastrow\":true");
                }
                s.push_str(",\"result\":");
                json_row(&mut s, self.fields, row);
                s.push_str("}\n");
            }
        }
        out.extend_from_slice(s.as_bytes());
    }

    /// The end of the stream.
    pub fn tail(&self, out: &mut Vec<u8>) {
        if self.mode == OutputMode::Xml {
            out.extend_from_slice(b"</results>\n");
        }
    }
}

fn xml_head(out: &mut String, fields: &[String], messages: &[Message], preview: bool) {
    out.push_str("<?xml version='1.0' encoding='UTF-8'?>\n<results preview='");
    out.push(if preview { '1' } else { '0' });
    out.push_str("'>\n<meta>\n<fieldOrder>\n");
    for field in fields {
        out.push_str("<field>");
        xml_text(out, field);
        out.push_str("</field>\n");
    }
    out.push_str("</fieldOrder>\n</meta>\n");
    if !messages.is_empty() {
        out.push_str("<messages>\n");
        for m in messages {
            xml_msg(out, "  ", m);
        }
        out.push_str("</messages>\n");
    }
    out.push('\n');
}

fn xml_row(out: &mut String, offset: usize, fields: &[String], row: &[Option<String>]) {
    out.push_str("\t<result offset='");
    out.push_str(&offset.to_string());
    out.push_str("'>\n");
    for (field, value) in fields.iter().zip(row) {
        let Some(value) = value else { continue };
        out.push_str("\t\t<field k='");
        xml_text(out, field);
        out.push_str("'>\n\t\t\t");
        if field == "_raw" {
            out.push_str("<v xml:space='preserve' trunc='0'>");
            xml_text(out, value);
            out.push_str("</v>");
        } else {
            out.push_str("<value><text>");
            xml_text(out, value);
            out.push_str("</text></value>");
        }
        out.push_str("\n\t\t</field>\n");
    }
    out.push_str("\t</result>\n");
}

fn json_row(out: &mut String, fields: &[String], row: &[Option<String>]) {
    out.push('{');
    let mut first = true;
    for (field, value) in fields.iter().zip(row) {
        let Some(value) = value else { continue };
        if !first {
            out.push(',');
        }
        first = false;
        json_str(out, field);
        out.push(':');
        json_str(out, value);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Level;
    use proptest::prelude::*;

    fn owned(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// Any text in any cell reads back exactly from JSON, and the reply is one line.
        #[test]
        fn json_results_read_back(cells in proptest::collection::vec(proptest::option::of(any::<String>()), 0..6)) {
            let fields: Vec<String> = (0..cells.len()).map(|i| format!("f{i}")).collect();
            let rows = vec![cells.clone()];
            let messages = [Message::new(Level::Info, "note\n")];
            let table = Table { fields: &fields, rows: &rows, offset: 5, messages: &messages, preview: false };
            let body = results(OutputMode::Json, &table);
            prop_assert!(!body.contains(&b'\n'));
            let page = crate::search::parse_results(&http::Response::new(body)).unwrap();
            prop_assert_eq!(page.init_offset, 5);
            for (i, cell) in cells.iter().enumerate() {
                prop_assert_eq!(page.rows[0].get_str(&format!("f{i}")), cell.as_deref());
            }
        }
    }

    #[test]
    fn xml_results_keep_splunks_layout() {
        let fields = owned(&["_raw", "_time", "event"]);
        let rows = vec![vec![
            Some("a=\"<b>\"".to_owned()),
            Some("2026-11-28T12:00:00.000+00:00".to_owned()),
            None,
        ]];
        let messages = [Message::new(Level::Warn, "w")];
        let table = Table {
            fields: &fields,
            rows: &rows,
            offset: 0,
            messages: &messages,
            preview: false,
        };
        let xml = String::from_utf8(results(OutputMode::Xml, &table)).unwrap();
        assert!(xml.starts_with("<?xml version='1.0' encoding='UTF-8'?>\n<results preview='0'>\n<meta>\n<fieldOrder>\n<field>_raw</field>"));
        assert!(xml.contains("<messages>\n  <msg type=\"WARN\">w</msg>\n</messages>"));
        assert!(xml.contains("<v xml:space='preserve' trunc='0'>a=&quot;&lt;b&gt;&quot;</v>"));
        assert!(!xml.contains("k='event'"));
        assert!(xml.ends_with("\t</result>\n</results>\n"));
    }

    #[test]
    fn export_xml_is_one_results_document() {
        let fields = owned(&["n"]);
        let w = ExportWriter::new(OutputMode::Xml, &fields);
        let mut body = Vec::new();
        w.head(&mut body, &[]);
        w.row(&mut body, 0, &[Some("1".to_owned())], true);
        w.tail(&mut body);
        let text = String::from_utf8(body).unwrap();
        assert_eq!(text.matches("<results preview='0'>").count(), 1);
        assert!(text.ends_with("</results>\n"));
    }
}
