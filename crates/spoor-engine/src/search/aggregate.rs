//! Aggregations, shared by `stats`, `eventstats`, `streamstats`, `timechart` and the direct path:
//! an aggregation bound to a column ([`Bound`], wildcards expanded), its running state over some
//! rows ([`Acc`], with the distinct codes of `dc` and `values` in a [`Distinct`]), and how one row
//! changes that state ([`Update`]).

use spoor_spl::ast::{Aggregate, Aggregation, Function};

use crate::hash::FxHashSet;

use super::frame::{Col, Frame};
use super::text::{format_number, number};

/// One aggregation bound to a column (or to rows, for `count`), with its output name and the
/// rows' event times (for `earliest` and `latest`; `None` once rows are no longer events).
pub(crate) struct Bound<'f, 'a> {
    pub(crate) function: Option<Function>,
    pub(crate) col: Option<&'f Col<'a>>,
    pub(crate) name: String,
    pub(crate) times: Option<&'f [i64]>,
}

/// Expands wildcard fields against the frame's columns: the fields of the input rows, the
/// columns some row has a value in. `_time`, named alone, is `seconds` when given (the events'
/// times as numbers, from [`seconds_column`]).
pub(crate) fn bind<'f, 'a>(
    frame: &'f Frame<'a>,
    seconds: Option<&'f Col<'a>>,
    aggregation: &Aggregation,
) -> Vec<Bound<'f, 'a>> {
    let mut bound = bind_matching(frame, aggregation, |c| {
        c.codes.iter().any(|&code| code != 0)
    });
    if let (Some(seconds), Aggregate::Apply { field, .. }) = (seconds, &aggregation.aggregate)
        && field.as_str() == "_time"
    {
        for b in &mut bound {
            b.col = Some(seconds);
        }
    }
    bound
}

/// The events' times as a column of epoch seconds (`1764331200.5`), for aggregations that
/// read `_time` while rows are events; `None` when none of `aggregations` reads it or the rows
/// are not events.
pub(crate) fn seconds_column(
    frame: &Frame<'_>,
    aggregations: &[Aggregation],
) -> Option<Col<'static>> {
    let reads = aggregations.iter().any(
        |a| matches!(&a.aggregate, Aggregate::Apply { field, .. } if field.as_str() == "_time"),
    );
    let times = frame.times.as_ref().filter(|_| reads)?;
    Some(Col::from_values(
        "_time",
        times.iter().map(|&t| Some(epoch_seconds(t))),
    ))
}

/// Microseconds since the epoch as seconds, exactly: `1764331200`, `1764331200.25`,
/// `-0.000001`.
fn epoch_seconds(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let magnitude = micros.unsigned_abs();
    let (seconds, fraction) = (magnitude / 1_000_000, magnitude % 1_000_000);
    if fraction == 0 {
        return format!("{sign}{seconds}");
    }
    let fraction = format!("{fraction:06}");
    format!("{sign}{seconds}.{}", fraction.trim_end_matches('0'))
}

/// Expands wildcard fields against the frame's columns for which `keep` holds.
pub(crate) fn bind_matching<'f, 'a>(
    frame: &'f Frame<'a>,
    aggregation: &Aggregation,
    keep: impl Fn(&Col<'a>) -> bool,
) -> Vec<Bound<'f, 'a>> {
    let times = frame.times.as_deref();
    match &aggregation.aggregate {
        Aggregate::Count => vec![Bound {
            function: None,
            col: None,
            name: aggregation.output_name(),
            times,
        }],
        Aggregate::Apply { function, field } => {
            if field.wildcards() == 0 {
                return vec![Bound {
                    function: Some(*function),
                    col: frame.col(field.as_str()),
                    name: aggregation.output_name(),
                    times,
                }];
            }
            let mut matching: Vec<&Col<'a>> = frame
                .cols
                .iter()
                .filter(|c| field.matches(&c.name) && keep(c))
                .collect();
            matching.sort_by(|a, b| a.name.cmp(&b.name));
            matching
                .into_iter()
                .map(|col| {
                    let captures = field.captures(&col.name).unwrap_or_default();
                    let name = match &aggregation.alias {
                        Some(alias) => alias.expand(&captures),
                        None => format!("{}({})", function.name(), col.name),
                    };
                    Bound {
                        function: Some(*function),
                        col: Some(col),
                        name,
                        times,
                    }
                })
                .collect()
        }
    }
}

/// The running state of one aggregation over some rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Acc {
    pub(crate) rows: u64,
    pub(crate) present: u64,
    /// The codes seen, for `dc` and `values`.
    pub(crate) distinct: Distinct,
    sum: f64,
    numbers: u64,
    min: Option<f64>,
    max: Option<f64>,
    min_text: Option<u32>,
    max_text: Option<u32>,
    /// The state only the functions beyond the counts, sums and extremes need, made when first
    /// needed (so the many states of a chart stay small).
    more: Option<Box<More>>,
}

