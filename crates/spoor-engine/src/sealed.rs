//! Sealed segments: a closed log segment rewritten as immutable, compressed, checksummed
//! blocks that hold the index's columns, from which most records' raw text is rebuilt, and
//! the text of the others.
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
//!   version: u8 (4; 2 and 3 are still read)
//!   columns: u32 LE length + a zstd frame      read on open, to index the block
//!   texts: u32 LE length + a zstd frame        (from the fourth version) the records whose
//!                                              text a template gives back ([`Texts`]), read
//!                                              when such a record's text is read
//!   chunks: u32 LE count, then per chunk:      the records kept whole, read when such a
//!                                              record's text is read
//!     first: u64 LE, len: u32 LE, crc: u32 LE  its first record's offset in the log file,
//!                                              its bytes and their crc32
//!   then the chunks' bytes, each a zstd frame of up to CHUNK_ROWS records:
//!     offset step: varint | payload length: varint | payload (as in a log frame)
//!
//! columns (decompressed):
//!   rows: varint | each record's offset step: varint | each time's step: zigzag varint
//!   index, sourcetype, source, host: each its values (count: varint, each a string), then codes
//!   per sourcetype: u8 flags of the extraction its fields were made with
//!   dictionary: id u64 LE, entries: varint      the index's dictionary the codes below are of
//!   fields: varint, then per field: name (a string), then codes (of the dictionary's values)
//!
//! codes: form: u8 (0: a code a row, 1: the rows with a value), width: u8 (1, 2 or 4 bytes)
//!   dense: a code a row (0: no value)
//!   sparse: count: varint | rows: u16 LE each, ascending | their codes
//!   codes are little-endian, `width` bytes each
//! ```
//!
//! Extracted fields are coded against the index's dictionary (see [`crate::dictionary`]), so
//! that a block carries no strings of its own for them and opening turns each code into the
//! in-memory index's with one table lookup, a value looked up once per index, not once per
//! block. The few values of the four metadata columns are each block's own.
//!
//! A record whose text is its time and its fields' values in a shape shared with other
//! records (see [`crate::template`]) keeps only its template's code and the order its pairs
//! were written in, in the block's texts, with the text's crc32: its text is rebuilt from
//! them and the values of its fields, which the in-memory index holds (checked against the
//! crc32: the index may have extracted them under other props), or else the block's own. The third version kept every record's
//! text, compressed, beside the columns: on the benchmark's events that was 44 of the 57
//! bytes a record took on disk.
//!
//! Opening reads a block's columns (times, metadata, every extracted field, as codes)
//! straight into the index, so no text is read or parsed again. A record's text is found
//! through its block's texts (the block is read and its texts, a few hundred kilobytes
//! for a whole block, are kept for its neighbours) or its chunk (a few kilobytes). Records keep the location they had in
//! the log (segment and byte offset), so rows indexed before their segment was sealed find
//! their text in the sealed file; a record read by its location alone, not through the index,
//! is rebuilt from its block's columns.
//!
//! # Why zstd
//!
//! Measured on the benchmark generator's lines (see `BENCHMARKS.md`): zstd at level 3 keeps a
//! line in 27 bytes when given a megabyte at a time, at hundreds of MB/s on one core, so
//! sealing keeps up with ingest; lz4 keeps about twice that. Chunks are smaller than that, for
//! reads; what that costs is in `BENCHMARKS.md`.

use std::collections::HashMap;
use std::io;

use spoor_event::extract::Extractor;

use crate::codec::{
    Reader, decompress, decompress_into, put, put_str, u32_at, u64_at, unzigzag, zigzag,
};
use crate::columns::{BUILT_IN, Codes};
use crate::dictionary::Dictionary;
use crate::record::{MARKER_LEN, Marker, Record, RecordRef};
use crate::template;

/// The most records a block holds.
pub(crate) const BLOCK_ROWS: usize = 65_536;
/// The bytes of a block's header.
pub(crate) const HEADER_LEN: usize = 40;
/// The largest body accepted, a guard against reading a corrupt length as real.
const MAX_BODY: usize = 1 << 30;
const VERSION: u8 = 4;
/// zstd's level for sealing: fast enough to keep up with ingest.
const LEVEL: i32 = 3;
/// The most records of a chunk, the unit a record's text is read in.
pub(crate) const CHUNK_ROWS: usize = 128;

/// A block's header, read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) len: usize,
    pub(crate) rows: usize,
    pub(crate) first: u64,
    pub(crate) last: u64,
    crc: u32,
}

/// What is at the start of some bytes of a sealed file.
#[cfg(test)]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// A whole block with a valid header and body.
    Block(Header),
    /// A valid header whose body is damaged or cut short.
    Damaged(Header),
    /// No valid header.
    Nothing,
}

/// Reads the block at the start of `bytes`, which must begin with `marker`.
#[cfg(test)]
pub(crate) fn read_block(bytes: &[u8], marker: &Marker) -> Found {
    match read_header(bytes, marker) {
        None => Found::Nothing,
        Some(header) if body_ok(bytes, &header) => Found::Block(header),
        Some(header) => Found::Damaged(header),
    }
}

