//! Sealed segments: a closed log segment rewritten as immutable, compressed, checksummed
//! blocks that hold both the index's columns and, rebuilt from them, the raw text.
//!
//! ```text
//! <index dir>/00000000000000000001-3f9c0e21a4b7d865.sealed   blocks of up to BLOCK_ROWS records
//! ```
//!
//! A block is a 40-byte header and a body:
//!
//! ```text
//! sync: [u8; 8]        the segment's sync marker (as its log frames had)
//! len: u32 LE          the body's length
//! rows: u32 LE         its records
//! first: u64 LE        the first record's offset in the segment's log file
//! last: u64 LE         the last record's offset there
//! crc: u32 LE          crc32 of the body
//! head: u32 LE         crc32 of the 36 bytes before it
//! body:
//!   version: u8 (1)
//!   columns: u32 LE length + a zstd frame     (read on open, to index the block)
//!   literal: u32 LE length + a zstd frame     (read only when a line that is kept whole is read)
//! ```
//!
//! # Raw text as templates
//!
//! The columns a block keeps for the index (times, metadata, every extracted field) already
//! hold almost every byte of a spoor line; what is left is the same few shapes again and
//! again: `<time> application="…" event="…" distinct_id="…"`. So a line is kept as its
//! *template*, the text between its field values with a hole for each value and one for its
//! timestamp, interned once a block, and the number of its template. A line is rebuilt from
//! its template and the row's values, and a line whose rebuild would not give back every byte
//! (a key seen twice, an escaped or trimmed value, a timestamp in another form, a value of a
//! built-in field) is kept whole, compressed apart: nothing is ever changed, and lines that
//! are not spoor's cost what zstd makes of them.
//!
//! Records keep the location they had in the log (segment and byte offset), so rows indexed
//! before their segment was sealed find their text in the sealed file.
//!
//! # Why zstd
//!
//! Measured on the benchmark generator's lines in 1 MiB chunks (see `BENCHMARKS.md`): zstd at
//! level 3 keeps 27 bytes a line and at 9, 21; lz4 about twice zstd's size. Templates leave
//! the columns, which zstd at level 3 makes small at hundreds of MB/s, so sealing keeps up
//! with ingest.

use std::collections::HashMap;
use std::io;

use spoor_event::extract::Extractor;
use time::OffsetDateTime;

use crate::columns::BUILT_IN;
use crate::record::{MARKER_LEN, Marker, Record, RecordRef};

/// The most records a block holds.
pub(crate) const BLOCK_ROWS: usize = 65_536;
/// The bytes of a block's header.
pub(crate) const HEADER_LEN: usize = 40;
/// The largest body accepted, a guard against reading a corrupt length as real.
const MAX_BODY: usize = 1 << 30;
const VERSION: u8 = 1;
/// zstd's level for sealing: fast enough to keep up with ingest.
const LEVEL: i32 = 3;
/// The most templates a block interns; lines past it are kept whole.
const MAX_TEMPLATES: usize = 4_096;
/// The length of `2026-11-28T12:00:00.123456Z`.
const TIME_LEN: usize = 27;

/// A block's header, read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) len: usize,
    pub(crate) rows: usize,
    pub(crate) first: u64,
    pub(crate) last: u64,
    crc: u32,
}

impl Header {
    /// The checksum of the body.
    pub(crate) fn crc(&self) -> u32 {
        self.crc
    }
}

