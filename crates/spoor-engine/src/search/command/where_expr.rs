//! `where <expression>`: the rows for which the expression is true.

use spoor_spl::ast::WhereExpr;

use crate::search::SearchError;
use crate::search::expr::{Row, Value};
use crate::search::frame::Frame;

pub(super) fn apply<'a>(frame: Frame<'a>, w: &WhereExpr) -> Result<Frame<'a>, SearchError> {
    let mut rows = Vec::new();
    for row in 0..frame.len {
        match (Row { frame: &frame, row }).eval(&w.condition)? {
            Value::Bool(true) => rows.push(row),
            Value::Bool(false) | Value::Null => {}
            other => {
                return Err(SearchError::Expression(format!(
                    "where needs a true-or-false condition, and `{}` gave {}: compare it \
                     (`x>0`, `x=\"a\"`) or test it (`isnotnull(x)`)",
                    w.condition,
                    other.as_text().unwrap_or_default()
                )));
            }
        }
    }
    Ok(if rows.len() == frame.len {
        frame
    } else {
        frame.select(&rows)
    })
}
