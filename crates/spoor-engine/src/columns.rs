//! The in-memory columnar index of one engine index: a time column, and a dictionary-encoded
//! column per field, dense for common fields and sparse for rare ones.

use std::ops::Range;
use std::sync::Arc;

use spoor_event::extract::Extractor;

use crate::dictionary::{Dict, Dictionary};
use crate::hash::FxHashMap;
use crate::log::Location;
use crate::postings::{Posted, Postings};
use crate::record::RecordRef;
use crate::sealed::{Block, SealedColumn};
use crate::template;

/// Codes in the narrowest form that holds them: one code for all rows (a column of one value,
/// such as a sourcetype, stores none), else the narrowest integer, so a column of a few
/// distinct values costs a byte a row. Widened as its dictionary grows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Codes {
    /// `len` codes, all `code`.
    Same {
        code: u32,
        len: usize,
    },
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Default for Codes {
    fn default() -> Self {
        Self::U8(Vec::new())
    }
}

impl Codes {
    fn zeros(len: usize, widest: u32) -> Self {
        let mut codes = Self::default();
        codes.widen(widest);
        codes.resize(len);
        codes
    }

    /// The codes of `bytes`, `width` (1, 2 or 4) little-endian bytes each, in that width,
    /// this one's vector reused when it is of that width; `None` for another width.
    pub(crate) fn read_le(&mut self, width: usize, bytes: &[u8]) -> Option<()> {
        fn go<T, const N: usize>(v: &mut Vec<T>, bytes: &[u8], from: fn([u8; N]) -> T) {
            v.clear();
            v.extend(
                bytes
                    .chunks_exact(N)
                    .map(|b| from(b.try_into().expect("N bytes"))),
            );
        }
        match (width, &mut *self) {
            (1, Self::U8(v)) => {
                v.clear();
                v.extend_from_slice(bytes);
            }
            (2, Self::U16(v)) => go(v, bytes, u16::from_le_bytes),
            (4, Self::U32(v)) => go(v, bytes, u32::from_le_bytes),
            (1 | 2 | 4, _) => {
                *self = match width {
                    1 => Self::U8(Vec::new()),
                    2 => Self::U16(Vec::new()),
                    _ => Self::U32(Vec::new()),
                };
                return self.read_le(width, bytes);
            }
            _ => return None,
        }
        Some(())
    }

    /// The largest code (`0` for none).
    pub(crate) fn max(&self) -> u32 {
        match self {
            Self::Same { code, len: 1.. } => *code,
            Self::Same { .. } => 0,
            Self::U8(v) => v.iter().copied().max().map_or(0, u32::from),
            Self::U16(v) => v.iter().copied().max().map_or(0, u32::from),
            Self::U32(v) => v.iter().copied().max().unwrap_or(0),
        }
    }