/// What is at the start of some bytes of a sealed file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// A whole block with a valid header and body.
    Block(Header),
    /// A valid header whose body is damaged or cut short.
    Damaged(Header),
    /// No valid header.
    Nothing,
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Reads the block at the start of `bytes`, which must begin with `marker`.
pub(crate) fn read_block(bytes: &[u8], marker: &Marker) -> Found {
    if bytes.len() < HEADER_LEN || bytes[..MARKER_LEN] != marker[..] {
        return Found::Nothing;
    }
    if crc32fast::hash(&bytes[..HEADER_LEN - 4]) != u32_at(bytes, HEADER_LEN - 4) {
        return Found::Nothing;
    }
    let header = Header {
        len: u32_at(bytes, 8) as usize,
        rows: u32_at(bytes, 12) as usize,
        first: u64_at(bytes, 16),
        last: u64_at(bytes, 24),
        crc: u32_at(bytes, 32),
    };
    if header.len > MAX_BODY || header.rows == 0 || header.rows > BLOCK_ROWS {
        return Found::Nothing;
    }
    match bytes.get(HEADER_LEN..HEADER_LEN + header.len) {
        Some(body) if crc32fast::hash(body) == header.crc => Found::Block(header),
        _ => Found::Damaged(header),
    }
}

/// One piece of a line's template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Piece {
    /// Text kept as it is.
    Text(String),
    /// The record's time as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    Time,
    /// The value of the block's field of that number.
    Field(u32),
}

/// A column being built: distinct values and the rows that have one.
#[derive(Debug, Default)]
struct Building {
    codes_of: HashMap<String, u32>,
    values: Vec<String>,
    rows: Vec<u32>,
    codes: Vec<u32>,
}

impl Building {
    fn push(&mut self, row: u32, value: &str) {
        let code = match self.codes_of.get(value) {
            Some(&code) => code,
            None => {
                self.values.push(value.to_owned());
                let code = self.values.len() as u32;
                self.codes_of.insert(value.to_owned(), code);
                code
            }
        };
        self.rows.push(row);
        self.codes.push(code);
    }

    fn write(&self, rows: usize, out: &mut Vec<u8>) {
        put(out, self.values.len() as u64);
        for value in &self.values {
            put_str(out, value);
        }
        // Dense (a code a row, `0` for none) when at least a quarter of the rows have a value.
        if self.rows.len() * 4 >= rows {
            out.push(0);
            let mut codes = self.codes.iter().zip(&self.rows).peekable();
            for row in 0..rows as u32 {
                match codes.next_if(|(_, r)| **r == row) {
                    Some((code, _)) => put(out, u64::from(*code)),
                    None => put(out, 0),
                }
            }
        } else {
            out.push(1);
            put(out, self.rows.len() as u64);
            let mut previous = 0;
            for &row in &self.rows {
                put(out, u64::from(row - previous));
                previous = row;
            }
            for &code in &self.codes {
                put(out, u64::from(code));
            }
        }
    }
}

/// Builds one block from records given in their log's order.
#[derive(Debug, Default)]
pub(crate) struct BlockBuilder {
    offsets: Vec<u64>,
    times: Vec<i64>,
    /// `index`, `sourcetype`, `source`, `host`.
    meta: [Building; 4],
    /// The extraction used, by sourcetype code.
    extractors: HashMap<u32, Extractor>,
    fields: Vec<(String, Building)>,
    field_index: HashMap<String, u32>,
    templates: HashMap<Vec<Piece>, u32>,
    template_list: Vec<Vec<Piece>>,
    template_of: Vec<u32>,
    literal: Vec<u8>,
    literal_lens: Vec<u32>,
}

impl BlockBuilder {
    /// How many records it holds.
    pub(crate) fn rows(&self) -> usize {
        self.offsets.len()
    }

