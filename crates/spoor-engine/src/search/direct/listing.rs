//! The newest events of a listing cut by `head` (the builders' timeline of one user): only the
//! rows that can be among them are gathered.
//!
//! A listing shows events newest first (ties in write order), and `head n` keeps the first `n`;
//! the fields it shows are those the kept events have. Over an index whose times are sorted,
//! the rows are read backwards from the window's end, block by block, with the search's
//! conditions decided by code, until `n` rows pass and the rows left are older than the `n`th
//! (rows of its instant are all taken, whatever their place among ties). Those rows are then
//! gathered and listed as every listing is, so the `head` keeps the same events, and the same
//! fields, as over all the rows that pass.

use spoor_spl::ast::Command;

use crate::columns::Columns;
use crate::search::Window;
use crate::search::filter::{Filter, window_micros};

/// Rows read at a time.
const BLOCK: usize = 1024;

/// The rows (ascending) that hold the events a listing cut by `commands` (a lone `head n`)
/// keeps, when `commands` are that and the times of `columns` are sorted; `None` otherwise.
pub(crate) fn newest(
    columns: &Columns,
    filter: &Filter<'_, '_>,
    window: &Window,
    commands: &[Command],
) -> Option<Vec<u32>> {
    let [Command::Head(head)] = commands else {
        return None;
    };
    let n = usize::try_from(head.count).ok().filter(|&n| n > 0)?;
    if !columns.sorted || !filter.slow.is_empty() {
        return None;
    }
    if filter.nothing {
        return Some(Vec::new());
    }
    let (earliest, latest) = window_micros(window);
    let range = columns.window_rows(earliest, latest);
    let (mut pass, mut codes) = (vec![true; BLOCK], vec![0u32; BLOCK]);
    let mut rows: Vec<u32> = Vec::new();
    let mut end = range.end;
    while end > range.start {
        let start = end.saturating_sub(BLOCK).max(range.start);
        let (pass, codes) = (&mut pass[..end - start], &mut codes[..end - start]);
        pass.fill(true);
        for (column, holds) in &filter.by_code {
            column.codes_into(start, codes);
            for (pass, &code) in pass.iter_mut().zip(codes.iter()) {
                *pass &= holds[code as usize];
            }
        }
        for row in (start..end).rev() {
            if !pass[row - start] {
                continue;
            }
            if rows.len() >= n && columns.times[row] < columns.times[rows[n - 1] as usize] {
                rows.reverse();
                return Some(rows);
            }
            rows.push(row as u32);
        }
        end = start;
    }
    rows.reverse();
    Some(rows)
}