    /// Where the last code that is not `0` is.
    fn last_nonzero(&self) -> Option<usize> {
        fn go<T: Copy + Into<u32>>(v: &[T]) -> Option<usize> {
            v.iter().rposition(|&c| c.into() != 0)
        }
        match self {
            Self::Same { code: 0, .. } | Self::Same { len: 0, .. } => None,
            Self::Same { len, .. } => Some(len - 1),
            Self::U8(v) => go(v),
            Self::U16(v) => go(v),
            Self::U32(v) => go(v),
        }
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> u32 {
        match self {
            Self::Same { code, len } => {
                if i < *len {
                    *code
                } else {
                    0
                }
            }
            Self::U8(v) => v.get(i).map_or(0, |&c| u32::from(c)),
            Self::U16(v) => v.get(i).map_or(0, |&c| u32::from(c)),
            Self::U32(v) => v.get(i).copied().unwrap_or(0),
        }
    }

    /// Makes room for codes up to `code` (storing each code of a run of one).
    fn widen(&mut self, code: u32) {
        if let Self::Same { code: same, len } = *self {
            *self = Self::zeros(0, code.max(same));
            self.resize(len);
            if same != 0 {
                match self {
                    Self::U8(v) => v.fill(u8::try_from(same).unwrap_or(u8::MAX)),
                    Self::U16(v) => v.fill(u16::try_from(same).unwrap_or(u16::MAX)),
                    Self::U32(v) => v.fill(same),
                    Self::Same { .. } => {}
                }
            }
        }
        // The room reserved is kept, in codes, across a widening.
        fn widened<T: Copy, U: From<T>>(v: &[T], capacity: usize) -> Vec<U> {
            let mut wide = Vec::with_capacity(capacity);
            wide.extend(v.iter().map(|&c| U::from(c)));
            wide
        }
        match self {
            Self::U8(v) if code > u32::from(u8::MAX) => {
                *self = if code > u32::from(u16::MAX) {
                    Self::U32(widened(v, v.capacity()))
                } else {
                    Self::U16(widened(v, v.capacity()))
                };
            }
            Self::U16(v) if code > u32::from(u16::MAX) => {
                *self = Self::U32(widened(v, v.capacity()));
            }
            _ => {}
        }
    }

    /// Makes room for `len` codes in all (of the present width), so that appending up to
    /// there does not grow the vector again.
    fn reserve_total(&mut self, len: usize) {
        fn go<T>(v: &mut Vec<T>, len: usize) {
            v.reserve_exact(len.saturating_sub(v.len()));
        }
        match self {
            Self::Same { .. } => {}
            Self::U8(v) => go(v, len),
            Self::U16(v) => go(v, len),
            Self::U32(v) => go(v, len),
        }
    }

    /// Sets the code of each `(row, code)` (rows ascending, from the end on; rows skipped get
    /// no value), every code at most `max`.
    fn put_rows(&mut self, pairs: &[(u32, u32)], max: u32) {
        fn go<T: Copy + Default + TryFrom<u32>>(v: &mut Vec<T>, pairs: &[(u32, u32)]) {
            if let Some(&(last, _)) = pairs.last() {
                v.reserve((last as usize + 1).saturating_sub(v.len()));
            }
            for &(row, code) in pairs {
                v.resize(row as usize, T::default());
                v.push(T::try_from(code).unwrap_or_default());
            }
        }
        self.widen(max.max(1));
        match self {
            Self::U8(v) => go(v, pairs),
            Self::U16(v) => go(v, pairs),
            Self::U32(v) => go(v, pairs),
            Self::Same { .. } => {
                for &(row, code) in pairs {
                    self.resize(row as usize);
                    self.push(code);
                }
            }
        }
    }

    /// Appends another's codes, each through `remap` when given (indexed by code), every one
    /// at most `max`: one copy when none is remapped and both are as wide, else widening
    /// copies a batch at a time.
    fn append_codes(&mut self, other: &Self, remap: Option<&[u32]>, max: u32) {
        self.append_first(other, other.len(), remap, max);
    }

    /// Appends the first `n` of another's codes, as [`append_codes`](Codes::append_codes).
    fn append_first(&mut self, other: &Self, n: usize, remap: Option<&[u32]>, max: u32) {
        let n = n.min(other.len());
        if let Self::Same { code, .. } = *other {
            let code = remapped(remap, code);
            self.extend_codes(std::iter::repeat_n(code, n), max);
            return;
        }
        if let Self::Same { .. } = self {
            // A run of one code stays one while the codes appended are that code.
            let codes = (0..n).map(|i| remapped(remap, other.get(i)));
            self.extend_codes(codes, max);
            return;
        }
        self.widen(max.max(1));
        match (&mut *self, other, remap) {
            (Self::U8(mine), Self::U8(theirs), None) => mine.extend_from_slice(&theirs[..n]),
            (Self::U16(mine), Self::U16(theirs), None) => mine.extend_from_slice(&theirs[..n]),
            (Self::U32(mine), Self::U32(theirs), None) => mine.extend_from_slice(&theirs[..n]),
            _ => {
                const BATCH: usize = 1 << 16;
                let mut batch = vec![0; BATCH.min(n)];
                for start in (0..n).step_by(BATCH) {
                    let batch = &mut batch[..BATCH.min(n - start)];
                    other.copy_into(start, batch);
                    let codes = batch.iter().map(|&code| remapped(remap, code));
                    self.extend_codes(codes, max);
                }
            }
        }
    }

    /// Appends codes, every one at most `max`. A run of one code stays one while they are
    /// that code.
    fn extend_codes(&mut self, codes: impl Iterator<Item = u32>, max: u32) {
        fn go<T: Default + TryFrom<u32>>(v: &mut Vec<T>, codes: impl Iterator<Item = u32>) {
            v.extend(codes.map(|c| T::try_from(c).unwrap_or_default()));
        }
        let mut codes = codes.peekable();
        if let Self::Same { code, len } = self {
            while codes.next_if_eq(code).is_some() {
                *len += 1;
            }
            if codes.peek().is_none() {
                return;
            }
        }
        self.widen(max.max(1));
        match self {
            Self::U8(v) => go(v, codes),
            Self::U16(v) => go(v, codes),
            Self::U32(v) => go(v, codes),
            Self::Same { .. } => codes.for_each(|c| self.push(c)),
        }
    }

    fn push(&mut self, code: u32) {
        if let Self::Same { code: same, len } = self
            && *same == code
        {
            *len += 1;
            return;
        }
        self.widen(code);
        // `widen` made the width hold `code`, so the conversions cannot fail.
        match self {
            Self::U8(v) => v.push(u8::try_from(code).unwrap_or(u8::MAX)),
            Self::U16(v) => v.push(u16::try_from(code).unwrap_or(u16::MAX)),
            Self::U32(v) => v.push(code),
            Self::Same { .. } => {}
        }
    }

    fn set(&mut self, i: usize, code: u32) {
        if self.get(i) == code {
            return;
        }
        self.widen(code);
        match self {
            Self::U8(v) => v[i] = u8::try_from(code).unwrap_or(u8::MAX),
            Self::U16(v) => v[i] = u16::try_from(code).unwrap_or(u16::MAX),
            Self::U32(v) => v[i] = code,
            Self::Same { .. } => {}
        }
    }

    fn resize(&mut self, len: usize) {
        if let Self::Same { code, len: same } = self
            && (*code == 0 || len <= *same)
        {
            *same = len;
            return;
        }
        self.widen(0);
        match self {
            Self::U8(v) => v.resize(len, 0),
            Self::U16(v) => v.resize(len, 0),
            Self::U32(v) => v.resize(len, 0),
            Self::Same { .. } => {}
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Same { len, .. } => *len,
            Self::U8(v) => v.len(),
            Self::U16(v) => v.len(),
            Self::U32(v) => v.len(),
        }
    }

    /// Bytes per code, when stored.
    fn width(&self) -> usize {
        match self {
            Self::Same { code, .. } if *code > u32::from(u16::MAX) => 4,
            Self::Same { code, .. } if *code > u32::from(u8::MAX) => 2,
            Self::Same { .. } | Self::U8(_) => 1,
            Self::U16(_) => 2,
            Self::U32(_) => 4,
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Self::Same { .. } => 0,
            Self::U8(v) => v.capacity(),
            Self::U16(v) => v.capacity() * 2,
            Self::U32(v) => v.capacity() * 4,
        }
    }

    /// Gives back spare capacity; a run of one code becomes that code.
    fn shrink(&mut self) {
        fn same<T: Copy + PartialEq + Into<u32>>(v: &[T]) -> Option<u32> {
            let first = *v.first()?;
            v.iter().all(|&c| c == first).then(|| first.into())
        }
        let same = match self {
            Self::Same { .. } => None,
            Self::U8(v) => same(v),
            Self::U16(v) => same(v),
            Self::U32(v) => same(v),
        };
        if let Some(code) = same {
            *self = Self::Same {
                code,
                len: self.len(),
            };
        }
        match self {
            Self::Same { .. } => {}
            Self::U8(v) => v.shrink_to_fit(),
            Self::U16(v) => v.shrink_to_fit(),
            Self::U32(v) => v.shrink_to_fit(),
        }
    }

    /// How many codes are not `0`.
    pub(crate) fn present(&self) -> usize {
        fn go<T: Copy + Into<u32>>(codes: &[T]) -> usize {
            codes.iter().filter(|&&c| c.into() != 0).count()
        }
        match self {
            Self::Same { code: 0, .. } => 0,
            Self::Same { len, .. } => *len,
            Self::U8(v) => go(v),
            Self::U16(v) => go(v),
            Self::U32(v) => go(v),
        }
    }

    /// The rows whose code is not `0` (`present` of them), and their codes.
    fn nonzero(&self, present: usize) -> (Vec<u32>, Self) {
        fn go<T: Copy + Into<u32>>(codes: &[T], present: usize) -> (Vec<u32>, Vec<T>) {
            let mut rows = Vec::with_capacity(present);
            let mut kept = Vec::with_capacity(present);
            for (row, &code) in codes.iter().enumerate() {
                if code.into() != 0 {
                    rows.push(row as u32);
                    kept.push(code);
                }
            }
            (rows, kept)
        }
        match self {
            Self::Same { code: 0, .. } => (Vec::new(), Self::default()),
            Self::Same { code, len } => (
                (0..*len as u32).collect(),
                Self::Same {
                    code: *code,
                    len: *len,
                },
            ),
            Self::U8(v) => {
                let (rows, codes) = go(v, present);
                (rows, Self::U8(codes))
            }
            Self::U16(v) => {
                let (rows, codes) = go(v, present);
                (rows, Self::U16(codes))
            }
            Self::U32(v) => {
                let (rows, codes) = go(v, present);
                (rows, Self::U32(codes))
            }
        }
    }

    /// Keeps the rows whose code `holds`, reading the codes at those rows.
    fn retain(&self, rows: &mut Vec<u32>, holds: &[bool]) {
        fn go<T: Copy + Into<u32>>(codes: &[T], rows: &mut Vec<u32>, holds: &[bool]) {
            // Branch-free compaction: every row is written, and kept by advancing past it.
            let mut kept = 0;
            for i in 0..rows.len() {
                let row = rows[i];
                let code = codes.get(row as usize).map_or(0, |&c| c.into());
                rows[kept] = row;
                kept += usize::from(holds[code as usize]);
            }
            rows.truncate(kept);
        }
        match self {
            Self::Same { .. } => rows.retain(|&row| holds[self.get(row as usize) as usize]),
            Self::U8(v) => go(v, rows, holds),
            Self::U16(v) => go(v, rows, holds),
            Self::U32(v) => go(v, rows, holds),
        }
    }

    /// The rows in `range` whose code `holds`.
    fn select(&self, range: Range<usize>, holds: &[bool]) -> Vec<u32> {
        fn go<T: Copy + Into<u32>>(codes: &[T], range: Range<usize>, holds: &[bool]) -> Vec<u32> {
            let start = range.start;
            let end = range.end.min(codes.len());
            let mut rows = Vec::new();
            if start < end {
                // Branch-free: every row is written, and kept by advancing past it.
                rows.resize(end - start, 0);
                let mut kept = 0;
                for (i, &code) in codes[start..end].iter().enumerate() {
                    rows[kept] = (start + i) as u32;
                    kept += usize::from(holds[code.into() as usize]);
                }
                rows.truncate(kept);
            }
            // Rows past the codes' end have no value.
            if holds[0] {
                rows.extend((end.max(start)..range.end).map(|r| r as u32));
            }
            rows
        }
        match self {
            Self::Same { .. } => range
                .filter(|&row| holds[self.get(row) as usize])
                .map(|row| row as u32)
                .collect(),
            Self::U8(v) => go(v, range, holds),
            Self::U16(v) => go(v, range, holds),
            Self::U32(v) => go(v, range, holds),
        }
    }

    /// Calls `f` with each row of `rows` (a sparse column's rows with a value, ascending)
    /// from place `from` on that is below `end`, and its code (the code in the same place),
    /// the width matched once; gives the place of the first row at or past `end`.
    #[inline]
    pub(crate) fn each_below(
        &self,
        rows: &[u32],
        from: usize,
        end: u32,
        mut f: impl FnMut(u32, u32),
    ) -> usize {
        fn go<T: Copy + Into<u32>>(
            codes: &[T],
            rows: &[u32],
            from: usize,
            end: u32,
            f: &mut impl FnMut(u32, u32),
        ) -> usize {
            let mut at = from;
            for (&row, &code) in rows[from..].iter().zip(&codes[from..]) {
                if row >= end {
                    break;
                }
                f(row, code.into());
                at += 1;
            }
            at
        }
        match self {
            Self::Same { code, len } => {
                let mut at = from;
                for &row in &rows[from..] {
                    if row >= end {
                        break;
                    }
                    f(row, if at < *len { *code } else { 0 });
                    at += 1;
                }
                at
            }
            Self::U8(v) => go(v, rows, from, end, &mut f),
            Self::U16(v) => go(v, rows, from, end, &mut f),
            Self::U32(v) => go(v, rows, from, end, &mut f),
        }
    }

    /// Writes the codes of the rows `start + i` into `out[i]`, for each `i` of `places`
    /// (ascending; `0` past the end); the rest of `out` is left as it was.
    fn gather_at(&self, start: usize, places: &[usize], out: &mut [u32]) {
        fn go<T: Copy + Into<u32>>(codes: &[T], start: usize, places: &[usize], out: &mut [u32]) {
            let codes = codes.get(start..).unwrap_or_default();
            for &i in places {
                out[i] = codes.get(i).map_or(0, |&c| c.into());
            }
        }
        match self {
            Self::Same { .. } => {
                for &i in places {
                    out[i] = self.get(start + i);
                }
            }
            Self::U8(v) => go(v, start, places, out),
            Self::U16(v) => go(v, start, places, out),
            Self::U32(v) => go(v, start, places, out),
        }
    }

    /// Writes the codes of `rows` (ascending) into `out` (as long).
    fn gather_into(&self, rows: &[u32], out: &mut [u32]) {
        fn go<T: Copy + Into<u32>>(codes: &[T], rows: &[u32], out: &mut [u32]) {
            for (o, &row) in out.iter_mut().zip(rows) {
                *o = codes.get(row as usize).map_or(0, |&c| c.into());
            }
        }
        // Consecutive rows (a whole window, unfiltered) are one slice: a plain widening copy.
        if let (Some(&first), Some(&last)) = (rows.first(), rows.last())
            && (last - first) as usize + 1 == rows.len()
        {
            self.copy_into(first as usize, out);
            return;
        }
        match self {
            Self::Same { .. } => {
                for (o, &row) in out.iter_mut().zip(rows) {
                    *o = self.get(row as usize);
                }
            }
            Self::U8(v) => go(v, rows, out),
            Self::U16(v) => go(v, rows, out),
            Self::U32(v) => go(v, rows, out),
        }
    }

    /// Writes the codes of the rows from `start` on into `out`, widened (`0` past the end): a
    /// loop the compiler vectorises for each width.
    fn copy_into(&self, start: usize, out: &mut [u32]) {
        fn go<T: Copy + Into<u32>>(codes: &[T], start: usize, out: &mut [u32]) {
            let codes = codes.get(start..).unwrap_or_default();
            let n = codes.len().min(out.len());
            for (o, &c) in out[..n].iter_mut().zip(&codes[..n]) {
                *o = c.into();
            }
            out[n..].fill(0);
        }
        match self {
            Self::Same { code, len } => {
                let n = len.saturating_sub(start).min(out.len());
                out[..n].fill(*code);
                out[n..].fill(0);
            }
            Self::U8(v) => go(v, start, out),
            Self::U16(v) => go(v, start, out),
            Self::U32(v) => go(v, start, out),
        }
    }
}

/// `code` through `remap` (indexed by code) when given; `0` (no value) for a code it does
/// not hold, which the checks of what is read rule out.
fn remapped(remap: Option<&[u32]>, code: u32) -> u32 {
    remap.map_or(code, |remap| remap.get(code as usize).copied().unwrap_or(0))
}

/// The most codes (values, and none) a column may have for its rows to be posted: postings
/// take about two bytes a row and four a chunk of 65,536 rows for each code.
const MAX_POSTED_CODES: usize = 256;

/// The first place from `from` on in `sorted` whose value is at least `row`, found by steps
/// that double, then halving.
pub(crate) fn gallop(sorted: &[u32], from: usize, row: u32) -> usize {
    let mut step = 1;
    let mut hi = from;
    while hi < sorted.len() && sorted[hi] < row {
        hi = from + step;
        step *= 2;
    }
    let lo = from + step / 4;
    let hi = hi.min(sorted.len());
    lo.min(hi) + sorted[lo.min(hi)..hi].partition_point(|&r| r < row)
}

/// A block of a dense column's codes, each a byte (see [`Column::bytes`]).
#[derive(Clone, Copy)]
pub(crate) enum Bytes<'c> {
    /// A code a row.
    Each(&'c [u8]),
    /// The one code of every row.
    Same(u8),
}

/// One field's values over the rows of an index.
#[derive(Debug, Clone, Default)]
pub(crate) struct Column {
    pub(crate) dict: Dict,
    storage: Storage,
    /// The rows of each code, once a search asked for them.
    posted: Posted,
    /// The last row given a value.
    last_row: Option<u32>,
    /// While sealed blocks are read: how the codes of a dictionary (by id) become this
    /// column's.
    translation: Option<(u64, Translation)>,
}

/// How codes of an index dictionary become a column's.
#[derive(Debug, Clone)]
enum Translation {
    /// They are the column's: its dictionary began as a copy of that one.
    Same,
    /// Each code's as the column's (`0`: not met yet), so each value is looked up once.
    Table(Vec<u32>),
}

#[derive(Debug, Clone)]
enum Storage {
    /// One code per row (`0`: no value).
    Dense(Codes),
    /// The rows with a value (ascending) and their codes.
    Sparse { rows: Vec<u32>, codes: Codes },
}

impl Default for Storage {
    fn default() -> Self {
        Self::Sparse {
            rows: Vec::new(),
            codes: Codes::default(),
        }
    }
}

impl Column {
    /// Sets `row`'s value; rows are given in ascending order, `rows` is the index's row count
    /// after this row. A second value for the same row is ignored (the first one is the field's).
    fn push(&mut self, row: u32, value: &str, rows: usize) {
        if self.last_row == Some(row) {
            return;
        }
        self.last_row = Some(row);
        // Looked up even in a run of one value (a sourcetype, a host): a short value is found
        // in the map's slot alone, where comparing it with the last value would read the
        // value's string, often no longer in the cache.
        let code = self.dict.code_of(value);
        self.store(row, code, rows);
    }

