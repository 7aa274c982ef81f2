//! `dedup`: the first rows of each combination of the fields' values.

use std::collections::hash_map::Entry;

use spoor_spl::ast::Dedup;

use crate::hash::FxHashMap;
use crate::search::SearchError;
use crate::search::frame::Frame;

pub(super) fn apply<'a>(frame: Frame<'a>, dedup: &Dedup) -> Result<Frame<'a>, SearchError> {
    let keep = dedup.count.map_or(1, |n| n.get());
    let cols: Option<Vec<_>> = dedup.fields.iter().map(|f| frame.col(f.as_str())).collect();
    let mut rows = Vec::new();
    if let Some(cols) = cols {
        // Codes stand for values: each column's dictionary holds a value once.
        let mut seen: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
        for row in 0..frame.len {
            let key: Vec<u32> = cols.iter().map(|c| c.codes[row]).collect();
            if key.contains(&0) {
                continue;
            }
            let taken = match seen.entry(key) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(0),
            };
            if *taken < keep {
                *taken += 1;
                rows.push(row);
            }
        }
    }
    Ok(frame.select(&rows))
}