/// The header at the start of `bytes`, if it begins with `marker` and checks out.
pub(crate) fn read_header(bytes: &[u8], marker: &Marker) -> Option<Header> {
    if bytes.len() < HEADER_LEN || bytes[..MARKER_LEN] != marker[..] {
        return None;
    }
    if crc32fast::hash(&bytes[..HEADER_LEN - 4]) != u32_at(bytes, HEADER_LEN - 4) {
        return None;
    }
    let header = Header {
        len: u32_at(bytes, 8) as usize,
        rows: u32_at(bytes, 12) as usize,
        first: u64_at(bytes, 16),
        last: u64_at(bytes, 24),
        crc: u32_at(bytes, 32),
    };
    (header.len <= MAX_BODY && header.rows > 0 && header.rows <= BLOCK_ROWS).then_some(header)
}

/// Whether the body `header` announces follows it whole in `bytes`, its checksum matching.
pub(crate) fn body_ok(bytes: &[u8], header: &Header) -> bool {
    bytes
        .get(HEADER_LEN..HEADER_LEN + header.len)
        .is_some_and(|body| crc32fast::hash(body) == header.crc)
}

/// A column being built: the rows that have a value and their codes.
#[derive(Debug, Default)]
struct Coded {
    rows: Vec<u32>,
    codes: Vec<u32>,
    max: u32,
}

impl Coded {
    fn push(&mut self, row: u32, code: u32) {
        self.rows.push(row);
        self.codes.push(code);
        self.max = self.max.max(code);
    }

    /// Writes the codes of a block of `rows` rows: dense (a code a row, `0` for none) when at
    /// least a quarter of the rows have a value, else the rows that have one.
    fn write(&self, rows: usize, out: &mut Vec<u8>) {
        let width = width_of(self.max);
        let put_code = |out: &mut Vec<u8>, code: u32| {
            out.extend_from_slice(&code.to_le_bytes()[..width]);
        };
        if self.rows.len() * 4 >= rows {
            out.extend_from_slice(&[0, width as u8]);
            let mut codes = self.codes.iter().zip(&self.rows).peekable();
            for row in 0..rows as u32 {
                let code = codes.next_if(|(_, r)| **r == row).map_or(0, |(c, _)| *c);
                put_code(out, code);
            }
        } else {
            out.extend_from_slice(&[1, width as u8]);
            put(out, self.rows.len() as u64);
            for &row in &self.rows {
                // A block's rows are fewer than 2^16 (`BLOCK_ROWS`).
                out.extend_from_slice(&(row as u16).to_le_bytes());
            }
            for &code in &self.codes {
                put_code(out, code);
            }
        }
    }
}

/// A metadata column being built, with values of its own.
#[derive(Debug, Default)]
struct Building {
    codes_of: HashMap<String, u32>,
    values: Vec<String>,
    coded: Coded,
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
        self.coded.push(row, code);
    }

    fn write(&self, rows: usize, out: &mut Vec<u8>) {
        put(out, self.values.len() as u64);
        for value in &self.values {
            put_str(out, value);
        }
        self.coded.write(rows, out);
    }
}

/// Builds one block from records given in their log's order, coding extracted fields against
/// an index's dictionary.
#[derive(Debug, Default)]
pub(crate) struct BlockBuilder {
    offsets: Vec<u64>,
    times: Vec<i64>,
    /// `index`, `sourcetype`, `source`, `host`.
    meta: [Building; 4],
    /// The extraction used, by sourcetype code.
    extractors: HashMap<u32, Extractor>,
    /// Each field's name, place in the dictionary and codes.
    fields: Vec<(String, usize, Coded)>,
    field_index: HashMap<String, u32>,
    /// The records whose text a template gives back (their text is not kept): each one's
    /// offset, template code and order.
    texts: Texts,
    template: template::Builder,
    /// The chunk being filled, and the chunks made: (first offset, compressed bytes).
    chunk: Vec<u8>,
    chunk_rows: usize,
    chunk_first: u64,
    chunk_last: u64,
    chunks: Vec<(u64, Vec<u8>)>,
}

impl BlockBuilder {
    /// How many records it holds.
    pub(crate) fn rows(&self) -> usize {
        self.offsets.len()
    }

    /// Its newest record's time (see [`latest_time`](crate::log::latest_time)).
    pub(crate) fn latest_time(&self) -> i64 {
        crate::log::latest_time(&self.times)
    }