    /// Makes room for `rows` rows in all when the column is dense (a sparse column's size
    /// is its values', not known beforehand).
    fn reserve(&mut self, rows: usize) {
        if let Storage::Dense(codes) = &mut self.storage {
            codes.reserve_total(rows);
        }
    }

    /// The value of `row`, if it has one.
    pub(crate) fn value(&self, row: u32) -> Option<&str> {
        let code = match &self.storage {
            Storage::Dense(codes) if (row as usize) < codes.len() => codes.get(row as usize),
            Storage::Dense(_) => 0,
            Storage::Sparse { rows, codes } => rows.binary_search(&row).map_or(0, |i| codes.get(i)),
        };
        (code != 0).then(|| self.dict.get(code))
    }

    /// Stores `row`'s code (rows ascending; `rows` the index's row count after this row).
    fn store(&mut self, row: u32, code: u32, rows: usize) {
        match &mut self.storage {
            Storage::Dense(codes) => {
                codes.resize(row as usize);
                codes.push(code);
            }
            Storage::Sparse {
                rows: present,
                codes,
            } => {
                present.push(row);
                codes.push(code);
                self.densify_if_smaller(rows);
            }
        }
    }

    /// Makes a sparse column of `rows` rows dense when that is the smaller: dense costs a code
    /// a row, sparse a code and a 4-byte row per value.
    fn densify_if_smaller(&mut self, rows: usize) {
        if let Storage::Sparse {
            rows: present,
            codes,
        } = &self.storage
        {
            let width = codes.width();
            if present.len() * (4 + width) > rows * width {
                // Every row of one value (a sourcetype, a host) is stored as that value.
                let first = codes.get(0);
                let dense = if present.len() == rows && (0..rows).all(|i| codes.get(i) == first) {
                    Codes::Same {
                        code: first,
                        len: rows,
                    }
                } else {
                    let mut dense = Codes::zeros(rows, self.dict.len() as u32);
                    for (i, &r) in present.iter().enumerate() {
                        dense.set(r as usize, codes.get(i));
                    }
                    dense
                };
                self.storage = Storage::Dense(dense);
            }
        }
    }

    /// Appends `other`'s values, for rows numbered from `offset` on.
    fn append(&mut self, mut other: Self, offset: u32) {
        // Both began as copies of one index dictionary: the same codes, kept as they are under
        // the longer dictionary. Else each of theirs is looked up once.
        let remap: Option<Vec<u32>> = if other.dict.starts_with(&self.dict) {
            std::mem::swap(&mut self.dict, &mut other.dict);
            None
        } else {
            Some(
                std::iter::once(0)
                    .chain(other.dict.iter().map(|(_, value)| self.dict.code_of(value)))
                    .collect(),
            )
        };
        let map = |code: u32| remap.as_ref().map_or(code, |remap| remap[code as usize]);
        let max = self.dict.len() as u32;
        match (&mut self.storage, &other.storage) {
            (Storage::Dense(mine), Storage::Dense(theirs)) => {
                // A code a row on both sides: copies.
                mine.resize(offset as usize);
                mine.append_codes(theirs, remap.as_deref(), max);
                self.last_row = other.last_row.map(|row| row + offset);
            }
            (_, Storage::Dense(theirs)) => self.append_pairs(
                (0..theirs.len())
                    .map(|row| (offset + row as u32, map(theirs.get(row))))
                    .filter(|&(_, code)| code != 0),
            ),
            (_, Storage::Sparse { rows, codes }) => self.append_pairs(
                rows.iter()
                    .enumerate()
                    .map(|(i, &row)| (offset + row, map(codes.get(i)))),
            ),
        }
    }

