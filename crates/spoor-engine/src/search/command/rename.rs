//! `rename`: columns renamed, wildcards substituted.

use spoor_spl::ast::Rename;

use crate::search::SearchError;
use crate::search::frame::Frame;

pub(super) fn apply<'a>(mut frame: Frame<'a>, rename: &Rename) -> Result<Frame<'a>, SearchError> {
    for renaming in &rename.renamings {
        let mut renamed: Vec<(usize, String)> = Vec::new();
        for (i, col) in frame.cols.iter().enumerate() {
            if let Some(captures) = renaming.from.captures(&col.name) {
                renamed.push((i, renaming.to.expand(&captures)));
            }
        }
        for (i, name) in &renamed {
            frame.cols[*i].name.clone_from(name);
        }
        // A renamed column replaces any other column of its new name.
        let targets: Vec<&String> = renamed.iter().map(|(_, n)| n).collect();
        let keep: Vec<bool> = frame
            .cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let is_renamed = renamed.iter().any(|(r, _)| *r == i);
                is_renamed || !targets.contains(&&c.name)
            })
            .collect();
        let mut keep = keep.into_iter();
        frame.cols.retain(|_| keep.next().unwrap_or(true));
    }
    Ok(frame)
}