/// The state of `median`, the percentiles, `stdev`, `first`, `last`, `earliest` and `latest`.
#[derive(Debug, Clone, Default)]
struct More {
    /// Every number, in row order, for `median`, the percentiles and `stdev`.
    all: Vec<f64>,
    /// The first and last code in row order, for `first` and `last`.
    first: Option<u32>,
    last: Option<u32>,
    /// The code at the smallest and at the largest time (the first such row on ties).
    earliest: Option<(i64, u32)>,
    latest: Option<(i64, u32)>,
}

impl More {
    /// Adds the rows `other` saw, which come after this state's.
    fn merge(&mut self, other: &Self) {
        self.all.extend_from_slice(&other.all);
        self.first = self.first.or(other.first);
        self.last = other.last.or(self.last);
        if let Some((t, code)) = other.earliest
            && self.earliest.is_none_or(|(mine, _)| t < mine)
        {
            self.earliest = Some((t, code));
        }
        if let Some((t, code)) = other.latest
            && self.latest.is_none_or(|(mine, _)| t > mine)
        {
            self.latest = Some((t, code));
        }
    }
}

impl Acc {
    /// Adds one row to the state of aggregation `bound` (`numbers`: each code read as a number).
    #[inline]
    pub(crate) fn add(&mut self, bound: &Bound<'_, '_>, row: usize, numbers: &[Option<f64>]) {
        self.rows += 1;
        let Some(col) = bound.col else { return };
        let code = col.codes[row];
        if code == 0 {
            return;
        }
        self.present += 1;
        let Some(function) = bound.function else {
            return;
        };
        match function {
            Function::DistinctCount | Function::Values => {
                self.distinct.insert(code, col.dict.len());
            }
            Function::First | Function::Last => {
                let more = self.more();
                more.first.get_or_insert(code);
                more.last = Some(code);
            }
            Function::Earliest | Function::Latest => {
                if let Some(&time) = bound.times.and_then(|t| t.get(row)) {
                    let more = self.more();
                    if more.earliest.is_none_or(|(t, _)| time < t) {
                        more.earliest = Some((time, code));
                    }
                    if more.latest.is_none_or(|(t, _)| time > t) {
                        more.latest = Some((time, code));
                    }
                }
            }
            Function::Count => {}
            // The functions that read numbers (`reads_numbers`).
            function => {
                if let Some(x) = numbers[code as usize] {
                    self.sum += x;
                    self.numbers += 1;
                    self.min = Some(self.min.map_or(x, |m| m.min(x)));
                    self.max = Some(self.max.map_or(x, |m| m.max(x)));
                    if keeps_all(function) {
                        self.more().all.push(x);
                    }
                } else {
                    let text = col.dict.get(code);
                    if self.min_text.is_none_or(|m| text < col.dict.get(m)) {
                        self.min_text = Some(code);
                    }
                    if self.max_text.is_none_or(|m| text > col.dict.get(m)) {
                        self.max_text = Some(code);
                    }
                }
            }
        }
    }

    /// Sets the sum of the numbers seen, and how many there were (for `sum` added up
    /// elsewhere, in row order).
    pub(crate) fn set_sum(&mut self, sum: f64, numbers: u64) {
        self.sum = sum;
        self.numbers = numbers;
    }