    /// Appends values given as a dictionary (code `k` from 1 is the `k`-th value) and
    /// `(row, code)` pairs, rows ascending, numbered from `offset` on.
    fn append_coded<'v>(
        &mut self,
        values: impl Iterator<Item = &'v str>,
        codes: impl Iterator<Item = (u32, u32)>,
        offset: u32,
    ) {
        let remap: Vec<u32> = std::iter::once(0)
            .chain(values.map(|value| self.dict.code_of(value)))
            .collect();
        self.append_pairs(codes.filter_map(|(row, code)| {
            let code = *remap.get(code as usize)?;
            (code != 0).then_some((offset + row, code))
        }));
    }

    /// Appends a sealed column coded against `source`, the values of this field in the
    /// dictionary of id `id` (every code of the column at most `source.len()`), for rows
    /// numbered from `offset` on.
    fn append_translated(&mut self, sealed: &SealedColumn, id: u64, source: &Dict, offset: u32) {
        let translation = match self.translation.take() {
            Some((of, translation)) if of == id => translation,
            // A column with no value yet takes the dictionary's codes as its own.
            _ if self.dict.len() == 0 => {
                self.dict = source.clone();
                Translation::Same
            }
            _ => Translation::Table(Vec::new()),
        };
        let translation = match translation {
            Translation::Same => {
                self.append_sealed(sealed, offset, None);
                Translation::Same
            }
            Translation::Table(mut remap) => {
                if remap.len() <= source.len() {
                    remap.resize(source.len() + 1, 0);
                }
                let mut meet = |code: u32| {
                    let to = &mut remap[code as usize];
                    if *to == 0 && code != 0 {
                        *to = self.dict.code_of(source.get(code));
                    }
                };
                sealed.present().for_each(|(_, code)| meet(code));
                self.append_sealed(sealed, offset, Some(&remap));
                Translation::Table(remap)
            }
        };
        self.translation = Some((id, translation));
    }

    /// Appends a sealed column with values of its own, for rows numbered from `offset` on.
    fn append_own(&mut self, sealed: &SealedColumn, offset: u32) {
        let remap: Vec<u32> = std::iter::once(0)
            .chain(sealed.values.iter().map(|value| self.dict.code_of(value)))
            .collect();
        self.append_sealed(sealed, offset, Some(&remap));
    }

    /// Appends a sealed column's codes, each made this column's through `remap` (indexed by
    /// code, holding every code the column has) unless they are already, for rows numbered
    /// from `offset` on.
    fn append_sealed(&mut self, sealed: &SealedColumn, offset: u32, remap: Option<&[u32]>) {
        let max = self.dict.len() as u32;
        if let (
            Storage::Sparse {
                rows: present,
                codes,
            },
            Some((rows, theirs)),
        ) = (&mut self.storage, sealed.sparse())
        {
            // The rows with a value on both sides: two copies.
            let Some(&last) = rows.last() else {
                return;
            };
            present.extend(rows.iter().map(|&row| offset + row));
            codes.append_codes(theirs, remap, max);
            self.last_row = Some(offset + last);
            self.densify_if_smaller((offset + last) as usize + 1);
            return;
        }
        match (&mut self.storage, sealed.dense()) {
            (Storage::Dense(codes), Some(dense)) => {
                // A code a row on both sides: one copy, widening if need be.
                if let Some(last) = dense.last_nonzero() {
                    codes.resize(offset as usize);
                    codes.append_first(dense, last + 1, remap, max);
                    self.last_row = Some(offset + last as u32);
                }
            }
            _ => self.append_pairs(
                sealed
                    .present()
                    .map(|(row, c)| (offset + row, remapped(remap, c))),
            ),
        }
    }

    /// Appends `(row, code)` pairs of this column's codes, rows ascending and past its last.
    fn append_pairs(&mut self, pairs: impl Iterator<Item = (u32, u32)>) {
        /// Codes are stored this many at a time: few enough to keep the scratch small when a
        /// whole column is appended, many enough that each batch is one tight loop.
        const BATCH: usize = 1 << 16;
        let mut batch: Vec<(u32, u32)> = Vec::new();
        let mut last = None;
        let mut pairs = pairs;
        loop {
            batch.clear();
            batch.extend(pairs.by_ref().take(BATCH));
            let Some(&(row, _)) = batch.last() else {
                break;
            };
            last = Some(row);
            let max = batch.iter().map(|&(_, code)| code).max().unwrap_or(0);
            // A batch at once: the column widened once, then filled in one loop.
            match &mut self.storage {
                Storage::Dense(codes) => codes.put_rows(&batch, max),
                Storage::Sparse {
                    rows: present,
                    codes,
                } => {
                    present.extend(batch.iter().map(|&(row, _)| row));
                    codes.extend_codes(batch.iter().map(|&(_, code)| code), max);
                }
            }
        }
        let Some(last) = last else {
            return;
        };
        self.last_row = Some(last);
        self.densify_if_smaller(last as usize + 1);
    }

    /// The column of the rows `kept` (ascending), numbered from `0` in that order; its
    /// dictionary holds only the values those rows have, in the order they had.
    fn keep_rows(&self, kept: &[u32]) -> Self {
        let codes = self.gather(kept);
        let mut used = vec![false; self.dict.len() + 1];
        for &code in &codes {
            used[code as usize] = true;
        }
        let mut remap = vec![0; self.dict.len() + 1];
        let mut values = Vec::new();
        for (code, value) in self.dict.iter() {
            if used[code as usize] {
                values.push(value);
                remap[code as usize] = values.len() as u32;
            }
        }
        let mut column = Self::default();
        column.append_coded(
            values.into_iter(),
            codes
                .iter()
                .enumerate()
                .map(|(row, &code)| (row as u32, remap[code as usize])),
            0,
        );
        column.densify_if_smaller(kept.len());
        column.shrink();
        column
    }

    /// Whether no row has a value.
    fn is_empty(&self) -> bool {
        match &self.storage {
            Storage::Dense(codes) => codes.present() == 0,
            Storage::Sparse { rows, .. } => rows.is_empty(),
        }
    }

    fn heap_bytes(&self) -> usize {
        let storage = match &self.storage {
            Storage::Dense(codes) => codes.heap_bytes(),
            Storage::Sparse { rows, codes } => rows.capacity() * 4 + codes.heap_bytes(),
        };
        storage + self.dict.heap_bytes() + self.posted.heap_bytes()
    }

    /// Gives back spare capacity, and stores the column in the smaller form: a column that was
    /// made dense early (when few rows had been seen) may be smaller sparse.
    fn shrink(&mut self) {
        self.translation = None;
        if let Storage::Dense(codes) = &self.storage {
            let present = codes.present();
            if present * (4 + codes.width()) < codes.len() * codes.width() {
                let (rows, codes) = codes.nonzero(present);
                self.storage = Storage::Sparse { rows, codes };
            }
        }
        match &mut self.storage {
            Storage::Dense(codes) => codes.shrink(),
            Storage::Sparse { rows, codes } => {
                rows.shrink_to_fit();
                codes.shrink();
            }
        }
    }

    /// The rows in `range` whose code `holds` (indexed by code; `0` for no value), ascending.
    pub(crate) fn select(&self, range: Range<usize>, holds: &[bool]) -> Vec<u32> {
        match &self.storage {
            Storage::Dense(codes) => codes.select(range, holds),
            Storage::Sparse { .. } => {
                let mut rows: Vec<u32> = range.map(|r| r as u32).collect();
                self.retain(&mut rows, holds);
                rows
            }
        }
    }

    /// Keeps the rows (ascending) whose code `holds` (indexed by code; `0` for no value).
    pub(crate) fn retain(&self, rows: &mut Vec<u32>, holds: &[bool]) {
        match &self.storage {
            Storage::Dense(codes) => codes.retain(rows, holds),
            Storage::Sparse { .. } => {
                let codes = self.gather(rows);
                let mut keep = codes.iter().map(|&c| holds[c as usize]);
                rows.retain(|_| keep.next().unwrap_or(false));
            }
        }
    }

    /// A sparse column's rows with a value (ascending) and their codes; `None` for a dense
    /// column.
    pub(crate) fn sparse(&self) -> Option<(&[u32], &Codes)> {
        match &self.storage {
            Storage::Sparse { rows, codes } => Some((rows, codes)),
            Storage::Dense(_) => None,
        }
    }

