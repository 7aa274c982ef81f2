//! `bin`: each row's value of a field replaced by (or, with `as`, copied into another field as)
//! the start of its bin.

use spoor_spl::ast::{Bin, BinSpan};

use crate::search::SearchError;
use crate::search::command::timechart::Buckets;
use crate::search::expr::{MICROS, micros_of};
use crate::search::frame::{Col, Frame};
use crate::search::text::{format_number, number};

pub(super) fn apply<'a>(mut frame: Frame<'a>, bin: &Bin) -> Result<Frame<'a>, SearchError> {
    let field = bin.field.as_str();
    let target = bin.alias.as_ref().map_or(field, |a| a.as_str());
    // A time bin of the events' own times, kept as times.
    if let (BinSpan::Time(span), "_time", "_time", Some(times)) =
        (&bin.span, field, target, frame.event_times())
    {
        let buckets = Buckets::new(*span)?;
        let binned = times
            .iter()
            .map(|&t| buckets.start(t))
            .collect::<Option<Vec<i64>>>()
            .ok_or(SearchError::SpanOutOfRange { span: *span })?;
        frame.retime(binned);
        return Ok(frame);
    }
    let values: Vec<Option<f64>> = (0..frame.len)
        .map(|row| {
            if field == "_time"
                && let Some(times) = frame.event_times()
            {
                return Some(times[row] as f64 / MICROS);
            }
            frame.col(field).and_then(|c| c.get(row)).and_then(number)
        })
        .collect();
    let binned: Vec<Option<String>> = match &bin.span {
        BinSpan::Time(span) => {
            let buckets = Buckets::new(*span)?;
            let mut out = Vec::with_capacity(values.len());
            for value in values {
                out.push(match value.and_then(micros_of) {
                    Some(micros) => {
                        let start = buckets
                            .start(micros)
                            .ok_or(SearchError::SpanOutOfRange { span: *span })?;
                        Some(format_number(start as f64 / MICROS))
                    }
                    None => None,
                });
            }
            out
        }
        BinSpan::Number(width) => {
            let width = width.as_str().parse::<f64>().unwrap_or(0.0);
            if !(width > 0.0 && width.is_finite()) {
                return Err(SearchError::Expression(format!(
                    "bin span={width} is no positive number: give a span above 0, such as \
                     span=10"
                )));
            }
            values
                .into_iter()
                .map(|v| {
                    v.map(|v| (v / width).floor() * width)
                        .filter(|b| b.is_finite())
                        .map(format_number)
                })
                .collect()
        }
    };
    if binned.iter().any(Option::is_some) || frame.col(target).is_some() {
        frame.set(Col::from_values(target, binned));
    }
    Ok(frame)
}
