//! `eval`: each assignment, in order, sets a field of every row to an expression's value.

use spoor_spl::ast::Eval;

use crate::search::SearchError;
use crate::search::expr::{Row, Value, micros_of};
use crate::search::frame::{Col, Frame};
use crate::search::text::number;

/// Splunk's words when an `eval` expression gives a Boolean.
const BOOLEAN: &str = "Error in 'eval' command: Fields cannot be assigned a boolean result. \
                       Instead, try if([bool expr], [expr], [expr]).";

pub(super) fn apply<'a>(mut frame: Frame<'a>, eval: &Eval) -> Result<Frame<'a>, SearchError> {
    for assignment in &eval.assignments {
        let name = assignment.field.as_str();
        let mut values: Vec<Option<String>> = Vec::with_capacity(frame.len);
        for row in 0..frame.len {
            let value = Row { frame: &frame, row }.eval(&assignment.value)?;
            if let Value::Bool(_) = value {
                return Err(SearchError::Expression(BOOLEAN.to_owned()));
            }
            values.push(value.as_text().map(std::borrow::Cow::into_owned));
        }
        if name == "_time"
            && let Some(times) = frame.event_times()
        {
            let mut times = times.to_vec();
            set_times(&mut times, &values)?;
            frame.retime(times);
            continue;
        }
        // A field no row gets, and no row had, is no column.
        if values.iter().any(Option::is_some) || frame.col(name).is_some() {
            frame.set(Col::from_values(name, values));
        }
    }
    Ok(frame)
}

/// `eval _time=…` while rows are events: each number (epoch seconds) becomes the row's time, to
/// the microsecond; a null leaves the time as it was.
fn set_times(times: &mut [i64], values: &[Option<String>]) -> Result<(), SearchError> {
    for (time, value) in times.iter_mut().zip(values) {
        let Some(value) = value else { continue };
        *time = number(value).and_then(micros_of).ok_or_else(|| {
            SearchError::Expression(format!(
                "eval _time needs a time in epoch seconds between the years 0000 and 9999, \
                     and got {value:?}: give a number such as relative_time(_time, \"@d\")"
            ))
        })?;
    }
    Ok(())
}