    /// Adds a record stored at `offset` of its log segment, extracting its fields with
    /// `extractor` (its sourcetype's).
    pub(crate) fn push(&mut self, offset: u64, record: &RecordRef<'_>, extractor: Extractor) {
        let row = self.offsets.len() as u32;
        self.offsets.push(offset);
        self.times.push(record.time_micros);
        for (column, value) in
            self.meta
                .iter_mut()
                .zip([record.index, record.sourcetype, record.source, record.host])
        {
            column.push(row, value);
        }
        let sourcetype = *self.meta[1].codes.last().expect("just pushed");
        self.extractors.entry(sourcetype).or_insert(extractor);

        let raw = record.raw;
        let mut pieces = Vec::new();
        let mut cursor = 0;
        let mut whole = false;
        let mut stamp = [0; TIME_LEN];
        if format_time(record.time_micros, &mut stamp) && raw.as_bytes().starts_with(&stamp) {
            pieces.push(Piece::Time);
            cursor = TIME_LEN;
        }
        let mut seen: Vec<u32> = Vec::new();
        for field in extractor.fields(raw) {
            let key: &str = &field.key;
            if BUILT_IN.contains(&key) {
                whole = true;
                continue;
            }
            let index = match self.field_index.get(key) {
                Some(&i) => i,
                None => {
                    self.fields.push((key.to_owned(), Building::default()));
                    let i = (self.fields.len() - 1) as u32;
                    self.field_index.insert(key.to_owned(), i);
                    i
                }
            };
            if seen.contains(&index) {
                // A key seen twice: the first value is the field's; the line is kept whole.
                whole = true;
                continue;
            }
            seen.push(index);
            self.fields[index as usize].1.push(row, &field.value);
            // The value's place in the line, when it is the line's own bytes.
            let start = (field.value.as_ptr() as usize).wrapping_sub(raw.as_ptr() as usize);
            match raw.get(start..start.wrapping_add(field.value.len())) {
                Some(text)
                    if !whole
                        && start >= cursor
                        && text.as_ptr() == field.value.as_ptr()
                        && text == field.value =>
                {
                    if start > cursor {
                        pieces.push(Piece::Text(raw[cursor..start].to_owned()));
                    }
                    pieces.push(Piece::Field(index));
                    cursor = start + text.len();
                }
                _ => whole = true,
            }
        }
        if cursor < raw.len() {
            pieces.push(Piece::Text(raw[cursor..].to_owned()));
        }
        let template = if whole {
            None
        } else if let Some(&t) = self.templates.get(&pieces) {
            Some(t)
        } else if self.template_list.len() < MAX_TEMPLATES {
            self.template_list.push(pieces.clone());
            let t = self.template_list.len() as u32;
            self.templates.insert(pieces, t);
            Some(t)
        } else {
            None
        };
        match template {
            Some(t) => self.template_of.push(t),
            None => {
                self.template_of.push(0);
                self.literal.extend_from_slice(raw.as_bytes());
                self.literal_lens.push(raw.len() as u32);
            }
        }
    }

    /// The block, framed with `marker`; the builder is emptied for the next one.
    pub(crate) fn finish(&mut self, marker: &Marker) -> io::Result<Vec<u8>> {
        let built = std::mem::take(self);
        let rows = built.offsets.len();
        let mut columns = Vec::with_capacity(rows * 16);
        put(&mut columns, rows as u64);
        let mut previous = 0u64;
        for &offset in &built.offsets {
            put(&mut columns, offset.wrapping_sub(previous));
            previous = offset;
        }
        let mut previous = 0i64;
        for &time in &built.times {
            put(&mut columns, zigzag(time.wrapping_sub(previous)));
            previous = time;
        }
        for column in &built.meta {
            column.write(rows, &mut columns);
        }
        for code in 1..=built.meta[1].values.len() as u32 {
            let extractor = built.extractors.get(&code).copied().unwrap_or_default();
            columns.push(u8::from(extractor.escapes()) | u8::from(extractor.trims_spaces()) << 1);
        }
        put(&mut columns, built.fields.len() as u64);
        for (name, column) in &built.fields {
            put_str(&mut columns, name);
            column.write(rows, &mut columns);
        }
        put(&mut columns, built.template_list.len() as u64);
        for template in &built.template_list {
            put(&mut columns, template.len() as u64);
            for piece in template {
                match piece {
                    Piece::Text(text) => {
                        columns.push(0);
                        put_str(&mut columns, text);
                    }
                    Piece::Time => columns.push(1),
                    Piece::Field(f) => {
                        columns.push(2);
                        put(&mut columns, u64::from(*f));
                    }
                }
            }
        }
        for &t in &built.template_of {
            put(&mut columns, u64::from(t));
        }
        for &len in &built.literal_lens {
            put(&mut columns, u64::from(len));
        }
        let columns = zstd::bulk::compress(&columns, LEVEL)?;
        let literal = zstd::bulk::compress(&built.literal, LEVEL)?;
        let mut body = Vec::with_capacity(9 + columns.len() + literal.len());
        body.push(VERSION);
        for part in [&columns, &literal] {
            let len = u32::try_from(part.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "block too large"))?;
            body.extend_from_slice(&len.to_le_bytes());
            body.extend_from_slice(part);
        }
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(marker);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&(rows as u32).to_le_bytes());
        out.extend_from_slice(&built.offsets.first().copied().unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&built.offsets.last().copied().unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        let head = crc32fast::hash(&out);
        out.extend_from_slice(&head.to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }
}