    /// Writes the codes of the rows `start + i` into `out[i]` for each `i` of `places`
    /// (ascending): of those alone for a dense column, of all the rows `start..start +
    /// out.len()` for a sparse one.
    pub(crate) fn codes_at(&self, start: usize, places: &[usize], out: &mut [u32]) {
        match &self.storage {
            Storage::Dense(codes) => codes.gather_at(start, places, out),
            Storage::Sparse { .. } => self.codes_into(start, out),
        }
    }

    /// The codes of the rows `start..start + n` when each is a byte, without widening them:
    /// `None` for a sparse column, or codes wider than a byte, or rows past those stored.
    pub(crate) fn bytes(&self, start: usize, n: usize) -> Option<Bytes<'_>> {
        match &self.storage {
            Storage::Dense(Codes::U8(codes)) => codes.get(start..start + n).map(Bytes::Each),
            Storage::Dense(Codes::Same { code, len }) if start + n <= *len => {
                u8::try_from(*code).ok().map(Bytes::Same)
            }
            _ => None,
        }
    }

    /// Writes the codes of the rows `start..start + out.len()` into `out` (`0`: no value).
    pub(crate) fn codes_into(&self, start: usize, out: &mut [u32]) {
        match &self.storage {
            Storage::Dense(codes) => codes.copy_into(start, out),
            Storage::Sparse {
                rows: present,
                codes,
            } => {
                out.fill(0);
                let end = start + out.len();
                let first = present.partition_point(|&r| (r as usize) < start);
                for (i, &row) in present.iter().enumerate().skip(first) {
                    if row as usize >= end {
                        break;
                    }
                    out[row as usize - start] = codes.get(i);
                }
            }
        }
    }

    /// The codes of `rows` (ascending), in order.
    pub(crate) fn gather(&self, rows: &[u32]) -> Vec<u32> {
        let mut out = vec![0; rows.len()];
        self.codes_of(rows, &mut out);
        out
    }

    /// Writes the codes of `rows` (ascending) into `out` (as long; `0`: no value). A sparse
    /// column's rows with a value are searched from each row's on, by steps that double, so
    /// that a few rows among many with a value, or many rows among a few, cost little.
    pub(crate) fn codes_of(&self, rows: &[u32], out: &mut [u32]) {
        match &self.storage {
            Storage::Dense(codes) => codes.gather_into(rows, out),
            Storage::Sparse {
                rows: present,
                codes,
            } => {
                let mut i = 0;
                for (o, &row) in out.iter_mut().zip(rows) {
                    i = gallop(present, i, row);
                    *o = if present.get(i) == Some(&row) {
                        codes.get(i)
                    } else {
                        0
                    };
                }
            }
        }
    }

    /// The rows of each of this column's codes, covering all but the newest eighth of the
    /// index's `rows` at most (see [`Postings`]); `None` unless the column is dense with at
    /// most [`MAX_POSTED_CODES`] codes.
    pub(crate) fn postings(&self, rows: usize) -> Option<Arc<Postings>> {
        let Storage::Dense(codes) = &self.storage else {
            return None;
        };
        let n = self.dict.len() + 1;
        (n <= MAX_POSTED_CODES).then(|| {
            self.posted.get(rows, || {
                Postings::build(rows, n, |start, out| codes.copy_into(start, out))
            })
        })
    }
}

/// The records' locations, in about two bytes a row: records of one index follow each other in
/// its segments, so a row's offset is the previous row's plus the previous frame's length.
#[derive(Debug, Default)]
struct Locations {
    /// `(first row, segment, its offset)` of each run of rows stored back to back.
    runs: Vec<(u32, u64, u64)>,
    /// Each row's offset minus the previous row's (`0` where a run starts).
    steps: Codes,
    /// The offset of every `CHECKPOINT`-th row, so a row is found in a few additions.
    checkpoints: Vec<u64>,
    last_offset: u64,
}

const CHECKPOINT: u32 = 64;

impl Locations {
    fn push(&mut self, row: u32, at: Location) {
        let step = self
            .runs
            .last()
            .filter(|run| run.1 == at.segment && at.offset >= self.last_offset)
            .and_then(|_| u32::try_from(at.offset - self.last_offset).ok());
        match step {
            Some(step) => self.steps.push(step),
            None => {
                self.runs.push((row, at.segment, at.offset));
                self.steps.push(0);
            }
        }
        if row.is_multiple_of(CHECKPOINT) {
            self.checkpoints.push(at.offset);
        }
        self.last_offset = at.offset;
    }

    /// Adds the rows from `first` on, at `offsets` of `segment`, as [`push`](Locations::push)
    /// would one by one: when they ascend by steps that fit, in one pass.
    fn extend(&mut self, first: u32, segment: u64, offsets: &[u64]) {
        let Some((&head, rest)) = offsets.split_first() else {
            return;
        };
        self.push(
            first,
            Location {
                segment,
                offset: head,
            },
        );
        let mut max = 0;
        let mut previous = head;
        let fits = rest.iter().all(|&offset| {
            let step = offset
                .checked_sub(previous)
                .and_then(|s| u32::try_from(s).ok());
            previous = offset;
            step.inspect(|&s| max = max.max(s)).is_some()
        });
        if !fits {
            for (i, &offset) in rest.iter().enumerate() {
                self.push(first + 1 + i as u32, Location { segment, offset });
            }
            return;
        }
        self.steps
            .extend_codes(offsets.windows(2).map(|w| (w[1] - w[0]) as u32), max);
        let end = first as usize + offsets.len();
        let from = (first as usize + 1).next_multiple_of(CHECKPOINT as usize);
        for row in (from..end).step_by(CHECKPOINT as usize) {
            self.checkpoints.push(offsets[row - first as usize]);
        }
        self.last_offset = previous;
    }

    /// Makes room for `rows` rows in all.
    fn reserve(&mut self, rows: usize) {
        self.steps.reserve_total(rows);
        let checkpoints = rows.div_ceil(CHECKPOINT as usize);
        self.checkpoints
            .reserve_exact(checkpoints.saturating_sub(self.checkpoints.len()));
    }

    /// Adds `other`'s `len` rows after this one's `offset` rows: its runs and steps as they
    /// are, its checkpoints found again for the rows' new numbers.
    fn append(&mut self, other: &Self, offset: u32, len: usize) {
        let Some(&(first, ..)) = other.runs.first() else {
            return;
        };
        debug_assert_eq!(first, 0, "a run starts at the first row");
        let max = match &other.steps {
            Codes::Same { code, .. } => *code,
            Codes::U8(_) => u32::from(u8::MAX),
            Codes::U16(_) => u32::from(u16::MAX),
            Codes::U32(_) => u32::MAX,
        };
        self.steps.resize(offset as usize);
        self.steps.append_codes(&other.steps, None, max);
        self.runs.extend(
            other
                .runs
                .iter()
                .map(|&(row, segment, at)| (row + offset, segment, at)),
        );
        let from = (offset as usize).next_multiple_of(CHECKPOINT as usize);
        let end = offset as usize + len;
        let mut rows = other.iter(len);
        let mut at = offset as usize;
        for row in (from..end).step_by(CHECKPOINT as usize) {
            if let Some(location) = rows.nth(row - at) {
                self.checkpoints.push(location.offset);
            }
            at = row + 1;
        }
        self.last_offset = other.last_offset;
    }

    fn get(&self, row: u32) -> Location {
        let run = self.runs[self.runs.partition_point(|r| r.0 <= row) - 1];
        let checkpoint = row / CHECKPOINT * CHECKPOINT;
        let (mut at, mut offset) = if run.0 > checkpoint {
            (run.0, run.2)
        } else {
            (checkpoint, self.checkpoints[(row / CHECKPOINT) as usize])
        };
        while at < row {
            at += 1;
            offset += u64::from(self.steps.get(at as usize));
        }
        Location {
            segment: run.1,
            offset,
        }
    }

    /// Every row's location, in order (`len` rows).
    fn iter(&self, len: usize) -> impl Iterator<Item = Location> + '_ {
        let mut runs = self.runs.iter().peekable();
        let (mut segment, mut offset) = (0, 0);
        (0..len as u32).map(move |row| {
            match runs.next_if(|run| run.0 == row) {
                Some(&(_, s, o)) => (segment, offset) = (s, o),
                None => offset += u64::from(self.steps.get(row as usize)),
            }
            Location { segment, offset }
        })
    }

    fn heap_bytes(&self) -> usize {
        self.runs.capacity() * 24 + self.steps.heap_bytes() + self.checkpoints.capacity() * 8
    }

    fn shrink(&mut self) {
        self.runs.shrink_to_fit();
        self.steps.shrink();
        self.checkpoints.shrink_to_fit();
    }
}

/// The fields every event has besides its extracted ones.
pub(crate) const BUILT_IN: [&str; 6] = ["_time", "_raw", "index", "sourcetype", "source", "host"];