    /// Adds the rows `other` saw (of the same aggregation, rows that come after this state's)
    /// to this state.
    pub(crate) fn merge(&mut self, other: &Self, bound: &Bound<'_, '_>) {
        self.rows += other.rows;
        self.present += other.present;
        self.sum += other.sum;
        self.numbers += other.numbers;
        self.min = match (self.min, other.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, other.max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if let Some(theirs) = &other.more {
            self.more().merge(theirs);
        }
        if let Some(col) = bound.col {
            let text = |code: u32| col.dict.get(code);
            if let Some(m) = other.min_text
                && self.min_text.is_none_or(|s| text(m) < text(s))
            {
                self.min_text = Some(m);
            }
            if let Some(m) = other.max_text
                && self.max_text.is_none_or(|s| text(m) > text(s))
            {
                self.max_text = Some(m);
            }
            self.distinct.extend(&other.distinct, col.dict.len());
        }
    }

    /// The aggregate's value; `None` when it has none. A multivalue (`values`) is its values
    /// joined by line breaks.
    pub(crate) fn value(&self, bound: &Bound<'_, '_>) -> Option<String> {
        let number = |x: Option<f64>| x.map(format_number);
        let text =
            |code: Option<u32>| code.and_then(|c| bound.col.map(|col| col.dict.get(c).to_owned()));
        let Some(function) = bound.function else {
            return Some(self.rows.to_string());
        };
        let numbers = self.numbers > 0;
        let more = self.more.as_deref();
        let all = more.map_or(&[][..], |m| m.all.as_slice());
        match function {
            Function::Count => Some(self.present.to_string()),
            Function::DistinctCount => Some(self.distinct.count().to_string()),
            Function::Sum => numbers.then(|| format_number(self.sum)),
            Function::Avg => numbers.then(|| format_number(self.sum / self.numbers as f64)),
            Function::Min => number(self.min).or_else(|| text(self.min_text)),
            Function::Max => number(self.max).or_else(|| text(self.max_text)),
            Function::Range => self
                .min
                .zip(self.max)
                .map(|(lo, hi)| format_number(hi - lo)),
            Function::Median => percentile(all, 50.0).map(format_number),
            Function::Perc(p) | Function::ExactPerc(p) | Function::UpperPerc(p) => {
                percentile(all, p.as_f64()).map(format_number)
            }
            Function::Stdev => stdev(all).map(format_number),
            Function::Values => {
                let col = bound.col?;
                let mut values: Vec<&str> = Vec::with_capacity(self.distinct.count());
                self.distinct
                    .for_each(|code| values.push(col.dict.get(code)));
                values.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
                (!values.is_empty()).then(|| values.join("\n"))
            }
            Function::First => text(more.and_then(|m| m.first)),
            Function::Last => text(more.and_then(|m| m.last)),
            Function::Earliest => text(more.and_then(|m| m.earliest).map(|(_, code)| code)),
            Function::Latest => text(more.and_then(|m| m.latest).map(|(_, code)| code)),
        }
    }

    /// The state beyond the counts, sums and extremes, made on first use.
    fn more(&mut self) -> &mut More {
        self.more.get_or_insert_default()
    }
}

/// Whether the function reads its values as numbers (`sum`, `avg`, `min`, `max`, `range`,
/// `median`, the percentiles, `stdev`): all but the counts and the functions of values as text.
fn reads_numbers(function: Function) -> bool {
    !matches!(
        function,
        Function::Count
            | Function::DistinctCount
            | Function::Values
            | Function::First
            | Function::Last
            | Function::Earliest
            | Function::Latest
    )
}

/// Whether the function needs every number (not only their sum and extremes).
fn keeps_all(function: Function) -> bool {
    matches!(
        function,
        Function::Median
            | Function::Perc(_)
            | Function::ExactPerc(_)
            | Function::UpperPerc(_)
            | Function::Stdev
    )
}

/// The `p`th percentile (`0 < p < 100`) of `numbers`, by nearest rank: the number at rank
/// `round(p / 100 × (n − 1))` (halves rounded up, ranks from 0) of the numbers in ascending
/// order; so the median of an even count is the larger of the two middle numbers. `None`
/// when there is no number.
pub(crate) fn percentile(numbers: &[f64], p: f64) -> Option<f64> {
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let last = sorted.len().checked_sub(1)?;
    let rank = (p / 100.0 * last as f64 + 0.5).floor() as usize;
    sorted.get(rank.min(last)).copied()
}

/// The sample standard deviation of `numbers` (two passes: the mean, then the squared
/// deviations over `n − 1`); `0` for one number, `None` for none. Both sums add the numbers
/// in ascending order, so the result is the same whatever order the rows came in (a search
/// of several indexes reads them index by index).
fn stdev(numbers: &[f64]) -> Option<f64> {
    let n = numbers.len();
    if n < 2 {
        return (n == 1).then_some(0.0);
    }
    let mut sorted = numbers.to_vec();
    sorted.sort_by(f64::total_cmp);
    let numbers = &sorted;
    let mean = numbers.iter().sum::<f64>() / n as f64;
    let squares: f64 = numbers.iter().map(|x| (x - mean) * (x - mean)).sum();
    Some((squares / (n - 1) as f64).sqrt())
}

/// A set of codes: hashed while small, a bitmap over the dictionary once that is smaller.
#[derive(Debug, Clone)]
pub(crate) enum Distinct {
    Hashed(FxHashSet<u32>),
    Bitmap { bits: Vec<u64>, count: usize },
}

impl Default for Distinct {
    fn default() -> Self {
        Self::Hashed(FxHashSet::default())
    }
}

impl Distinct {
    #[inline]
    pub(crate) fn insert(&mut self, code: u32, dict_len: usize) {
        match self {
            Self::Hashed(set) => {
                set.insert(code);
                // A hashed code costs about 8 bytes, the bitmap 1 bit per dictionary entry.
                if set.len() * 64 > dict_len + 1 {
                    let mut bits = vec![0u64; (dict_len + 1).div_ceil(64)];
                    for &c in set.iter() {
                        bits[c as usize / 64] |= 1 << (c % 64);
                    }
                    *self = Self::Bitmap {
                        bits,
                        count: set.len(),
                    };
                }
            }
            Self::Bitmap { bits, count } => {
                let (word, bit) = (code as usize / 64, 1u64 << (code % 64));
                if let Some(w) = bits.get_mut(word)
                    && *w & bit == 0
                {
                    *w |= bit;
                    *count += 1;
                }
            }
        }
    }