/// A column of a sealed block: its distinct values and each row's code (`0`: no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SealedColumn {
    pub(crate) values: Vec<String>,
    pub(crate) codes: SealedCodes,
}

/// The codes of a [`SealedColumn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SealedCodes {
    /// A code a row.
    Dense(Vec<u32>),
    /// The rows that have a value (ascending), and their codes.
    Sparse { rows: Vec<u32>, codes: Vec<u32> },
}

impl SealedColumn {
    /// The code of `row` (`0`: no value).
    pub(crate) fn code(&self, row: usize) -> u32 {
        match &self.codes {
            SealedCodes::Dense(codes) => codes.get(row).copied().unwrap_or(0),
            SealedCodes::Sparse { rows, codes } => {
                rows.binary_search(&(row as u32)).map_or(0, |i| codes[i])
            }
        }
    }

    /// The value of `row`, if it has one.
    pub(crate) fn value(&self, row: usize) -> Option<&str> {
        match self.code(row) {
            0 => None,
            code => self.values.get(code as usize - 1).map(String::as_str),
        }
    }

    /// Every `(row, code)` with a value, rows ascending.
    pub(crate) fn present(&self) -> Box<dyn Iterator<Item = (u32, u32)> + '_> {
        match &self.codes {
            SealedCodes::Dense(codes) => Box::new(
                codes
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c != 0)
                    .map(|(r, c)| (r as u32, *c)),
            ),
            SealedCodes::Sparse { rows, codes } => {
                Box::new(rows.iter().copied().zip(codes.iter().copied()))
            }
        }
    }
}

/// A sealed block, read back.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// Each record's offset in its segment's log file.
    pub(crate) offsets: Vec<u64>,
    pub(crate) times: Vec<i64>,
    /// `index`, `sourcetype`, `source`, `host`.
    pub(crate) meta: [SealedColumn; 4],
    /// The extraction the fields were made with, by sourcetype code (from 1).
    pub(crate) extractors: Vec<Extractor>,
    pub(crate) fields: Vec<(String, SealedColumn)>,
    templates: Vec<Vec<Piece>>,
    template_of: Vec<u32>,
    /// Each line kept whole: its start in `literal` and length, by row (`None` for a rebuilt one).
    literal_at: Vec<Option<(usize, usize)>>,
    /// The lines kept whole, when read.
    literal: Option<Vec<u8>>,
}

fn damaged(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("sealed block is damaged: {what}"),
    )
}

