//! The rows of each value of a column of few values (an application, an event name), so that a
//! search keeping one application's one event reads the rows of that event instead of every
//! row's codes.
//!
//! Built from a column's codes in two passes (one to count, one to fill, so nothing grows by
//! doubling), in about two bytes a row: rows are taken in chunks of 65,536, and each code
//! keeps the low 16 bits of its rows, chunk after chunk, with where each chunk's start in
//! that list. Out of scope: keeping them up to date as rows are added (a [`Posted`] column
//! covers the rows it was built over; newer rows are read by their codes, and the postings
//! are built again once those pass an eighth of the rows).

use std::ops::Range;
use std::sync::{Arc, Mutex};

/// Rows a chunk holds: a row's low 16 bits are its place in its chunk.
const CHUNK: usize = 1 << 16;

/// The rows `0..rows` of each code of a column.
#[derive(Debug)]
pub(crate) struct Postings {
    rows: usize,
    /// Per code: the low 16 bits of its rows, ascending, chunk after chunk.
    lows: Vec<Vec<u16>>,
    /// Per code: where each chunk's rows start in its `lows`, and the end (chunks + 1).
    starts: Vec<Vec<u32>>,
}

impl Postings {
    /// The postings of the rows `0..rows` of codes below `codes`, `code_of` writing the codes
    /// of the rows from a start into a buffer (`0` past the column's end).
    pub(crate) fn build(rows: usize, codes: usize, code_of: impl Fn(usize, &mut [u32])) -> Self {
        let chunks = rows.div_ceil(CHUNK);
        let mut buf = vec![0u32; CHUNK.min(rows)];
        // Counted first, so each list is made its exact size.
        let mut counts = vec![0usize; codes];
        for k in 0..chunks {
            let start = k * CHUNK;
            let buf = &mut buf[..CHUNK.min(rows - start)];
            code_of(start, buf);
            for &code in buf.iter() {
                if let Some(count) = counts.get_mut(code as usize) {
                    *count += 1;
                }
            }
        }
        let mut lows: Vec<Vec<u16>> = counts.iter().map(|&n| Vec::with_capacity(n)).collect();
        let mut starts: Vec<Vec<u32>> =
            (0..codes).map(|_| Vec::with_capacity(chunks + 1)).collect();
        for k in 0..chunks {
            let start = k * CHUNK;
            for (starts, lows) in starts.iter_mut().zip(&lows) {
                starts.push(lows.len() as u32);
            }
            let buf = &mut buf[..CHUNK.min(rows - start)];
            code_of(start, buf);
            for (low, &code) in buf.iter().enumerate() {
                if let Some(lows) = lows.get_mut(code as usize) {
                    lows.push(low as u16);
                }
            }
        }
        for (starts, lows) in starts.iter_mut().zip(&lows) {
            starts.push(lows.len() as u32);
        }
        Self { rows, lows, starts }
    }

    /// The rows covered: `0..rows()`.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// The chunks `range` (within the rows covered) touches.
    fn chunks(&self, range: &Range<usize>) -> Range<usize> {
        if range.is_empty() {
            return 0..0;
        }
        range.start / CHUNK..(range.end - 1) / CHUNK + 1
    }

    /// How many rows of `code` the chunks touched by `range` hold: at least those in `range`,
    /// and at most a chunk's more at each end.
    pub(crate) fn about(&self, code: u32, range: Range<usize>) -> usize {
        let range = range.start.min(self.rows)..range.end.min(self.rows);
        let chunks = self.chunks(&range);
        self.starts.get(code as usize).map_or(0, |starts| {
            (starts[chunks.end] - starts[chunks.start]) as usize
        })
    }

