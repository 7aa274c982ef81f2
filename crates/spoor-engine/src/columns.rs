//! The in-memory columnar index of one engine index: a time column, and a dictionary-encoded
//! column per field, dense for common fields and sparse for rare ones.

use std::sync::Arc;

use spoor_event::extract::Extractor;

use crate::hash::FxHashMap;
use crate::log::Location;
use crate::record::RecordRef;

/// Distinct strings of one column; code `k` (from 1) stands for `values[k - 1]`, `0` for none.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dict {
    values: Vec<Arc<str>>,
    codes: FxHashMap<Arc<str>, u32>,
}

impl Dict {
    pub(crate) fn code_of(&mut self, value: &str) -> u32 {
        if let Some(&code) = self.codes.get(value) {
            return code;
        }
        let value: Arc<str> = Arc::from(value);
        self.values.push(Arc::clone(&value));
        let code = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values");
        self.codes.insert(value, code);
        code
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    pub(crate) fn find(&self, value: &str) -> Option<u32> {
        self.codes.get(value).copied()
    }

    /// The string of a non-zero code.
    pub(crate) fn get(&self, code: u32) -> &str {
        &self.values[code as usize - 1]
    }

    /// Every (code, value), in code order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        self.values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u32 + 1, &**v))
    }
}

/// One field's values over the rows of an index.
#[derive(Debug, Clone, Default)]
pub(crate) struct Column {
    pub(crate) dict: Dict,
    storage: Storage,
    /// The last row given a value, and that value's code.
    last_row: Option<u32>,
    last_code: u32,
}

#[derive(Debug, Clone)]
enum Storage {
    /// One code per row (`0`: no value).
    Dense(Vec<u32>),
    /// `(row, code)` of the rows with a value, rows ascending.
    Sparse(Vec<(u32, u32)>),
}

impl Default for Storage {
    fn default() -> Self {
        Self::Sparse(Vec::new())
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
        // Runs of one value (a sourcetype, a host) skip the dictionary lookup.
        let code = match self.last_code {
            code if code != 0 && self.dict.get(code) == value => code,
            _ => self.dict.code_of(value),
        };
        self.last_code = code;
        match &mut self.storage {
            Storage::Dense(codes) => {
                codes.resize(row as usize, 0);
                codes.push(code);
            }
            Storage::Sparse(entries) => {
                entries.push((row, code));
                // Dense costs 4 bytes a row, sparse 8 a value: switch when dense is smaller.
                if entries.len() * 2 > rows {
                    let mut codes = vec![0; rows];
                    for &(r, c) in entries.iter() {
                        codes[r as usize] = c;
                    }
                    self.storage = Storage::Dense(codes);
                }
            }
        }
    }

    /// Every row's code, when the column is dense.
    pub(crate) fn dense(&self) -> Option<&[u32]> {
        match &self.storage {
            Storage::Dense(codes) => Some(codes),
            Storage::Sparse(_) => None,
        }
    }

    /// The codes of `rows` (ascending), in order.
    pub(crate) fn gather(&self, rows: &[u32]) -> Vec<u32> {
        match &self.storage {
            Storage::Dense(codes) => rows
                .iter()
                .map(|&r| codes.get(r as usize).copied().unwrap_or(0))
                .collect(),
            Storage::Sparse(entries) => {
                let mut out = Vec::with_capacity(rows.len());
                let mut i = 0;
                for &row in rows {
                    while i < entries.len() && entries[i].0 < row {
                        i += 1;
                    }
                    out.push(if i < entries.len() && entries[i].0 == row {
                        entries[i].1
                    } else {
                        0
                    });
                }
                out
            }
        }
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
    pub(crate) locations: Vec<Location>,
    pub(crate) sourcetype: Column,
    pub(crate) source: Column,
    pub(crate) host: Column,
    /// Extracted fields by name.
    pub(crate) fields: FxHashMap<String, Column>,
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
        self.locations.push(location);
        self.sourcetype.push(row, record.sourcetype, rows);
        self.source.push(row, record.source, rows);
        self.host.push(row, record.host, rows);
        for field in extractor.fields(record.raw) {
            let key: &str = &field.key;
            // Built-in fields are never replaced.
            if BUILT_IN.contains(&key) {
                continue;
            }
            match self.fields.get_mut(key) {
                Some(column) => column.push(row, &field.value, rows),
                None => {
                    let mut column = Column::default();
                    column.push(row, &field.value, rows);
                    self.fields.insert(key.to_owned(), column);
                }
            }
        }
    }

    /// The rows whose time is in `earliest..latest` form a superset within this range.
    pub(crate) fn window_rows(&self, earliest: i64, latest: i64) -> std::ops::Range<usize> {
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
            _ => self.fields.get(field),
        }
    }
}
