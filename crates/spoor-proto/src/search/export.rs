//! The export-stream decoder; see [`ExportDecoder`].

use std::collections::VecDeque;

use crate::eai::OrderedObject;
use crate::error::{Error, Message};
use crate::search::results::Row;
use crate::service::JsonMessage;

/// What the export stream yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportItem {
    /// A final (non-preview) result row.
    Row(Row),
    /// A message Splunk attached to the stream.
    Message(Message),
}

/// An incremental decoder for `search/jobs/export` in JSON output mode.
///
/// Splunk streams one JSON object per line as the search runs:
///
/// ```text
/// {"preview":true,"offset":0,"lastrow":true,"result":{"host":"a","count":"62"}}
/// {"preview":false,"offset":0,"result":{"host":"a","count":"1682"}}
/// {"preview":false,"offset":1,"lastrow":true,"result":{"host":"b","count":"3"}}
/// ```
///
/// Reporting searches send sets of preview rows (`"preview":true`) before the final set;
/// the decoder drops previews and yields only final rows, plus messages. It holds only the
/// bytes not yet decoded: memory is bounded by the longest line (and by how much the caller
/// pushes before pulling), never by the whole stream.
///
/// Messages are passed on as they come; a `FATAL` one means the search failed (the HTTP
/// status was already 200 when it started streaming).
///
/// Push bytes in with [`push`](Self::push), pull rows out with
/// [`next_item`](Self::next_item); call [`finish`](Self::finish) at the end of the stream.
///
/// ```
/// use spoor_proto::search::{ExportDecoder, ExportItem};
///
/// let mut decoder = ExportDecoder::new();
/// decoder.push(br#"{"preview":true,"offset":0,"lastrow":true,"result":{"n":"1"}}
/// {"preview":false,"offset":0,"lastrow":true,"res"#)?;
/// assert!(decoder.next_item().is_none()); // the preview row is dropped, the last line is partial
/// decoder.push(br#"ult":{"n":"2"}}"#)?;
/// decoder.finish();
/// let Some(Ok(ExportItem::Row(row))) = decoder.next_item() else { panic!() };
/// assert_eq!(row.get_str("n"), Some("2"));
/// assert!(decoder.next_item().is_none() && decoder.is_finished());
/// # Ok::<(), spoor_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct ExportDecoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already decoded.
    start: usize,
    /// Bytes of `buf` from `start` known to hold no newline.
    scanned: usize,
    max_line_len: usize,
    ended: bool,
    pending: VecDeque<ExportItem>,
}

impl Default for ExportDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// The default longest line accepted: 16 MiB.
pub const DEFAULT_MAX_LINE_LEN: usize = 16 << 20;

#[derive(serde::Deserialize)]
struct Line {
    #[serde(default)]
    preview: bool,
    #[serde(default)]
    result: Option<OrderedObject>,
    #[serde(default)]
    results: Vec<OrderedObject>,
    #[serde(default)]
    messages: Vec<JsonMessage>,
}

impl ExportDecoder {
    /// A decoder accepting lines up to [`DEFAULT_MAX_LINE_LEN`].
    pub fn new() -> Self {
        Self::with_max_line_len(DEFAULT_MAX_LINE_LEN)
    }