/// The columnar index of one engine index.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub(crate) times: Vec<i64>,
    /// Whether `times` never decreases, so a window is a range of rows.
    pub(crate) sorted: bool,
    /// Where each record is.
    locations: Locations,
    pub(crate) sourcetype: Column,
    pub(crate) source: Column,
    pub(crate) host: Column,
    /// Extracted fields, in the order first seen.
    fields: Vec<(String, Column)>,
    /// Where each field is in `fields`.
    field_index: FxHashMap<String, usize>,
    /// The field found at each position of the last record: records of one kind list their
    /// fields in the same order, so most lookups are one comparison.
    recent: Vec<usize>,
    /// The rows room is made for (see [`reserve`](Columns::reserve)).
    capacity: usize,
}

impl Columns {
    /// Adds a record, extracting its fields with `extractor`.
    pub(crate) fn push(
        &mut self,
        location: Location,
        record: &RecordRef<'_>,
        extractor: Extractor,
    ) {
        let row = u32::try_from(self.times.len()).expect("fewer than 2^32 events per index");
        let rows = self.times.len() + 1;
        if self.times.is_empty() {
            self.sorted = true;
        }
        self.sorted &= self
            .times
            .last()
            .is_none_or(|&last| last <= record.time_micros);
        self.times.push(record.time_micros);
        self.locations.push(row, location);
        self.sourcetype.push(row, record.sourcetype, rows);
        self.source.push(row, record.source, rows);
        self.host.push(row, record.host, rows);
        for (position, field) in extractor.fields(record.raw).enumerate() {
            let key: &str = &field.key;
            // Built-in fields are never replaced.
            if BUILT_IN.contains(&key) {
                continue;
            }
            let index = match self.recent.get(position) {
                Some(&i) if self.fields[i].0 == key => i,
                _ => {
                    let i = match self.field_index.get(key) {
                        Some(&i) => i,
                        None => {
                            self.fields.push((key.to_owned(), Column::default()));
                            self.field_index
                                .insert(key.to_owned(), self.fields.len() - 1);
                            self.fields.len() - 1
                        }
                    };
                    if position < self.recent.len() {
                        self.recent[position] = i;
                    } else {
                        self.recent.push(i);
                    }
                    i
                }
            };
            self.fields[index].1.push(row, &field.value, rows);
        }
    }

    /// Makes room for `rows` rows in all, in the times, the locations and every dense column
    /// (and in the columns made dense later), so that loading that many rows grows no vector
    /// by doubling: no copies, and no spare room left resident once loaded.
    pub(crate) fn reserve(&mut self, rows: usize) {
        if rows <= self.capacity {
            return;
        }
        self.capacity = rows;
        self.times
            .reserve_exact(rows.saturating_sub(self.times.len()));
        self.locations.reserve(rows);
        for column in [&mut self.sourcetype, &mut self.source, &mut self.host]
            .into_iter()
            .chain(self.fields.iter_mut().map(|(_, c)| c))
        {
            column.reserve(rows);
        }
    }

    /// Appends the rows of `other`, records stored after all of this index's.
    pub(crate) fn append(&mut self, other: Self) {
        if other.times.is_empty() {
            return;
        }
        if self.times.is_empty() {
            *self = other;
            return;
        }
        let offset = u32::try_from(self.times.len()).expect("fewer than 2^32 events per index");
        self.reserve(self.times.len() + other.times.len());
        self.sorted = self.sorted && other.sorted && self.times.last() <= other.times.first();
        // Each part of `other` is freed once appended, so that joining two halves of an index
        // never holds both whole beside the joined one.
        let Self {
            times,
            locations,
            sourcetype,
            source,
            host,
            fields,
            ..
        } = other;
        self.locations.append(&locations, offset, times.len());
        drop(locations);
        self.times.extend_from_slice(&times);
        drop(times);
        for (column, theirs) in [&mut self.sourcetype, &mut self.source, &mut self.host]
            .into_iter()
            .zip([sourcetype, source, host])
        {
            column.reserve(self.capacity);
            column.append(theirs, offset);
        }
        let rows = self.capacity;
        for (name, column) in fields {
            let index = self.field(&name);
            let mine = &mut self.fields[index].1;
            mine.reserve(rows);
            mine.append(column, offset);
        }
        self.recent.clear();
    }

    /// Appends the rows of a sealed block of `segment`, stored after all of this index's,
    /// with the fields the block was indexed with: of their own values (a block of the second
    /// version) or of `dictionary`'s, which holds every code of the block's fields.
    pub(crate) fn append_block(
        &mut self,
        segment: u64,
        block: &Block,
        dictionary: Option<&Dictionary>,
    ) {
        if block.rows() == 0 {
            return;
        }
        let offset = u32::try_from(self.times.len()).expect("fewer than 2^32 events per index");
        if self.times.is_empty() {
            self.sorted = true;
        }
        self.sorted = self.sorted
            && self
                .times
                .last()
                .is_none_or(|&last| block.times.first().is_some_and(|&t| last <= t))
            && block.times.windows(2).all(|w| w[0] <= w[1]);
        self.locations.extend(offset, segment, &block.offsets);
        self.times.extend_from_slice(&block.times);
        for (column, sealed) in [&mut self.sourcetype, &mut self.source, &mut self.host]
            .into_iter()
            .zip(&block.meta[1..])
        {
            column.append_own(sealed, offset);
        }
        let rows = self.capacity;
        for (name, sealed) in &block.fields {
            let index = self.field(name);
            let column = &mut self.fields[index].1;
            column.reserve(rows);
            match dictionary.and_then(|d| Some((d.id(), d.field(name)?))) {
                Some((id, source)) => column.append_translated(sealed, id, source, offset),
                None => column.append_own(sealed, offset),
            }
            // A column made dense by this block.
            column.reserve(rows);
        }
        self.recent.clear();
    }

    /// Forgets the rows whose records are in `gone`: `(segment, first offset, last offset)`
    /// ranges, sorted. The rows left keep their order; dictionaries keep only the values still
    /// held, and fields no row has any more are dropped. Returns how many rows went.
    pub(crate) fn forget(&mut self, gone: &[(u64, u64, u64)]) -> usize {
        let goes = |at: Location| {
            let i = gone.partition_point(|&(segment, first, _)| {
                (segment, first) <= (at.segment, at.offset)
            });
            i > 0 && {
                let (segment, _, last) = gone[i - 1];
                segment == at.segment && at.offset <= last
            }
        };
        let rows = self.times.len();
        let mut kept = Vec::with_capacity(rows);
        let mut locations = Locations::default();
        for (row, at) in self.locations.iter(rows).enumerate() {
            if !goes(at) {
                locations.push(kept.len() as u32, at);
                kept.push(row as u32);
            }
        }
        if kept.len() == rows {
            return 0;
        }
        let times: Vec<i64> = kept.iter().map(|&row| self.times[row as usize]).collect();
        let fields: Vec<(String, Column)> = self
            .fields
            .iter()
            .map(|(name, column)| (name.clone(), column.keep_rows(&kept)))
            .filter(|(_, column)| !column.is_empty())
            .collect();
        let mut next = Self {
            sorted: times.windows(2).all(|w| w[0] <= w[1]),
            times,
            locations,
            sourcetype: self.sourcetype.keep_rows(&kept),
            source: self.source.keep_rows(&kept),
            host: self.host.keep_rows(&kept),
            field_index: fields
                .iter()
                .enumerate()
                .map(|(i, (name, _))| (name.clone(), i))
                .collect(),
            fields,
            recent: Vec::new(),
            capacity: 0,
        };
        next.locations.shrink();
        *self = next;
        rows - kept.len()
    }

    /// Where the field `name` is in `fields`, added if new.
    fn field(&mut self, name: &str) -> usize {
        match self.field_index.get(name) {
            Some(&i) => i,
            None => {
                self.fields.push((name.to_owned(), Column::default()));
                self.field_index
                    .insert(name.to_owned(), self.fields.len() - 1);
                self.fields.len() - 1
            }
        }
    }