    /// Adds a record stored at `offset` of its log segment, extracting its fields with
    /// `extractor` (its sourcetype's) and coding their values in `dictionary`.
    pub(crate) fn push(
        &mut self,
        offset: u64,
        record: &RecordRef<'_>,
        extractor: Extractor,
        dictionary: &mut Dictionary,
    ) -> io::Result<()> {
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
        let sourcetype = *self.meta[1].coded.codes.last().expect("just pushed");
        self.extractors.entry(sourcetype).or_insert(extractor);
        self.template.clear();
        let mut fields = extractor.fields(record.raw);
        while let Some((field, span)) = fields.next_with_span() {
            let key: &str = &field.key;
            // Built-in fields are never replaced; the first value of a key is the field's.
            if BUILT_IN.contains(&key) {
                continue;
            }
            let index = match self.field_index.get(key) {
                Some(&i) => i as usize,
                None => {
                    let place = dictionary.field_index(key);
                    self.fields.push((key.to_owned(), place, Coded::default()));
                    self.field_index
                        .insert(key.to_owned(), (self.fields.len() - 1) as u32);
                    self.fields.len() - 1
                }
            };
            let (_, place, coded) = &mut self.fields[index];
            if coded.rows.last() != Some(&row) {
                coded.push(row, dictionary.code_of(*place, &field.value));
                self.template.value(key, &field.value, span);
            }
        }
        if let Some((template, order)) = self.template.make(record.raw, record.time_micros) {
            let place = dictionary.field_index(template::FIELD);
            self.texts.offsets.push(offset);
            self.texts.codes.push(dictionary.code_of(place, template));
            self.texts.orders.push(order);
            self.texts.crcs.push(crc32fast::hash(record.raw.as_bytes()));
            return Ok(());
        }
        // A text no template gives back is kept whole.
        if self.chunk_rows == 0 {
            self.chunk_first = offset;
            self.chunk_last = offset;
        }
        let step = offset.wrapping_sub(self.chunk_last);
        self.chunk_last = offset;
        let mut framed = Vec::new();
        record
            .encode(&mut framed)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let payload = &framed[crate::record::HEADER_LEN..];
        put(&mut self.chunk, step);
        put(&mut self.chunk, payload.len() as u64);
        self.chunk.extend_from_slice(payload);
        self.chunk_rows += 1;
        if self.chunk_rows == CHUNK_ROWS {
            self.close_chunk()?;
        }
        Ok(())
    }

    fn close_chunk(&mut self) -> io::Result<()> {
        if self.chunk_rows > 0 {
            let compressed = zstd::bulk::compress(&self.chunk, LEVEL)?;
            self.chunks.push((self.chunk_first, compressed));
            self.chunk.clear();
            self.chunk_rows = 0;
        }
        Ok(())
    }

    /// The block, framed with `marker`, its fields coded against `dictionary` (which must be
    /// written before the block is); the builder is emptied for the next one.
    pub(crate) fn finish(
        &mut self,
        marker: &Marker,
        dictionary: &Dictionary,
    ) -> io::Result<Vec<u8>> {
        self.close_chunk()?;
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
        columns.extend_from_slice(&dictionary.id().to_le_bytes());
        put(&mut columns, dictionary.entries());
        put(&mut columns, built.fields.len() as u64);
        for (name, _, coded) in &built.fields {
            put_str(&mut columns, name);
            coded.write(rows, &mut columns);
        }
        let columns = zstd::bulk::compress(&columns, LEVEL)?;
        let texts = zstd::bulk::compress(&built.texts.encode(), LEVEL)?;
        let too_large = || io::Error::new(io::ErrorKind::InvalidInput, "block too large");
        let chunk_bytes: usize = built.chunks.iter().map(|(_, c)| c.len()).sum();
        let mut body = Vec::with_capacity(
            13 + columns.len() + texts.len() + 16 * built.chunks.len() + chunk_bytes,
        );
        body.push(VERSION);
        for section in [&columns, &texts] {
            body.extend_from_slice(
                &u32::try_from(section.len())
                    .map_err(|_| too_large())?
                    .to_le_bytes(),
            );
            body.extend_from_slice(section);
        }
        body.extend_from_slice(&(built.chunks.len() as u32).to_le_bytes());
        for (first, chunk) in &built.chunks {
            body.extend_from_slice(&first.to_le_bytes());
            body.extend_from_slice(
                &u32::try_from(chunk.len())
                    .map_err(|_| too_large())?
                    .to_le_bytes(),
            );
            body.extend_from_slice(&crc32fast::hash(chunk).to_le_bytes());
        }
        for (_, chunk) in &built.chunks {
            body.extend_from_slice(chunk);
        }
        let body_len = u32::try_from(body.len()).map_err(|_| too_large())?;
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(marker);
        out.extend_from_slice(&body_len.to_le_bytes());
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

/// Where a chunk of records is in a sealed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// Its first record's offset in the segment's log file.
    pub(crate) first: u64,
    /// Its bytes' place in the sealed file.
    pub(crate) pos: u64,
    pub(crate) len: u32,
    pub(crate) crc: u32,
}

/// The chunks of a block whose body starts at `pos` of its file.
pub(crate) fn chunks(body: &[u8], pos: u64) -> io::Result<Vec<Chunk>> {
    let mut r = Reader::new(body, "sealed block");
    let version = r.byte()?;
    if !(2..=VERSION).contains(&version) {
        return Err(damaged("unknown version"));
    }
    r.take_len()?;
    if version >= 4 {
        r.take_len()?;
    }
    let count = u32::from_le_bytes(r.bytes(4)?.try_into().expect("4 bytes")) as usize;
    if count > BLOCK_ROWS {
        return Err(damaged("too many chunks"));
    }
    let table = r.bytes(count * 16)?;
    let mut at = pos + (body.len() - r.rest.len()) as u64;
    let mut chunks = Vec::with_capacity(count);
    for entry in table.chunks_exact(16) {
        let chunk = Chunk {
            first: u64_at(entry, 0),
            pos: at,
            len: u32_at(entry, 8),
            crc: u32_at(entry, 12),
        };
        at += u64::from(chunk.len);
        chunks.push(chunk);
    }
    if at != pos + body.len() as u64 {
        return Err(damaged("the chunks do not add up"));
    }
    Ok(chunks)
}

/// A chunk's records, decompressed: each read when asked for.
#[derive(Debug)]
pub(crate) struct ChunkRecords {
    plain: Vec<u8>,
    /// Each record's offset in the log file, and its payload's place in `plain`.
    rows: Vec<(u64, usize, usize)>,
}

impl ChunkRecords {
    /// The records of a chunk's bytes, checked against its crc.
    pub(crate) fn read(chunk: &Chunk, bytes: &[u8]) -> io::Result<Self> {
        if crc32fast::hash(bytes) != chunk.crc {
            return Err(damaged("a chunk's checksum does not match"));
        }
        let plain = decompress(bytes)?;
        let mut r = Reader::new(&plain, "sealed block");
        let mut rows = Vec::with_capacity(CHUNK_ROWS);
        let mut offset = chunk.first;
        while !r.rest.is_empty() {
            offset = offset.wrapping_add(r.var()?);
            let len = r.count(crate::record::MAX_PAYLOAD)?;
            let start = plain.len() - r.rest.len();
            r.bytes(len)?;
            rows.push((offset, start, len));
        }
        Ok(Self { plain, rows })
    }