    /// A decoder accepting lines up to `max` bytes.
    pub fn with_max_line_len(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            max_line_len: max,
            ended: false,
            pending: VecDeque::new(),
        }
    }

    /// Appends a chunk of the response body, split anywhere.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] when a line grows past the maximum line length.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
        let unscanned = &self.buf[self.scanned..];
        if !unscanned.contains(&b'\n') && self.buf.len() > self.max_line_len {
            return Err(Error::parse("export stream (line longer than the limit)"));
        }
        Ok(())
    }

    /// Marks the end of the stream: a last line without a newline is decoded too.
    pub fn finish(&mut self) {
        self.ended = true;
    }

    /// Whether the stream has ended and everything was pulled.
    pub fn is_finished(&self) -> bool {
        self.ended
            && self.pending.is_empty()
            && self.buf[self.start..].iter().all(u8::is_ascii_whitespace)
    }

    /// The next final row or message; `None` when more bytes are needed (or the stream is
    /// finished).
    ///
    /// # Errors
    ///
    /// `Some(Err(Error::Parse))` for a line that is not a JSON object; decoding goes on with
    /// the next line.
    pub fn next_item(&mut self) -> Option<Result<ExportItem, Error>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(Ok(item));
            }
            let line = self.next_line()?;
            if let Err(e) = self.decode_line(line) {
                return Some(Err(e));
            }
        }
    }

    /// The next complete line's byte range, consumed.
    fn next_line(&mut self) -> Option<std::ops::Range<usize>> {
        loop {
            let rest = &self.buf[self.start.max(self.scanned)..];
            let range = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    let end = self.start.max(self.scanned) + i;
                    let range = self.start..end;
                    self.start = end + 1;
                    range
                }
                None if self.ended && self.start < self.buf.len() => {
                    let range = self.start..self.buf.len();
                    self.start = self.buf.len();
                    range
                }
                None => {
                    self.scanned = self.buf.len();
                    return None;
                }
            };
            self.scanned = self.start;
            if !self.buf[range.clone()].iter().all(u8::is_ascii_whitespace) {
                return Some(range);
            }
        }
    }

    fn decode_line(&mut self, range: std::ops::Range<usize>) -> Result<(), Error> {
        let line: Line = serde_json::from_slice(&self.buf[range])
            .map_err(|e| Error::parse_with("export stream line", e))?;
        if line.preview {
            return Ok(());
        }
        self.pending.extend(
            line.messages
                .into_iter()
                .map(|m| ExportItem::Message(m.into())),
        );
        self.pending.extend(
            line.result
                .into_iter()
                .chain(line.results)
                .map(|r| ExportItem::Row(Row::from_object(r))),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Level;
    use proptest::prelude::*;

    const STREAM: &str = concat!(
        "{\"preview\":true,\"offset\":0,\"lastrow\":true,\"result\":{\"host\":\"a\",\"count\":\"62\"}}\n",
        "\n",
        "{\"preview\":false,\"messages\":[{\"type\":\"WARN\",\"text\":\"truncated\"}]}\r\n",
        "{\"preview\":false,\"offset\":0,\"result\":{\"host\":\"a\",\"count\":\"1682\",\"mv\":[\"x\",\"\u{e9}\"]}}\n",
        "{\"preview\":false,\"offset\":1,\"lastrow\":true,\"result\":{\"host\":\"b\",\"count\":\"3\"}}",
    );

    fn drain(d: &mut ExportDecoder, out: &mut Vec<ExportItem>) {
        while let Some(item) = d.next_item() {
            out.push(item.unwrap());
        }
    }

    fn decode_in_pieces(bytes: &[u8], cuts: &[usize]) -> Vec<ExportItem> {
        let mut d = ExportDecoder::new();
        let mut out = Vec::new();
        let mut at = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        for cut in cuts {
            d.push(&bytes[at..cut]).unwrap();
            drain(&mut d, &mut out);
            at = cut;
        }
        d.push(&bytes[at..]).unwrap();
        d.finish();
        drain(&mut d, &mut out);
        assert!(d.is_finished());
        out
    }

    #[test]
    fn drops_previews_keeps_messages_and_final_rows() {
        let items = decode_in_pieces(STREAM.as_bytes(), &[]);
        assert_eq!(items.len(), 3);
        assert!(
            matches!(&items[0], ExportItem::Message(m) if m.level == Level::Warn && m.text == "truncated")
        );
        let ExportItem::Row(row) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(row.get_str("count"), Some("1682"));
        assert_eq!(row.get("mv").unwrap().values(), ["x", "\u{e9}"]);
    }

    #[test]
    fn bad_line_is_an_error_then_decoding_goes_on() {
        let mut d = ExportDecoder::new();
        d.push(b"not json\n{\"result\":{\"a\":\"1\"}}\n").unwrap();
        assert!(d.next_item().unwrap().is_err());
        assert!(matches!(d.next_item(), Some(Ok(ExportItem::Row(_)))));
    }

    #[test]
    fn memory_is_bounded_by_the_line() {
        let mut d = ExportDecoder::with_max_line_len(64);
        let line = "{\"preview\":false,\"result\":{\"a\":\"1\"}}\n";
        for _ in 0..1000 {
            d.push(line.as_bytes()).unwrap();
            assert!(matches!(d.next_item(), Some(Ok(ExportItem::Row(_)))));
            assert!(d.buf.len() <= 2 * line.len());
        }
        assert!(d.push(&[b'x'; 65]).is_err());
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_items(cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
            let whole = decode_in_pieces(STREAM.as_bytes(), &[]);
            prop_assert_eq!(decode_in_pieces(STREAM.as_bytes(), &cuts), whole);
        }

        #[test]
        fn never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..256), cut in any::<usize>()) {
            let mut d = ExportDecoder::new();
            let cut = cut % (bytes.len() + 1);
            let _ = d.push(&bytes[..cut]);
            while d.next_item().is_some() {}
            let _ = d.push(&bytes[cut..]);
            d.finish();
            while d.next_item().is_some() {}
        }
    }
}