    /// The codes whose bits are set in `bits`, a bitmap over a dictionary of `dict_len` values
    /// (bit `0`, no value, left out), in the form [`insert`](Self::insert) gives such a set.
    pub(crate) fn from_bits(bits: &[u64], dict_len: usize) -> Self {
        let mut bits = bits.to_vec();
        if let Some(first) = bits.first_mut() {
            *first &= !1;
        }
        let count = bits.iter().map(|w| w.count_ones() as usize).sum();
        let bitmap = Self::Bitmap { bits, count };
        if count * 64 > dict_len + 1 {
            return bitmap;
        }
        let mut set = FxHashSet::default();
        bitmap.for_each(|code| {
            set.insert(code);
        });
        Self::Hashed(set)
    }

    /// Adds the codes of `other` (over the same dictionary, of `dict_len` values).
    fn extend(&mut self, other: &Self, dict_len: usize) {
        match (&mut *self, other) {
            (Self::Bitmap { bits, count }, Self::Bitmap { bits: theirs, .. })
                if bits.len() == theirs.len() =>
            {
                for (mine, theirs) in bits.iter_mut().zip(theirs) {
                    *mine |= theirs;
                }
                *count = bits.iter().map(|w| w.count_ones() as usize).sum();
            }
            _ => other.for_each(|code| self.insert(code, dict_len)),
        }
    }

    pub(crate) fn count(&self) -> usize {
        match self {
            Self::Hashed(set) => set.len(),
            Self::Bitmap { count, .. } => *count,
        }
    }

