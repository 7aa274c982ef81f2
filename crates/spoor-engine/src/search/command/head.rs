//! `head`: the first rows.

use spoor_spl::ast::Head;

use crate::search::SearchError;
use crate::search::frame::Frame;

pub(super) fn apply<'a>(frame: Frame<'a>, head: &Head) -> Result<Frame<'a>, SearchError> {
    let n = usize::try_from(head.count)
        .unwrap_or(usize::MAX)
        .min(frame.len);
    Ok(frame.select(&(0..n).collect::<Vec<_>>()))
}
