//! `where`: the rows whose fields equal (or differ from) the literals.

use spoor_spl::ast::{CompareOp, Where};

use crate::search::SearchError;
use crate::search::frame::Frame;

pub(super) fn apply<'a>(frame: Frame<'a>, w: &Where) -> Result<Frame<'a>, SearchError> {
    let mut rows: Vec<usize> = (0..frame.len).collect();
    for condition in &w.conditions {
        let Some(col) = frame.col(condition.field.as_str()) else {
            rows.clear();
            break;
        };
        let target = col.dict.find(&condition.value);
        rows.retain(|&r| {
            let code = col.codes[r];
            match condition.op {
                CompareOp::Eq => code != 0 && Some(code) == target,
                CompareOp::Ne => code != 0 && Some(code) != target,
            }
        });
    }
    Ok(if rows.len() == frame.len {
        frame
    } else {
        frame.select(&rows)
    })
}