    /// How many records it holds.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The `i`-th record and its offset in the log file.
    pub(crate) fn get(&self, i: usize) -> io::Result<(u64, RecordRef<'_>)> {
        let (offset, start, len) = self.rows[i];
        let record = RecordRef::decode(&self.plain[start..start + len])
            .ok_or_else(|| damaged("a record"))?;
        Ok((offset, record))
    }

    /// The record stored at `offset` of the log file.
    pub(crate) fn at(&self, offset: u64) -> Option<io::Result<RecordRef<'_>>> {
        let i = self.rows.binary_search_by_key(&offset, |row| row.0).ok()?;
        Some(self.get(i).map(|(_, record)| record))
    }
}

/// A column of a sealed block: its distinct values and each row's code (`0`: no value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SealedColumn {
    pub(crate) values: Values,
    pub(crate) codes: SealedCodes,
}

/// Distinct values, in one string (so reading a block makes a few allocations, not one a
/// value, and leaves no scattered holes in the heap once dropped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Values {
    text: String,
    ends: Vec<u32>,
}

impl Values {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The value of code `k` (from 1) is the `k - 1`-th.
    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..end)
    }

    pub(crate) fn first(&self) -> Option<&str> {
        self.get(0)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// The codes of a [`SealedColumn`]: a code a row (dense), or the rows that have a value
/// (ascending) and their codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SealedCodes {
    dense: bool,
    rows: Vec<u32>,
    /// In the width the block keeps them in, so that a column of that width takes them by
    /// one copy.
    codes: Codes,
    /// The largest code.
    max: u32,
}

impl SealedColumn {
    /// The code of `row` (`0`: no value).
    pub(crate) fn code(&self, row: usize) -> u32 {
        if self.codes.dense {
            self.codes.codes.get(row)
        } else {
            self.codes
                .rows
                .binary_search(&(row as u32))
                .map_or(0, |i| self.codes.codes.get(i))
        }
    }

    /// The value of `row`, if it has one, for a column with values of its own.
    pub(crate) fn value(&self, row: usize) -> Option<&str> {
        match self.code(row) {
            0 => None,
            code => self.values.get(code as usize - 1),
        }
    }

    /// The largest code (`0` when no row has a value).
    pub(crate) fn max_code(&self) -> u32 {
        self.codes.max
    }

    /// A code a row (`0`: no value), when the column is stored so.
    pub(crate) fn dense(&self) -> Option<&Codes> {
        self.codes.dense.then_some(&self.codes.codes)
    }

    /// The rows with a value (ascending) and their codes, when the column is stored so.
    pub(crate) fn sparse(&self) -> Option<(&[u32], &Codes)> {
        (!self.codes.dense).then_some((&self.codes.rows[..], &self.codes.codes))
    }