    pub(crate) fn for_each(&self, mut f: impl FnMut(u32)) {
        match self {
            Self::Hashed(set) => set.iter().for_each(|&c| f(c)),
            Self::Bitmap { bits, .. } => {
                for (i, &word) in bits.iter().enumerate() {
                    let mut word = word;
                    while word != 0 {
                        f(i as u32 * 64 + word.trailing_zeros());
                        word &= word - 1;
                    }
                }
            }
        }
    }
}

/// Each code's value read as a number, by code (index 0 for "no value"), for the aggregations
/// that read numbers.
pub(crate) fn numbers_of(bound: &Bound<'_, '_>) -> Vec<Option<f64>> {
    let Some(col) = bound
        .col
        .filter(|_| bound.function.is_some_and(reads_numbers))
    else {
        return Vec::new();
    };
    std::iter::once(None)
        .chain(col.dict.iter().map(|(_, v)| number(v)))
        .collect()
}

/// How one row changes the state of an aggregation: `count`, `count(f)` and `dc(f)` in the
/// fewest steps, the others through [`Acc::add`].
pub(crate) enum Update<'u, 'f, 'a> {
    /// `count`.
    Rows,
    /// `count(f)`.
    Present(&'f Col<'a>),
    /// `dc(f)`, with the dictionary's size.
    Distinct(&'f Col<'a>, usize),
    /// The rest.
    Other(&'u Bound<'f, 'a>, &'u [Option<f64>]),
}

impl<'u, 'f, 'a> Update<'u, 'f, 'a> {
    pub(crate) fn of(b: &'u Bound<'f, 'a>, numbers: &'u [Option<f64>]) -> Self {
        match (b.function, b.col) {
            (None, _) => Self::Rows,
            (Some(Function::Count), Some(col)) => Self::Present(col),
            (Some(Function::DistinctCount), Some(col)) => Self::Distinct(col, col.dict.len()),
            _ => Self::Other(b, numbers),
        }
    }

    /// Applies the update to `accs[group]` for each `(row, group)`, deciding the kind once, so
    /// each kind is a loop of its own.
    pub(crate) fn run(&self, rows: impl Iterator<Item = (usize, usize)>, accs: &mut [Acc]) {
        let each = |update: &Self| {
            for (row, group) in rows {
                update.apply(&mut accs[group], row);
            }
        };
        // A value built in each arm has a kind the compiler knows, so `apply` folds away.
        match *self {
            Self::Rows => each(&Self::Rows),
            Self::Present(col) => each(&Self::Present(col)),
            Self::Distinct(col, len) => each(&Self::Distinct(col, len)),
            Self::Other(b, numbers) => each(&Self::Other(b, numbers)),
        }
    }

    /// Adds one row to a state.
    #[inline]
    pub(crate) fn apply(&self, acc: &mut Acc, row: usize) {
        match self {
            Self::Rows => acc.rows += 1,
            Self::Present(col) => acc.present += u64::from(col.codes[row] != 0),
            Self::Distinct(col, dict_len) => {
                let code = col.codes[row];
                if code != 0 {
                    acc.distinct.insert(code, *dict_len);
                }
            }
            Self::Other(b, numbers) => acc.add(b, row, numbers),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_are_exact_on_both_sides_of_the_epoch() {
        assert_eq!(epoch_seconds(1_764_331_200_000_000), "1764331200");
        assert_eq!(epoch_seconds(1_764_331_200_250_000), "1764331200.25");
        assert_eq!(epoch_seconds(-1), "-0.000001");
        assert_eq!(epoch_seconds(-1_500_000), "-1.5");
        assert_eq!(epoch_seconds(i64::MIN), "-9223372036854.775808");
    }

    #[test]
    fn percentiles_take_the_nearest_rank_and_stdev_is_the_sample_one() {
        let numbers = [100.0, 2.25, -2.0, 5.0, 19.5];
        assert_eq!(percentile(&numbers, 50.0), Some(5.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(3.0));
        assert_eq!(percentile(&numbers, 1.0), Some(-2.0));
        assert_eq!(percentile(&numbers, 99.5), Some(100.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(stdev(&[2.0, 4.0]), Some(2f64.sqrt()));
        assert_eq!(stdev(&[7.0]), Some(0.0));
        assert_eq!(stdev(&[]), None);
    }
}
