//! `fields`: columns removed, or kept in the order of the patterns.

use spoor_spl::ast::{Fields, FieldsMode};

use crate::search::SearchError;
use crate::search::frame::Frame;

pub(super) fn apply<'a>(mut frame: Frame<'a>, fields: &Fields) -> Result<Frame<'a>, SearchError> {
    match fields.mode {
        FieldsMode::Remove => {
            frame
                .cols
                .retain(|c| !fields.fields.iter().any(|p| p.matches(&c.name)));
        }
        FieldsMode::Keep => {
            let mut cols = std::mem::take(&mut frame.cols);
            let mut kept = Vec::new();
            for pattern in &fields.fields {
                let (matching, rest): (Vec<_>, Vec<_>) =
                    cols.into_iter().partition(|c| pattern.matches(&c.name));
                kept.extend(matching);
                cols = rest;
            }
            kept.extend(cols.into_iter().filter(|c| c.name.starts_with('_')));
            frame.cols = kept;
        }
    }
    Ok(frame)
}