    /// Every `(row, code)` with a value, rows ascending.
    pub(crate) fn present(&self) -> Box<dyn Iterator<Item = (u32, u32)> + '_> {
        let codes = &self.codes.codes;
        if self.codes.dense {
            Box::new(
                (0..codes.len())
                    .map(|r| (r as u32, codes.get(r)))
                    .filter(|&(_, c)| c != 0),
            )
        } else {
            Box::new(
                self.codes
                    .rows
                    .iter()
                    .enumerate()
                    .map(|(i, &r)| (r, codes.get(i))),
            )
        }
    }
}

/// A sealed block's columns, read back.
#[derive(Debug, Clone, Default)]
pub(crate) struct Block {
    /// Each record's offset in its segment's log file.
    pub(crate) offsets: Vec<u64>,
    pub(crate) times: Vec<i64>,
    /// `index`, `sourcetype`, `source`, `host`.
    pub(crate) meta: [SealedColumn; 4],
    /// The extraction the fields were made with, by sourcetype code (from 1).
    pub(crate) extractors: Vec<Extractor>,
    /// The dictionary the fields' codes are of, `(id, entries it needs)`; `None` for a block
    /// of the second version, whose fields have values of their own.
    pub(crate) dictionary: Option<(u64, u64)>,
    pub(crate) fields: Vec<(String, SealedColumn)>,
}

fn damaged(what: &str) -> io::Error {
    crate::codec::damaged("sealed block", what)
}

impl Block {
    /// Reads a block's columns from its body (checked by [`read_block`]).
    #[cfg(test)]
    pub(crate) fn decode(body: &[u8]) -> io::Result<Self> {
        let mut block = Self::default();
        block.decode_into(body, &mut Vec::new())?;
        Ok(block)
    }

    /// Reads a block's columns from its body into this one, reusing its room and `buf`'s (so
    /// reading block after block allocates once).
    pub(crate) fn decode_into(&mut self, body: &[u8], buf: &mut Vec<u8>) -> io::Result<()> {
        let mut body = Reader::new(body, "sealed block");
        let version = body.byte()?;
        if !(2..=VERSION).contains(&version) {
            return Err(damaged("unknown version"));
        }
        decompress_into(body.take_len()?, buf)?;
        let mut r = Reader::new(buf, "sealed block");
        let rows = r.count(BLOCK_ROWS)?;
        self.offsets.clear();
        self.offsets.reserve(rows);
        let mut previous = 0u64;
        r.vars(rows, |step| {
            previous = previous.wrapping_add(step);
            self.offsets.push(previous);
        })?;
        self.times.clear();
        self.times.reserve(rows);
        let mut previous = 0i64;
        r.vars(rows, |step| {
            previous = previous.wrapping_add(unzigzag(step));
            self.times.push(previous);
        })?;
        for column in &mut self.meta {
            read_own_column(&mut r, version, rows, column)?;
        }
        self.extractors.clear();
        for _ in 0..self.meta[1].values.len() {
            let flags = r.byte()?;
            let base = if flags & 1 == 1 {
                Extractor::auto_escaped()
            } else {
                Extractor::auto()
            };
            self.extractors.push(base.trim_spaces(flags & 2 == 2));
        }
        self.dictionary = if version >= 3 {
            Some((r.u64_le()?, r.var()?))
        } else {
            None
        };
        let count = r.count(1 << 20)?;
        self.fields.truncate(count);
        for i in 0..count {
            let name = r.str(MAX_BODY)?;
            if i == self.fields.len() {
                self.fields.push((String::new(), SealedColumn::default()));
            }
            let (field, column) = &mut self.fields[i];
            name.clone_into(field);
            if version >= 3 {
                column.values = Values::default();
                read_codes(&mut r, version, rows, u32::MAX as usize, &mut column.codes)?;
            } else {
                read_own_column(&mut r, version, rows, column)?;
            }
        }
        Ok(())
    }

    /// How many records it holds.
    pub(crate) fn rows(&self) -> usize {
        self.offsets.len()
    }

    /// Hands `visit` each record of `texts` (this block's), its text rebuilt with
    /// `dictionary` (the one its fields are coded against), with its offset in the log file,
    /// in order.
    pub(crate) fn each_rebuilt(
        &self,
        texts: &Texts,
        dictionary: &Dictionary,
        mut visit: impl FnMut(u64, Record),
    ) -> io::Result<()> {
        let by_name = self.by_name();
        for i in 0..texts.len() {
            let offset = texts.offsets[i];
            let row = self
                .offsets
                .binary_search(&offset)
                .map_err(|_| damaged("a template of no record"))?;
            let record =
                self.rebuild(row, texts.codes[i], texts.orders[i], dictionary, &by_name)?;
            visit(offset, record);
        }
        Ok(())
    }