impl Block {
    /// Reads a block's body (checked by [`read_block`]); with `raw`, the lines kept whole too.
    pub(crate) fn decode(body: &[u8], raw: bool) -> io::Result<Self> {
        let mut body = Reader(body);
        if body.byte()? != VERSION {
            return Err(damaged("unknown version"));
        }
        let columns = body.take_len()?;
        let literal = body.take_len()?;
        let columns = zstd::stream::decode_all(columns)?;
        let literal = if raw {
            Some(zstd::stream::decode_all(literal)?)
        } else {
            None
        };
        let mut r = Reader(&columns);
        let rows = r.count(BLOCK_ROWS)?;
        let mut offsets = Vec::with_capacity(rows);
        let mut previous = 0u64;
        for _ in 0..rows {
            previous = previous.wrapping_add(r.var()?);
            offsets.push(previous);
        }
        let mut times = Vec::with_capacity(rows);
        let mut previous = 0i64;
        for _ in 0..rows {
            previous = previous.wrapping_add(unzigzag(r.var()?));
            times.push(previous);
        }
        let meta = [
            r.column(rows)?,
            r.column(rows)?,
            r.column(rows)?,
            r.column(rows)?,
        ];
        let mut extractors = Vec::with_capacity(meta[1].values.len());
        for _ in 0..meta[1].values.len() {
            let flags = r.byte()?;
            let base = if flags & 1 == 1 {
                Extractor::auto_escaped()
            } else {
                Extractor::auto()
            };
            extractors.push(base.trim_spaces(flags & 2 == 2));
        }
        let count = r.count(1 << 20)?;
        let mut fields = Vec::with_capacity(count);
        for _ in 0..count {
            let name = r.string()?;
            fields.push((name, r.column(rows)?));
        }
        let count = r.count(MAX_TEMPLATES)?;
        let mut templates = Vec::with_capacity(count);
        for _ in 0..count {
            let pieces = r.count(1 << 20)?;
            let mut template = Vec::with_capacity(pieces);
            for _ in 0..pieces {
                template.push(match r.byte()? {
                    0 => Piece::Text(r.string()?),
                    1 => Piece::Time,
                    2 => {
                        let f = r.count(fields.len().saturating_sub(1))?;
                        Piece::Field(f as u32)
                    }
                    _ => return Err(damaged("unknown template piece")),
                });
            }
            templates.push(template);
        }
        let mut template_of = Vec::with_capacity(rows);
        for _ in 0..rows {
            template_of.push(r.count(templates.len())? as u32);
        }
        let mut literal_at = Vec::with_capacity(rows);
        let mut start = 0usize;
        for &t in &template_of {
            if t == 0 {
                let len = r.count(MAX_BODY)?;
                literal_at.push(Some((start, len)));
                start += len;
            } else {
                literal_at.push(None);
            }
        }
        if let Some(literal) = &literal
            && literal.len() != start
        {
            return Err(damaged("the lines kept whole do not add up"));
        }
        Ok(Self {
            offsets,
            times,
            meta,
            extractors,
            fields,
            templates,
            template_of,
            literal_at,
            literal,
        })
    }

    /// How many records it holds.
    pub(crate) fn rows(&self) -> usize {
        self.offsets.len()
    }

    /// The row of the record stored at `offset` of the log file.
    pub(crate) fn row_at(&self, offset: u64) -> Option<usize> {
        self.offsets.binary_search(&offset).ok()
    }

    /// The raw text of `row`, rebuilt (the block must have been read with its raw text for a
    /// line kept whole).
    pub(crate) fn raw(&self, row: usize) -> io::Result<String> {
        if let Some((start, len)) = self.literal_at[row] {
            let literal = self
                .literal
                .as_ref()
                .ok_or_else(|| io::Error::other("block read without its raw text"))?;
            let bytes = literal
                .get(start..start + len)
                .ok_or_else(|| damaged("a line kept whole is cut"))?;
            return String::from_utf8(bytes.to_vec()).map_err(|_| damaged("a line is not utf-8"));
        }
        let template = &self.templates[self.template_of[row] as usize - 1];
        let mut out = String::new();
        for piece in template {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Time => {
                    let mut stamp = [0; TIME_LEN];
                    if !format_time(self.times[row], &mut stamp) {
                        return Err(damaged("a time out of range"));
                    }
                    out.push_str(std::str::from_utf8(&stamp).map_err(|_| damaged("time"))?);
                }
                Piece::Field(f) => {
                    let value = self.fields[*f as usize]
                        .1
                        .value(row)
                        .ok_or_else(|| damaged("a template's field has no value"))?;
                    out.push_str(value);
                }
            }
        }
        Ok(out)
    }

    /// The record of `row`, rebuilt.
    pub(crate) fn record(&self, row: usize) -> io::Result<Record> {
        let meta = |i: usize| {
            self.meta[i]
                .value(row)
                .map(str::to_owned)
                .ok_or_else(|| damaged("a record without its metadata"))
        };
        Ok(Record {
            time_micros: self.times[row],
            index: meta(0)?,
            sourcetype: meta(1)?,
            source: meta(2)?,
            host: meta(3)?,
            raw: self.raw(row)?,
        })
    }
}