    /// The extracted fields and their columns.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&str, &Column)> {
        self.fields
            .iter()
            .map(|(name, column)| (name.as_str(), column))
    }

    /// Every column by its field's name: `sourcetype`, `source`, `host`, then the extracted
    /// fields.
    pub(crate) fn named(&self) -> impl Iterator<Item = (&str, &Column)> {
        [
            ("sourcetype", &self.sourcetype),
            ("source", &self.source),
            ("host", &self.host),
        ]
        .into_iter()
        .chain(self.fields())
    }

    /// About how many bytes of memory the index holds: columns, dictionaries and their maps.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.times.capacity() * 8
            + self.locations.heap_bytes()
            + [&self.sourcetype, &self.source, &self.host]
                .into_iter()
                .chain(self.fields.iter().map(|(_, c)| c))
                .map(Column::heap_bytes)
                .sum::<usize>()
    }

    /// Where the record of `row` is stored.
    pub(crate) fn location(&self, row: u32) -> Location {
        self.locations.get(row)
    }

    /// The text of `row`'s record, rebuilt from its template (see [`crate::template`]), the
    /// order its pairs were written in, and its time and fields' values.
    pub(crate) fn rebuild(
        &self,
        row: u32,
        template: &str,
        order: u32,
    ) -> Result<String, template::Broken> {
        let mut raw = String::with_capacity(template.len() + 64);
        let value = |field: &str| self.column(field)?.value(row);
        template::rebuild(template, order, self.times[row as usize], value, &mut raw)?;
        Ok(raw)
    }

    /// Gives back the spare capacity the vectors grew while loading.
    ///
    /// The columns are shared between two threads, largest first to the one with less, so
    /// that shrinking a large index (a scan of each dense column) takes half as long.
    pub(crate) fn shrink(&mut self) {
        self.times.shrink_to_fit();
        self.locations.shrink();
        let mut columns: Vec<&mut Column> =
            [&mut self.sourcetype, &mut self.source, &mut self.host]
                .into_iter()
                .chain(self.fields.iter_mut().map(|(_, c)| c))
                .collect();
        columns.sort_by_key(|column| std::cmp::Reverse(column.heap_bytes()));
        let (mut mine, mut theirs) = ((0, Vec::new()), (0, Vec::new()));
        for column in columns {
            let less = if mine.0 <= theirs.0 {
                &mut mine
            } else {
                &mut theirs
            };
            less.0 += column.heap_bytes();
            less.1.push(column);
        }
        std::thread::scope(|scope| {
            if !theirs.1.is_empty() {
                scope.spawn(|| theirs.1.into_iter().for_each(Column::shrink));
            }
            mine.1.into_iter().for_each(Column::shrink);
        });
    }

    /// The rows that can be in `earliest..latest`: exactly those when the times are sorted.
    pub(crate) fn window_rows(&self, earliest: i64, latest: i64) -> Range<usize> {
        if self.sorted {
            let start = self.times.partition_point(|&t| t < earliest);
            let end = self.times.partition_point(|&t| t < latest);
            start..end.max(start)
        } else {
            0..self.times.len()
        }
    }

    /// The column of a field other than `_time`, `_raw` and `index`.
    pub(crate) fn column(&self, field: &str) -> Option<&Column> {
        match field {
            "sourcetype" => Some(&self.sourcetype),
            "source" => Some(&self.source),
            "host" => Some(&self.host),
            _ => self.field_index.get(field).map(|&i| &self.fields[i].1),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// What a row holds, read back: time, location, metadata and every field's value.
    type Row = (i64, Location, Vec<Option<String>>, BTreeMap<String, String>);

    fn rows(columns: &Columns) -> Vec<Row> {
        let value = |column: &Column, row: u32| {
            let code = column.gather(&[row])[0];
            (code != 0).then(|| column.dict.get(code).to_owned())
        };
        (0..columns.times.len() as u32)
            .map(|row| {
                let meta = [&columns.sourcetype, &columns.source, &columns.host]
                    .into_iter()
                    .map(|c| value(c, row))
                    .collect();
                let fields = columns
                    .fields()
                    .filter_map(|(name, c)| Some((name.to_owned(), value(c, row)?)))
                    .collect();
                (
                    columns.times[row as usize],
                    columns.location(row),
                    meta,
                    fields,
                )
            })
            .collect()
    }

    /// Every column's dictionary holds exactly the values its rows have.
    fn dictionaries_are_tight(columns: &Columns) -> Result<(), TestCaseError> {
        let all: Vec<u32> = (0..columns.times.len() as u32).collect();
        for (name, column) in columns.named() {
            let mut used: Vec<u32> = column
                .gather(&all)
                .into_iter()
                .filter(|&c| c != 0)
                .collect();
            used.sort_unstable();
            used.dedup();
            prop_assert_eq!(used.len(), column.dict.len(), "{}", name);
        }
        Ok(())
    }

    /// A stored record: where, when, its host and its text.
    type Stored = (Location, i64, String, String);

    /// Generated records: segment, offset step, time step, host, key-value pairs.
    type Generated = Vec<(u64, u32, i64, usize, Vec<(usize, u8)>)>;

    fn records() -> impl Strategy<Value = Generated> {
        prop::collection::vec(
            (
                0u64..4,
                1u32..300,
                -5i64..5,
                0usize..4,
                prop::collection::vec((0usize..6, 0u8..8), 0..5),
            ),
            0..300,
        )
    }

    /// Generated records as stored in their log's order: segments ascending, offsets growing
    /// by each frame.
    fn stored(mut records: Generated) -> Vec<Stored> {
        const KEYS: [&str; 6] = ["a", "b", "c", "user", "plan", "n"];
        records.sort_by_key(|r| r.0);
        let (mut segment, mut offset, mut time) = (u64::MAX, 0u64, 0i64);
        let mut stored = Vec::new();
        for (seg, step, dt, host, pairs) in &records {
            if *seg != segment {
                (segment, offset) = (*seg, 0);
            }
            offset += u64::from(*step);
            time += dt;
            let raw: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={v}", KEYS[*k]))
                .collect();
            stored.push((
                Location { segment, offset },
                time,
                format!("h{host}"),
                raw.join(" "),
            ));
        }
        stored
    }

    /// The index of `records`, pushed one by one, not shrunk.
    fn pushed(records: &[&Stored]) -> Columns {
        let mut columns = Columns::default();
        for (at, time, host, raw) in records {
            let record = RecordRef {
                time_micros: *time,
                index: "main",
                sourcetype: "st",
                source: "",
                host,
                raw,
            };
            columns.push(*at, &record, Extractor::default());
        }
        columns
    }

    /// The index of `records`, shrunk as after loading.
    fn index(records: &[&Stored]) -> Columns {
        let mut columns = pushed(records);
        columns.shrink();
        columns
    }

    proptest! {
        #![proptest_config(spoor_testkit::proptest_config_with_cases(64))]

        /// Two parts of an index, loaded apart (with room made beforehand or not) and joined,
        /// read as the index of all their records, and a part of one value a row keeps it as
        /// one code.
        #[test]
        fn parts_joined_read_as_the_whole(
            records in records(),
            cut in 0usize..300,
            reserve in any::<bool>(),
        ) {
            let stored = stored(records);
            let all: Vec<_> = stored.iter().collect();
            let cut = cut.min(all.len());
            let mut first = pushed(&all[..cut]);
            let mut second = pushed(&all[cut..]);
            if reserve {
                first.reserve(all.len());
                second.reserve(all.len() - cut);
            }
            first.append(second);
            prop_assert_eq!(rows(&first), rows(&pushed(&all)));
            first.shrink();
            let whole = index(&all);
            prop_assert_eq!(rows(&first), rows(&whole));
            prop_assert_eq!(first.sorted, whole.sorted);
            prop_assert_eq!(first.sourcetype.heap_bytes(), whole.sourcetype.heap_bytes());
            prop_assert_eq!(&first.locations.checkpoints, &whole.locations.checkpoints);
        }

        /// Forgetting ranges of records leaves exactly the index that the records kept would
        /// have made, dictionaries and all.
        #[test]
        fn forgetting_records_leaves_the_index_of_the_others(
            records in records(),
            cuts in prop::collection::vec((0usize..300, 0usize..40), 0..6),
        ) {
            let stored = stored(records);
            // Ranges of consecutive records of one segment, as whole blocks are.
            let mut gone: Vec<(u64, u64, u64)> = Vec::new();
            for (start, len) in cuts {
                let Some(first) = stored.get(start) else { continue };
                let last = stored[start..]
                    .iter()
                    .take(len.max(1))
                    .take_while(|r| r.0.segment == first.0.segment)
                    .last()
                    .expect("one at least");
                gone.push((first.0.segment, first.0.offset, last.0.offset));
            }
            gone.sort_unstable();
            gone.dedup();
            // Overlapping ranges are merged, as blocks never overlap.
            let mut merged: Vec<(u64, u64, u64)> = Vec::new();
            for range in gone {
                match merged.last_mut() {
                    Some(last) if last.0 == range.0 && range.1 <= last.2 => last.2 = last.2.max(range.2),
                    _ => merged.push(range),
                }
            }
            let goes = |at: &Location| merged
                .iter()
                .any(|&(s, first, last)| s == at.segment && (first..=last).contains(&at.offset));
            let kept: Vec<_> = stored.iter().filter(|r| !goes(&r.0)).collect();
            let all: Vec<_> = stored.iter().collect();

            let mut columns = index(&all);
            let forgot = columns.forget(&merged);
            prop_assert_eq!(forgot, stored.len() - kept.len());
            let expected = index(&kept);
            prop_assert_eq!(rows(&columns), rows(&expected));
            prop_assert_eq!(columns.sorted, expected.sorted);
            let names = |c: &Columns| {
                let mut n: Vec<String> = c.fields().map(|(n, _)| n.to_owned()).collect();
                n.sort();
                n
            };
            prop_assert_eq!(names(&columns), names(&expected));
            for name in names(&columns) {
                prop_assert!(columns.column(&name).is_some());
            }
            dictionaries_are_tight(&columns)?;
        }
    }

    #[test]
    fn locations_give_back_what_was_stored() {
        // Frames back to back, a new segment, a gap (a cut tail) and a step back.
        let mut stored = Vec::new();
        let (mut segment, mut offset) = (1u64, 0u64);
        for row in 0..1000u32 {
            match row {
                300 => (segment, offset) = (2, 0),
                500 => offset += 70_000,
                700 => offset -= 10,
                _ => {}
            }
            stored.push(Location { segment, offset });
            offset += 100 + u64::from(row % 37);
        }
        let mut locations = Locations::default();
        for (row, at) in stored.iter().enumerate() {
            locations.push(row as u32, *at);
        }
        for (row, at) in stored.iter().enumerate() {
            assert_eq!(locations.get(row as u32), *at, "row {row}");
        }
        // The 70,000-byte gap widened the steps to four bytes; still half of a packed `u64`.
        assert!(locations.heap_bytes() <= stored.len() * 5);
    }

    #[test]
    fn locations_added_a_block_at_a_time_are_those_added_one_by_one() {
        // Blocks of one segment each: back to back, a gap past four bytes, a step back, a
        // block that starts where the last ended, blocks starting off a checkpoint.
        let blocks: Vec<(u64, Vec<u64>)> = vec![
            (1, (0..130).map(|i| i * 90).collect()),
            (1, (0..70).map(|i| 20_000 + i * 50).collect()),
            (1, vec![30_000, 30_010, 5_000_000_000, 5_000_000_100]),
            (1, vec![40_000, 39_000, 41_000]),
            (2, (0..200).map(|i| i * 7).collect()),
            (2, vec![]),
            (3, vec![5]),
        ];
        let (mut one, mut batch) = (Locations::default(), Locations::default());
        let mut row = 0u32;
        for (segment, offsets) in &blocks {
            for (i, &offset) in offsets.iter().enumerate() {
                one.push(
                    row + i as u32,
                    Location {
                        segment: *segment,
                        offset,
                    },
                );
            }
            batch.extend(row, *segment, offsets);
            row += offsets.len() as u32;
        }
        assert_eq!(one.runs, batch.runs);
        assert_eq!(one.checkpoints, batch.checkpoints);
        assert_eq!(one.last_offset, batch.last_offset);
        let rows = row as usize;
        assert!(one.iter(rows).eq(batch.iter(rows)));
        for r in 0..row {
            assert_eq!(one.get(r), batch.get(r), "row {r}");
        }
    }

    #[test]
    fn a_run_of_one_code_is_stored_as_that_code() {
        let mut codes = Codes::default();
        for _ in 0..1000 {
            codes.push(3);
        }
        codes.shrink();
        assert!(matches!(codes, Codes::Same { code: 3, len: 1000 }));
        assert_eq!(codes.heap_bytes(), 0);
        let mut block = [9; 8];
        codes.copy_into(996, &mut block);
        assert_eq!(block, [3, 3, 3, 3, 0, 0, 0, 0]);
        assert_eq!(
            codes.select(990..1003, &[true, false, false, true])[..],
            [
                990, 991, 992, 993, 994, 995, 996, 997, 998, 999, 1000, 1001, 1002
            ]
        );
        // Another code, or a gap, stores every code again.
        codes.push(3);
        codes.resize(1005);
        codes.push(300);
        let got: Vec<u32> = (998..1007).map(|i| codes.get(i)).collect();
        assert_eq!(got, [3, 3, 3, 0, 0, 0, 0, 300, 0]);
        assert_eq!(codes.width(), 2);
    }

    #[test]
    fn a_column_made_dense_early_is_sparse_once_loaded() {
        let mut column = Column::default();
        let values: Vec<Option<&str>> = (0..10_000)
            .map(|row| match row {
                0 | 1 => Some("early"),
                _ if row % 100 == 0 => Some("late"),
                _ => None,
            })
            .collect();
        for (row, value) in values.iter().enumerate() {
            if let Some(value) = value {
                column.push(row as u32, value, row + 1);
            }
        }
        assert!(matches!(column.storage, Storage::Dense(_)));
        column.shrink();
        assert!(matches!(column.storage, Storage::Sparse { .. }));
        let rows: Vec<u32> = (0..10_000).collect();
        let codes = column.gather(&rows);
        for (code, value) in codes.iter().zip(&values) {
            assert_eq!((*code != 0).then(|| column.dict.get(*code)), *value);
        }
    }

    /// Sealed blocks appended whole (room made beforehand) read as their records pushed one
    /// by one; a column of one value a row stays one code while loading, and codes kept
    /// narrower in a block than in the column are widened.
    #[test]
    fn blocks_appended_read_as_their_records_pushed() {
        use crate::dictionary::Dictionary;
        use crate::sealed::{BlockBuilder, HEADER_LEN};
        let lines: Vec<String> = (0..3_000)
            .map(|i| match i % 3 {
                0 => format!("user=u{} plan=p{}", i % 400, i % 3),
                1 => format!("user=u{} rare=r{i}", i / 10),
                _ => format!("plan=p{} n={}", i % 5, i % 7),
            })
            .collect();
        let record = |i: usize| RecordRef {
            time_micros: i as i64 * 10,
            index: "main",
            sourcetype: "st",
            source: "app",
            host: "web-1",
            raw: &lines[i],
        };
        let marker = [7; 8];
        let mut dictionary = Dictionary::new(1).unwrap();
        // Blocks of 1,000: the first's user codes fit a byte, the later ones' do not.
        let blocks: Vec<Vec<u8>> = (0..3)
            .map(|block| {
                let mut builder = BlockBuilder::default();
                for i in block * 1_000..(block + 1) * 1_000 {
                    let at = i as u64 * 100;
                    builder
                        .push(at, &record(i), Extractor::spoor(), &mut dictionary)
                        .unwrap();
                }
                builder.finish(&marker, &dictionary).unwrap()
            })
            .collect();
        // Read back as on open, once every block's values are in the dictionary.
        let mut columns = Columns::default();
        columns.reserve(lines.len());
        for bytes in &blocks {
            let mut decoded = Block::default();
            decoded
                .decode_into(&bytes[HEADER_LEN..], &mut Vec::new())
                .unwrap();
            columns.append_block(1, &decoded, Some(&dictionary));
            for meta in [&columns.sourcetype, &columns.source, &columns.host] {
                assert_eq!(meta.heap_bytes() - meta.dict.heap_bytes(), 0);
            }
        }
        let mut pushed = Columns::default();
        for i in 0..lines.len() {
            let at = Location {
                segment: 1,
                offset: i as u64 * 100,
            };
            pushed.push(at, &record(i), Extractor::spoor());
        }
        assert_eq!(rows(&columns), rows(&pushed));
        columns.shrink();
        pushed.shrink();
        assert_eq!(rows(&columns), rows(&pushed));
    }

    #[test]
    fn codes_of_one_value_appended_stay_one_code() {
        let mut codes = Codes::Same { code: 2, len: 10 };
        codes.extend_codes([2; 5].into_iter(), 2);
        codes.append_codes(&Codes::Same { code: 1, len: 4 }, Some(&[0, 2]), 2);
        assert!(matches!(codes, Codes::Same { code: 2, len: 19 }));
        // Another code stores every code, widened as it needs.
        codes.extend_codes([2, 300].into_iter(), 300);
        let got: Vec<u32> = (17..22).map(|i| codes.get(i)).collect();
        assert_eq!(got, [2, 2, 2, 300, 0]);
        assert_eq!(codes.width(), 2);
    }

    #[test]
    fn codes_widen_as_the_dictionary_grows() {
        let mut codes = Codes::default();
        for code in [0, 1, 255, 256, 65_535, 65_536, 7] {
            codes.push(code);
        }
        let got: Vec<u32> = (0..7).map(|i| codes.get(i)).collect();
        assert_eq!(got, [0, 1, 255, 256, 65_535, 65_536, 7]);
        assert_eq!(codes.width(), 4);
    }
}