    /// The record at `offset` of the log file, rebuilt, if `texts` (this block's) keeps its
    /// text as a template.
    pub(crate) fn rebuilt_at(
        &self,
        offset: u64,
        texts: &Texts,
        dictionary: &Dictionary,
    ) -> Option<io::Result<Record>> {
        let (code, order, _) = texts.find(offset)?;
        let Ok(row) = self.offsets.binary_search(&offset) else {
            return Some(Err(damaged("a template of no record")));
        };
        Some(self.rebuild(row, code, order, dictionary, &self.by_name()))
    }

    fn by_name(&self) -> HashMap<&str, &SealedColumn> {
        self.fields
            .iter()
            .map(|(name, column)| (name.as_str(), column))
            .collect()
    }

    fn rebuild(
        &self,
        row: usize,
        code: u32,
        order: u32,
        dictionary: &Dictionary,
        by_name: &HashMap<&str, &SealedColumn>,
    ) -> io::Result<Record> {
        let of = |field: &str, code: u32| {
            dictionary
                .field(field)
                .filter(|dict| code != 0 && code as usize <= dict.len())
                .map(|dict| dict.get(code))
        };
        let template = of(template::FIELD, code)
            .ok_or_else(|| damaged("a template its dictionary does not hold"))?;
        let time = self.times[row];
        let mut raw = String::with_capacity(template.len() + 64);
        template::rebuild(
            template,
            order,
            time,
            |field| of(field, by_name.get(field)?.code(row)),
            &mut raw,
        )
        .map_err(|broken| damaged(&broken.to_string()))?;
        let meta = |i: usize| self.meta[i].value(row).unwrap_or_default().to_owned();
        Ok(Record {
            time_micros: time,
            index: meta(0),
            sourcetype: meta(1),
            source: meta(2),
            host: meta(3),
            raw,
        })
    }
}

/// The records of a block whose text a template gives back: each one's offset in the log
/// file (ascending), its template's code (in the block's dictionary), its order, and the
/// crc32 of its text, which a text rebuilt with values from elsewhere (the in-memory index's,
/// extracted under props that may have changed since) is checked against.
///
/// ```text
/// count: varint | each offset's step: varint | codes | orders | crcs: u32 LE each
/// codes, orders: width: u8 (1, 2 or 4 bytes), then each, little-endian
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Texts {
    pub(crate) offsets: Vec<u64>,
    pub(crate) codes: Vec<u32>,
    pub(crate) orders: Vec<u32>,
    pub(crate) crcs: Vec<u32>,
}

impl Texts {
    pub(crate) fn len(&self) -> usize {
        self.offsets.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// The template code, order and text's crc32 of the record at `offset`, if it has a
    /// template.
    pub(crate) fn find(&self, offset: u64) -> Option<(u32, u32, u32)> {
        let i = self.offsets.binary_search(&offset).ok()?;
        Some((self.codes[i], self.orders[i], self.crcs[i]))
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() * 8);
        put(&mut out, self.len() as u64);
        let mut previous = 0;
        for &offset in &self.offsets {
            put(&mut out, offset.wrapping_sub(previous));
            previous = offset;
        }
        for values in [&self.codes, &self.orders] {
            let width = width_of(values.iter().copied().max().unwrap_or(0));
            out.push(width as u8);
            for value in values {
                out.extend_from_slice(&value.to_le_bytes()[..width]);
            }
        }
        for crc in &self.crcs {
            out.extend_from_slice(&crc.to_le_bytes());
        }
        out
    }

    /// Reads the texts section of a block's body (checked by [`read_block`]); none for a
    /// block before the fourth version.
    pub(crate) fn decode(body: &[u8]) -> io::Result<Self> {
        let mut r = Reader::new(body, "sealed block");
        let version = r.byte()?;
        if !(2..=VERSION).contains(&version) {
            return Err(damaged("unknown version"));
        }
        r.take_len()?;
        let mut texts = Self::default();
        if version < 4 {
            return Ok(texts);
        }
        let plain = decompress(r.take_len()?)?;
        let mut r = Reader::new(&plain, "sealed block");
        let count = r.count(BLOCK_ROWS)?;
        let mut previous = 0u64;
        for _ in 0..count {
            previous = previous.wrapping_add(r.var()?);
            texts.offsets.push(previous);
        }
        if texts.offsets.windows(2).any(|w| w[0] >= w[1]) {
            return Err(damaged("templates out of order"));
        }
        for values in [&mut texts.codes, &mut texts.orders] {
            let width = r.byte()? as usize;
            if !matches!(width, 1 | 2 | 4) {
                return Err(damaged("unknown width"));
            }
            read_fixed(&mut r, width, count, values)?;
        }
        read_fixed(&mut r, 4, count, &mut texts.crcs)?;
        if !r.rest.is_empty() {
            return Err(damaged("bytes after the templates"));
        }
        Ok(texts)
    }
}

/// The bytes a little-endian code up to `max` takes: 1, 2 or 4.
fn width_of(max: u32) -> usize {
    match max {
        0..=0xff => 1,
        0x100..=0xffff => 2,
        _ => 4,
    }
}