/// Writes `micros` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`; `false` outside the years 0000 to 9999.
fn format_time(micros: i64, out: &mut [u8; TIME_LEN]) -> bool {
    fn digits(out: &mut [u8], mut n: u32) {
        for slot in out.iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    let Ok(time) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000) else {
        return false;
    };
    let Ok(year) = u32::try_from(time.year()) else {
        return false;
    };
    if year > 9999 {
        return false;
    }
    digits(&mut out[0..4], year);
    out[4] = b'-';
    digits(&mut out[5..7], u32::from(u8::from(time.month())));
    out[7] = b'-';
    digits(&mut out[8..10], u32::from(time.day()));
    out[10] = b'T';
    digits(&mut out[11..13], u32::from(time.hour()));
    out[13] = b':';
    digits(&mut out[14..16], u32::from(time.minute()));
    out[16] = b':';
    digits(&mut out[17..19], u32::from(time.second()));
    out[19] = b'.';
    digits(&mut out[20..26], time.microsecond());
    out[26] = b'Z';
    true
}

fn put(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// Reads what [`BlockBuilder::finish`] wrote; every read is checked, so damaged bytes that
/// pass the checksum still give an error, never a panic.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> io::Result<u8> {
        let (&b, rest) = self.0.split_first().ok_or_else(|| damaged("cut short"))?;
        self.0 = rest;
        Ok(b)
    }

    fn var(&mut self) -> io::Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(damaged("a number too long"))
    }

    /// A number of at most `max`.
    fn count(&mut self, max: usize) -> io::Result<usize> {
        let n = self.var()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= max)
            .ok_or_else(|| damaged("a count out of range"))
    }

    fn bytes(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if n > self.0.len() {
            return Err(damaged("cut short"));
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn take_len(&mut self) -> io::Result<&'a [u8]> {
        let len = self.bytes(4)?;
        let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
        self.bytes(len)
    }

    fn string(&mut self) -> io::Result<String> {
        let len = self.count(MAX_BODY)?;
        let bytes = self.bytes(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| damaged("a string is not utf-8"))
    }

    fn column(&mut self, rows: usize) -> io::Result<SealedColumn> {
        let count = self.count(rows)?;
        let mut values = Vec::with_capacity(count);
        for _ in 0..count {
            values.push(self.string()?);
        }
        let codes = match self.byte()? {
            0 => {
                let mut codes = Vec::with_capacity(rows);
                for _ in 0..rows {
                    codes.push(self.count(count)? as u32);
                }
                SealedCodes::Dense(codes)
            }
            1 => {
                let n = self.count(rows)?;
                let mut present = Vec::with_capacity(n);
                let mut row = 0u64;
                for i in 0..n {
                    let step = self.var()?;
                    if i > 0 && step == 0 {
                        return Err(damaged("rows out of order"));
                    }
                    row = row.saturating_add(step);
                    if row >= rows as u64 {
                        return Err(damaged("a row out of range"));
                    }
                    present.push(row as u32);
                }
                let mut codes = Vec::with_capacity(n);
                for _ in 0..n {
                    let code = self.count(count)? as u32;
                    if code == 0 {
                        return Err(damaged("a present value without a code"));
                    }
                    codes.push(code);
                }
                SealedCodes::Sparse {
                    rows: present,
                    codes,
                }
            }
            _ => return Err(damaged("unknown column form")),
        };
        Ok(SealedColumn { values, codes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(time: i64, raw: &'a str) -> RecordRef<'a> {
        RecordRef {
            time_micros: time,
            index: "main",
            sourcetype: "spoor",
            source: "app",
            host: "web-1",
            raw,
        }
    }

    #[test]
    fn lines_come_back_byte_for_byte() {
        let lines = [
            (
                1_764_331_200_000_000,
                "2025-11-28T12:00:00.000000Z application=\"shop\" event=\"login\" distinct_id=\"u1\"",
            ),
            (
                1_764_331_200_000_001,
                "2025-11-28T12:00:00.000001Z application=\"shop\" event=\"buy\" analytics_prop__n=3",
            ),
            // Escapes, a repeated key, a built-in field, another time form, no time at all.
            (5, "2025-11-28T12:00:00.000001Z event=\"say \\\"hi\\\"\""),
            (6, "a=1 a=2"),
            (7, "host=evil a=1"),
            (8, "Nov 28 12:00:00 a=1"),
            (9, ""),
            (10, "x=\"\" y= z=\"unclosed"),
            (11, "ünï=cødé 名前=\"値\""),
        ];
        let mut builder = BlockBuilder::default();
        for (i, (time, raw)) in lines.iter().enumerate() {
            builder.push(i as u64 * 100, &record(*time, raw), Extractor::spoor());
        }
        let marker = *b"\x01\x02\x03\x04\x05\x06\x07\x08";
        let bytes = builder.finish(&marker).unwrap();
        let Found::Block(header) = read_block(&bytes, &marker) else {
            panic!("no block");
        };
        assert_eq!((header.rows, header.first, header.last), (9, 0, 800));
        let block = Block::decode(&bytes[HEADER_LEN..], true).unwrap();
        for (i, (time, raw)) in lines.iter().enumerate() {
            let record = block.record(i).unwrap();
            assert_eq!(record.raw, *raw, "row {i}");
            assert_eq!(record.time_micros, *time);
            assert_eq!(record.host, "web-1");
            assert_eq!(block.row_at(i as u64 * 100), Some(i));
        }
        // The two spoor lines share nothing but were rebuilt; only odd lines are kept whole.
        assert!(block.literal_at[0].is_none() && block.literal_at[1].is_none());
        assert!(block.literal_at[2].is_some() && block.literal_at[3].is_some());
    }

    #[test]
    fn damage_is_found_and_never_panics() {
        let mut builder = BlockBuilder::default();
        for i in 0..100 {
            builder.push(
                i * 90,
                &record(
                    1_764_331_200_000_000 + i as i64,
                    "application=\"a\" event=\"b\"",
                ),
                Extractor::spoor(),
            );
        }
        let marker = [7; 8];
        let bytes = builder.finish(&marker).unwrap();
        assert!(matches!(read_block(&bytes, &[8; 8]), Found::Nothing));
        for at in [0, 9, 20, 39] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            assert_eq!(
                read_block(&bad, &marker),
                Found::Nothing,
                "header byte {at}"
            );
        }
        let mut bad = bytes.clone();
        bad[HEADER_LEN + 10] ^= 1;
        assert!(matches!(read_block(&bad, &marker), Found::Damaged(_)));
        assert!(matches!(
            read_block(&bytes[..bytes.len() - 1], &marker),
            Found::Damaged(_)
        ));
        // Bodies that are not what a builder wrote give errors.
        for len in 0..40 {
            let _ = Block::decode(&bytes[HEADER_LEN..HEADER_LEN + len], true);
        }
    }
}