    /// Appends the rows of `code` in `range` (rows past those covered are not) to `out`,
    /// ascending.
    pub(crate) fn rows_of(&self, code: u32, range: Range<usize>, out: &mut Vec<u32>) {
        let range = range.start.min(self.rows)..range.end.min(self.rows);
        let (Some(lows), Some(starts)) =
            (self.lows.get(code as usize), self.starts.get(code as usize))
        else {
            return;
        };
        for k in self.chunks(&range) {
            let base = (k * CHUNK) as u32;
            let mine = &lows[starts[k] as usize..starts[k + 1] as usize];
            // Only the first and last chunks can hold rows out of the range.
            let (from, to) = ((range.start as u32).max(base), range.end as u32);
            let first = mine.partition_point(|&low| base + u32::from(low) < from);
            for &low in &mine[first..] {
                let row = base + u32::from(low);
                if row >= to {
                    break;
                }
                out.push(row);
            }
        }
    }

    /// The bytes it takes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.lows.iter().map(|l| l.capacity() * 2).sum::<usize>()
            + self.starts.iter().map(|s| s.capacity() * 4).sum::<usize>()
    }
}

/// A column's postings, once built (see the module's docs): empty again when the column is
/// cloned, and dropped with it (the column is made anew when retention takes rows away).
#[derive(Default)]
pub(crate) struct Posted(Mutex<Option<Arc<Postings>>>);

impl Clone for Posted {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for Posted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows = self.held().map(|p| p.rows);
        f.debug_tuple("Posted").field(&rows).finish()
    }
}

impl Posted {
    fn held(&self) -> Option<Arc<Postings>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The postings covering all but the newest eighth of the `rows` at most, built (again)
    /// with `build` when there are none such.
    pub(crate) fn get(&self, rows: usize, build: impl FnOnce() -> Postings) -> Arc<Postings> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*held {
            Some(postings) if postings.rows <= rows && rows - postings.rows <= rows / 8 => {
                Arc::clone(postings)
            }
            _ => Arc::clone(held.insert(Arc::new(build()))),
        }
    }

    /// The bytes the postings take, if built.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.held().map_or(0, |p| p.heap_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn build(codes: &[u32], rows: usize, n: usize) -> Postings {
        Postings::build(rows, n, |start, out| {
            for (i, o) in out.iter_mut().enumerate() {
                *o = codes.get(start + i).copied().unwrap_or(0);
            }
        })
    }

    proptest! {
        /// The rows of a code in a range are the rows whose code it is, whatever the chunks;
        /// and the count about a range is at least those.
        #[test]
        fn rows_of_a_code_are_found(
            runs in proptest::collection::vec((0u32..5, 1usize..40_000), 0..12),
            extra in 0usize..70_000,
            ranges in proptest::collection::vec((0usize..300_000, 0usize..300_000), 1..6),
        ) {
            let codes: Vec<u32> = runs.iter().flat_map(|&(c, n)| std::iter::repeat_n(c, n)).collect();
            // Rows past the codes have none (code 0).
            let rows = codes.len() + extra;
            let postings = build(&codes, rows, 5);
            for (a, b) in ranges {
                let range = a.min(b)..a.max(b);
                for code in 0..5u32 {
                    let mut got = Vec::new();
                    postings.rows_of(code, range.clone(), &mut got);
                    let want: Vec<u32> = (range.start..range.end.min(rows))
                        .filter(|&r| codes.get(r).copied().unwrap_or(0) == code)
                        .map(|r| r as u32)
                        .collect();
                    prop_assert!(postings.about(code, range.clone()) >= want.len());
                    prop_assert_eq!(got, want);
                }
            }
        }
    }

    #[test]
    fn postings_are_built_again_once_they_cover_too_few_rows() {
        let posted = Posted::default();
        let built = std::cell::Cell::new(0);
        let get = |rows: usize| {
            posted.get(rows, || {
                built.set(built.get() + 1);
                build(&[], rows, 1)
            })
        };
        assert_eq!(get(800).rows(), 800);
        assert_eq!(get(900).rows(), 800, "a ninth newer: still used");
        assert_eq!(get(1_000).rows(), 1_000, "a fifth newer: built again");
        assert_eq!(get(500).rows(), 500, "fewer rows than covered: built again");
        assert_eq!(built.get(), 3);
    }
}