/// Reads a column with values of its own, then their codes.
fn read_own_column(
    r: &mut Reader<'_>,
    version: u8,
    rows: usize,
    column: &mut SealedColumn,
) -> io::Result<()> {
    read_values(r, rows, &mut column.values)?;
    read_codes(r, version, rows, column.values.len(), &mut column.codes)
}

/// Reads a column's own values (at most one a row).
fn read_values(r: &mut Reader<'_>, rows: usize, values: &mut Values) -> io::Result<()> {
    let count = r.count(rows)?;
    values.text.clear();
    values.ends.clear();
    for _ in 0..count {
        values.text.push_str(r.str(MAX_BODY)?);
        values
            .ends
            .push(u32::try_from(values.text.len()).map_err(|_| damaged("values too long"))?);
    }
    Ok(())
}

/// Reads a column's codes, of a block of `version` with `rows` rows, each at most `max`.
fn read_codes(
    r: &mut Reader<'_>,
    version: u8,
    rows: usize,
    max: usize,
    codes: &mut SealedCodes,
) -> io::Result<()> {
    codes.rows.clear();
    let dense = match r.byte()? {
        0 => true,
        1 => false,
        _ => return Err(damaged("unknown column form")),
    };
    codes.dense = dense;
    // The second version wrote varints and rows as steps; the third fixed widths.
    let width = if version == 2 { 0 } else { r.byte()? as usize };
    let read = |r: &mut Reader<'_>, n: usize, out: &mut Codes| -> io::Result<()> {
        if width == 0 {
            let mut codes = Vec::with_capacity(n);
            for _ in 0..n {
                codes.push(r.count(max)? as u32);
            }
            *out = Codes::U32(codes);
            Ok(())
        } else {
            let bytes = r.bytes(width.saturating_mul(n))?;
            out.read_le(width, bytes)
                .ok_or_else(|| damaged("unknown code width"))
        }
    };
    if dense {
        read(r, rows, &mut codes.codes)?;
    } else {
        let n = r.count(rows)?;
        if width == 0 {
            let mut row = 0u64;
            for _ in 0..n {
                row = row.saturating_add(r.var()?);
                codes.rows.push(u32::try_from(row).unwrap_or(u32::MAX));
            }
        } else {
            read_fixed(r, 2, n, &mut codes.rows)?;
        }
        if codes.rows.windows(2).any(|w| w[0] >= w[1]) {
            return Err(damaged("rows out of order"));
        }
        if codes.rows.last().is_some_and(|&row| row as usize >= rows) {
            return Err(damaged("a row out of range"));
        }
        read(r, n, &mut codes.codes)?;
        if codes.codes.present() != n {
            return Err(damaged("a present value without a code"));
        }
    }
    codes.max = codes.codes.max();
    if codes.max as usize > max {
        return Err(damaged("a code out of range"));
    }
    Ok(())
}

