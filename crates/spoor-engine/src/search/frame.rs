//! A table of rows in columnar form: each column is codes into a dictionary of strings.
//!
//! Columns gathered from the index borrow its dictionaries, so filtering and grouping work on
//! integer codes; columns computed by a command own theirs.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::dictionary::Dict;

use super::text::{compare_values, format_time};

#[derive(Debug, Clone)]
pub(crate) struct Col<'a> {
    pub(crate) name: String,
    pub(crate) dict: Cow<'a, Dict>,
    /// One code per row, `0` for no value.
    pub(crate) codes: Vec<u32>,
}

impl<'a> Col<'a> {
    pub(crate) fn get(&self, row: usize) -> Option<&str> {
        match self.codes[row] {
            0 => None,
            code => Some(self.dict.get(code)),
        }
    }

    /// A column built from strings.
    pub(crate) fn from_values<S: AsRef<str>>(
        name: impl Into<String>,
        values: impl IntoIterator<Item = Option<S>>,
    ) -> Self {
        let mut dict = Dict::default();
        let codes = values
            .into_iter()
            .map(|v| v.map_or(0, |v| dict.code_of(v.as_ref())))
            .collect();
        Self {
            name: name.into(),
            dict: Cow::Owned(dict),
            codes,
        }
    }

    fn select(&self, rows: &[usize]) -> Self {
        Self {
            name: self.name.clone(),
            dict: self.dict.clone(),
            codes: rows.iter().map(|&r| self.codes[r]).collect(),
        }
    }
}

/// Rows of named columns, and the events' times while rows are still events.
#[derive(Debug, Clone, Default)]
pub(crate) struct Frame<'a> {
    pub(crate) len: usize,
    /// `_time` in microseconds, while the rows are events.
    pub(crate) times: Option<Vec<i64>>,
    /// The search's window in microseconds (`None`: open), for `timechart`'s buckets.
    pub(crate) window: (Option<i64>, Option<i64>),
    pub(crate) cols: Vec<Col<'a>>,
}

impl<'a> Frame<'a> {
    pub(crate) fn col(&self, name: &str) -> Option<&Col<'a>> {
        self.cols.iter().find(|c| c.name == name)
    }

    /// Keeps the rows at `rows`, in that order.
    pub(crate) fn select(&self, rows: &[usize]) -> Self {
        Self {
            len: rows.len(),
            window: self.window,
            times: self
                .times
                .as_ref()
                .map(|t| rows.iter().map(|&r| t[r]).collect()),
            cols: self.cols.iter().map(|c| c.select(rows)).collect(),
        }
    }

    /// Puts a column in, replacing one of the same name where it stands.
    pub(crate) fn set(&mut self, col: Col<'a>) {
        match self.cols.iter_mut().find(|c| c.name == col.name) {
            Some(slot) => *slot = col,
            None => self.cols.push(col),
        }
    }

    /// The events' times, while rows are events and still have their `_time` (a `rename` may
    /// have taken it away): what `_time` reads as in expressions, `sort` and `bin`.
    pub(crate) fn event_times(&self) -> Option<&[i64]> {
        self.times
            .as_deref()
            .filter(|_| self.col("_time").is_some())
    }

    /// Gives the events new times (`eval _time=…`, `bin _time`), and the `_time` column, when
    /// there is one, their text.
    pub(crate) fn retime(&mut self, times: Vec<i64>) {
        if self.col("_time").is_some() {
            self.set(Col::from_values(
                "_time",
                times.iter().map(|t| Some(format_time(*t))),
            ));
        }
        self.times = Some(times);
    }

    /// Appends the rows of `other`, merging dictionaries (columns matched by name).
    pub(crate) fn append(&mut self, other: Self) {
        if other.len == 0 {
            return;
        }
        if self.len == 0 && self.cols.is_empty() {
            *self = other;
            return;
        }
        let (len, other_len) = (self.len, other.len);
        match (&mut self.times, other.times) {
            (Some(mine), Some(theirs)) => mine.extend(theirs),
            (mine, _) => *mine = None,
        }
        for col in &mut self.cols {
            col.codes.resize(len + other_len, 0);
        }
        for theirs in other.cols {
            let index = match self.cols.iter().position(|c| c.name == theirs.name) {
                Some(i) => i,
                None => {
                    self.cols.push(Col {
                        name: theirs.name.clone(),
                        dict: Cow::Owned(Dict::default()),
                        codes: vec![0; len + other_len],
                    });
                    self.cols.len() - 1
                }
            };
            let mine = &mut self.cols[index];
            // Same dictionary (same column of the same index): codes carry over as they are.
            let shared = matches!((&mine.dict, &theirs.dict), (Cow::Borrowed(a), Cow::Borrowed(b)) if std::ptr::eq(*a, *b));
            for (i, &code) in theirs.codes.iter().enumerate() {
                mine.codes[len + i] = if code == 0 || shared {
                    code
                } else {
                    mine.dict.to_mut().code_of(theirs.dict.get(code))
                };
            }
        }
        self.len += other_len;
    }

    /// A stable order of the rows by `keys` (field name, descending); missing values last.
    /// `_time` orders by the events' times while rows are events.
    pub(crate) fn order(&self, keys: &[(&str, bool)]) -> Vec<usize> {
        /// Where a key's values are.
        enum Key<'k, 'a> {
            Times(&'k [i64]),
            Col(&'k Col<'a>),
            Missing,
        }
        let keys: Vec<(Key<'_, 'a>, bool)> = keys
            .iter()
            .map(|&(name, descending)| {
                let key = match (self.event_times(), self.col(name)) {
                    (Some(times), _) if name == "_time" => Key::Times(times),
                    (_, Some(col)) => Key::Col(col),
                    (_, None) => Key::Missing,
                };
                (key, descending)
            })
            .collect();
        let mut rows: Vec<usize> = (0..self.len).collect();
        rows.sort_by(|&a, &b| {
            for (key, descending) in &keys {
                let present = match key {
                    Key::Times(times) => Some(times[a].cmp(&times[b])),
                    Key::Col(col) => match (col.get(a), col.get(b)) {
                        (None, None) => Some(Ordering::Equal),
                        (None, Some(_)) => return Ordering::Greater,
                        (Some(_), None) => return Ordering::Less,
                        (Some(x), Some(y)) => Some(compare_values(x, y)),
                    },
                    Key::Missing => None,
                };
                let ordering = match present {
                    Some(o) if *descending => o.reverse(),
                    Some(o) => o,
                    None => Ordering::Equal,
                };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            Ordering::Equal
        });
        rows
    }
}
