//! What the benchmarks share.

use std::fs;
use std::path::Path;

/// Whether an index's folder is as a store left alone ends up: every closed segment sealed, and
/// the one being written empty, or too small to be closed when idle.
pub(crate) fn all_sealed(folder: &Path) -> bool {
    let logs: Vec<u64> = fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_str().is_some_and(|n| n.ends_with(".seg")))
                .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                .collect()
        })
        .unwrap_or_default();
    // The segment being written is closed once idle only when it holds a sixteenth of a
    // segment: a smaller one stays in its log, as it would in a store left alone.
    let rolled_from = spoor_engine::StoreOptions::default().segment_bytes / 16;
    matches!(logs[..], [tail] if tail < rolled_from)
}