/// Reads `n` little-endian numbers of `width` bytes (1, 2 or 4) into `out`.
fn read_fixed(r: &mut Reader<'_>, width: usize, n: usize, out: &mut Vec<u32>) -> io::Result<()> {
    match width {
        1 => out.extend(r.bytes(n)?.iter().map(|&b| u32::from(b))),
        2 => out.extend(
            r.bytes(2 * n)?
                .chunks_exact(2)
                .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]]))),
        ),
        4 => out.extend(
            r.bytes(4 * n)?
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
        _ => return Err(damaged("unknown code width")),
    }
    Ok(())
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
    fn records_and_columns_come_back() {
        let lines: Vec<String> = (0..300)
            .map(|i| match i % 4 {
                0 => format!("2025-11-28T12:00:00.000000Z application=\"shop\" event=\"e{i}\""),
                1 => format!("a={i} a=2 host=evil"),
                2 => format!("ünï=cødé 名前=\"値{i}\""),
                _ => String::new(),
            })
            .collect();
        let mut builder = BlockBuilder::default();
        let mut dictionary = Dictionary::new(1).unwrap();
        for (i, raw) in lines.iter().enumerate() {
            builder
                .push(
                    i as u64 * 100,
                    &record(i as i64, raw),
                    Extractor::spoor(),
                    &mut dictionary,
                )
                .unwrap();
        }
        let marker = *b"\x01\x02\x03\x04\x05\x06\x07\x08";
        let bytes = builder.finish(&marker, &dictionary).unwrap();
        let Found::Block(header) = read_block(&bytes, &marker) else {
            panic!("no block");
        };
        assert_eq!((header.rows, header.first, header.last), (300, 0, 29_900));
        let body = &bytes[HEADER_LEN..];
        let block = Block::decode(body).unwrap();
        assert_eq!(block.rows(), 300);
        assert_eq!(
            block.dictionary,
            Some((dictionary.id(), dictionary.entries()))
        );
        let value = |field: &str, row: usize| {
            let (_, column) = block.fields.iter().find(|(n, _)| n == field).unwrap();
            let code = column.code(row);
            (code != 0).then(|| dictionary.field(field).unwrap().get(code).to_owned())
        };
        assert_eq!(value("event", 4).as_deref(), Some("e4"));
        assert_eq!(value("event", 5), None);
        assert_eq!(
            value("a", 1).as_deref(),
            Some("1"),
            "the first value of a key"
        );
        assert_eq!(block.meta[2].value(7), Some("app"));
        assert!(block.fields.iter().all(|(n, _)| n != "host"));
        let chunks = chunks(body, HEADER_LEN as u64).unwrap();
        let mut read = Vec::new();
        for chunk in &chunks {
            let at = chunk.pos as usize;
            let records = ChunkRecords::read(chunk, &bytes[at..at + chunk.len as usize]).unwrap();
            for i in 0..records.len() {
                let (offset, record) = records.get(i).unwrap();
                read.push((offset, record.to_record()));
            }
        }
        // The lines with a time other than their record's, with a second value of a key, or
        // with a key that cleans to nothing are kept whole (225, in two chunks); the empty
        // ones are rebuilt from a template.
        assert_eq!((chunks.len(), read.len()), (2, 225));
        let texts = Texts::decode(body).unwrap();
        assert_eq!(texts.len(), 75);
        block
            .each_rebuilt(&texts, &dictionary, |offset, record| {
                read.push((offset, record));
            })
            .unwrap();
        read.sort_by_key(|(offset, _)| *offset);
        assert_eq!(read.len(), 300);
        assert_eq!(
            block.rebuilt_at(300, &texts, &dictionary).unwrap().unwrap(),
            read[3].1
        );
        assert!(
            block.rebuilt_at(0, &texts, &dictionary).is_none(),
            "kept whole"
        );
        for (i, (offset, record)) in read.iter().enumerate() {
            assert_eq!(*offset, i as u64 * 100);
            assert_eq!(record.raw, lines[i]);
            assert_eq!(record.host, "web-1");
            assert_eq!(record.time_micros, i as i64);
        }
    }

    #[test]
    fn codes_of_every_width_and_form_come_back() {
        // Codes past 2^8 and 2^16, in fields every row has (dense) and few rows have (sparse).
        let mut dictionary = Dictionary::new(1).unwrap();
        for field in ["small", "wide", "wider", "rare"] {
            let place = dictionary.field_index(field);
            let filler = match field {
                "wide" => 300,
                "wider" => 70_000,
                "rare" => 70_000,
                _ => 0,
            };
            for i in 0..filler {
                dictionary.code_of(place, &format!("filler-{i}"));
            }
        }
        let rows = 1000;
        let lines: Vec<String> = (0..rows)
            .map(|i| {
                let rare = if i % 10 == 3 {
                    format!(" rare=r{i}")
                } else {
                    String::new()
                };
                format!("small=s{} wide=w{} wider=x{i}{rare}", i % 3, i % 7)
            })
            .collect();
        let mut builder = BlockBuilder::default();
        for (i, raw) in lines.iter().enumerate() {
            builder
                .push(
                    i as u64,
                    &record(i as i64, raw),
                    Extractor::spoor(),
                    &mut dictionary,
                )
                .unwrap();
        }
        let bytes = builder.finish(&[9; 8], &dictionary).unwrap();
        let block = Block::decode(&bytes[HEADER_LEN..]).unwrap();
        let column = |field: &str| &block.fields.iter().find(|(n, _)| n == field).unwrap().1;
        assert!(column("small").dense().is_some());
        assert!(column("wider").dense().is_some());
        assert!(
            column("rare").dense().is_none(),
            "a tenth of the rows: sparse"
        );
        assert!(column("wider").max_code() > 70_000);
        for (i, line) in lines.iter().enumerate() {
            let mut found: Vec<String> = Vec::new();
            for field in ["small", "wide", "wider", "rare"] {
                let code = column(field).code(i);
                if code != 0 {
                    found.push(format!(
                        "{field}={}",
                        dictionary.field(field).unwrap().get(code)
                    ));
                }
            }
            assert_eq!(found.join(" "), *line, "row {i}");
        }
    }

    #[test]
    fn damage_is_found_and_never_panics() {
        let mut builder = BlockBuilder::default();
        let mut dictionary = Dictionary::new(1).unwrap();
        for i in 0..100 {
            builder
                .push(
                    i * 90,
                    &record(
                        1_764_331_200_000_000 + i as i64,
                        "application=\"a\" event=\"b\"",
                    ),
                    Extractor::spoor(),
                    &mut dictionary,
                )
                .unwrap();
        }
        let marker = [7; 8];
        let bytes = builder.finish(&marker, &dictionary).unwrap();
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
        for len in 0..60 {
            let body = &bytes[HEADER_LEN..HEADER_LEN + len];
            let _ = Block::decode(body);
            let _ = chunks(body, 0);
        }
        let chunk = Chunk {
            first: 0,
            pos: 0,
            len: 10,
            crc: crc32fast::hash(&[1; 10]),
        };
        assert!(ChunkRecords::read(&chunk, &[1; 10]).is_err());
    }
}
