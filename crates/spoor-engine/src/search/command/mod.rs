//! The commands after the search, run in turn over a [`Frame`]: one module a command, each with
//! one operator, `apply(frame, &command) -> Result<Frame, SearchError>`; what each does is the
//! command's paragraph of the semantics in [the module's documentation](super).

mod bin;
mod dedup;
mod eval;
mod eventstats;
mod fields;
mod head;
mod rename;
mod sort;
pub(crate) mod stats;
mod streamstats;
pub(crate) mod timechart;
pub(crate) mod where_;
mod where_expr;

use spoor_spl::ast::{Aggregate, Command, Function};

use crate::columns::BUILT_IN;

use super::SearchError;
use super::frame::Frame;

/// Runs `commands` over `frame` in turn. While the rows are events (`events`, up to the first
/// command that [`transforms`] them), a field exists only where some row has a value: after a
/// command that [takes rows away](takes_rows), the extracted fields no row has are removed.
/// (Gathering dropped the fields no row has.)
pub(crate) fn run<'a>(
    mut frame: Frame<'a>,
    commands: &[Command],
    mut events: bool,
) -> Result<Frame<'a>, SearchError> {
    for command in commands {
        frame = apply(frame, command)?;
        events &= !transforms(command);
        if events && takes_rows(command) {
            frame = drop_empty_fields(frame);
        }
    }
    Ok(frame)
}

/// One command over `frame`.
fn apply<'a>(frame: Frame<'a>, command: &Command) -> Result<Frame<'a>, SearchError> {
    match command {
        Command::Where(w) => where_::apply(frame, w),
        Command::Stats(stats) => stats::apply(frame, stats),
        Command::Timechart(chart) => timechart::apply(frame, chart),
        Command::Rename(rename) => rename::apply(frame, rename),
        Command::Fields(fields) => fields::apply(frame, fields),
        Command::Sort(sort) => sort::apply(frame, sort),
        Command::Head(head) => head::apply(frame, head),
        Command::WhereExpr(w) => where_expr::apply(frame, w),
        Command::Eval(eval) => eval::apply(frame, eval),
        Command::Bin(bin) => bin::apply(frame, bin),
        Command::Dedup(dedup) => dedup::apply(frame, dedup),
        Command::Eventstats(eventstats) => eventstats::apply(frame, eventstats),
        Command::Streamstats(streamstats) => streamstats::apply(frame, streamstats),
    }
}

/// Whether a command makes rows that are no longer events (`stats`, `timechart`).
pub(crate) fn transforms(command: &Command) -> bool {
    matches!(command, Command::Stats(_) | Command::Timechart(_))
}

/// Whether a command's result depends on the order of its input rows (`streamstats`, and
/// `first`, `last`, `earliest` and `latest`, the last two by their ties), so that events must
/// come newest first.
pub(crate) fn reads_order(command: &Command) -> bool {
    matches!(command, Command::Streamstats(_))
        || command.aggregations().iter().any(|a| {
            matches!(
                a.aggregate,
                Aggregate::Apply {
                    function: Function::First
                        | Function::Last
                        | Function::Earliest
                        | Function::Latest,
                    ..
                }
            )
        })
}

/// Whether a command can take rows away (`sort` keeps at most its limit) or values (`eval`,
/// `bin`).
fn takes_rows(command: &Command) -> bool {
    matches!(
        command,
        Command::Where(_) | Command::Head(_) | Command::Sort(_)
    ) || takes_values(command)
}

/// The commands of expressions and bins that can take rows or values away.
fn takes_values(command: &Command) -> bool {
    matches!(
        command,
        Command::WhereExpr(_) | Command::Dedup(_) | Command::Eval(_) | Command::Bin(_)
    )
}

/// Removes the extracted fields no row has (the built-in ones stay).
fn drop_empty_fields(mut frame: Frame<'_>) -> Frame<'_> {
    frame
        .cols
        .retain(|c| BUILT_IN.contains(&c.name.as_str()) || c.codes.iter().any(|&code| code != 0));
    frame
}
