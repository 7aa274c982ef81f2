//! Aggregations, shared by `stats`, `timechart` and the direct path: an aggregation bound to a
//! column ([`Bound`], wildcards expanded), its running state over some rows ([`Acc`], with the
//! distinct codes of `dc` in a [`Distinct`]), and how one row changes that state ([`Update`]).

use spoor_spl::ast::{Aggregate, Aggregation, Function};

use crate::hash::FxHashSet;

use super::frame::{Col, Frame};
use super::text::{format_number, number};

/// One aggregation bound to a column (or to rows, for `count`), with its output name.
pub(crate) struct Bound<'f, 'a> {
    pub(crate) function: Option<Function>,
    pub(crate) col: Option<&'f Col<'a>>,
    pub(crate) name: String,
}

/// Expands wildcard fields against the frame's columns: the fields of the input rows, the
/// columns some row has a value in.
pub(crate) fn bind<'f, 'a>(frame: &'f Frame<'a>, aggregation: &Aggregation) -> Vec<Bound<'f, 'a>> {
    bind_matching(frame, aggregation, |c| {
        c.codes.iter().any(|&code| code != 0)
    })
}

/// Expands wildcard fields against the frame's columns for which `keep` holds.
pub(crate) fn bind_matching<'f, 'a>(
    frame: &'f Frame<'a>,
    aggregation: &Aggregation,
    keep: impl Fn(&Col<'a>) -> bool,
) -> Vec<Bound<'f, 'a>> {
    match &aggregation.aggregate {
        Aggregate::Count => vec![Bound {
            function: None,
            col: None,
            name: aggregation.output_name(),
        }],
        Aggregate::Apply { function, field } => {
            if field.wildcards() == 0 {
                return vec![Bound {
                    function: Some(*function),
                    col: frame.col(field.as_str()),
                    name: aggregation.output_name(),
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
    pub(crate) distinct: Distinct,
    sum: f64,
    numbers: u64,
    min: Option<f64>,
    max: Option<f64>,
    min_text: Option<u32>,
    max_text: Option<u32>,
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
        match bound.function {
            Some(Function::DistinctCount) => self.distinct.insert(code, col.dict.len()),
            Some(Function::Sum | Function::Avg | Function::Min | Function::Max) => {
                if let Some(x) = numbers[code as usize] {
                    self.sum += x;
                    self.numbers += 1;
                    self.min = Some(self.min.map_or(x, |m| m.min(x)));
                    self.max = Some(self.max.map_or(x, |m| m.max(x)));
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
            // `count`, `count(f)`, and the functions `super::computes` does not have, which are
            // refused before any row is read.
            _ => {}
        }
    }

    /// Adds the rows `other` saw (of the same aggregation) to this state.
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

    /// The aggregate's value; `None` when it has none.
    pub(crate) fn value(&self, bound: &Bound<'_, '_>) -> Option<String> {
        let number = |x: Option<f64>| x.map(format_number);
        let text =
            |code: Option<u32>| code.and_then(|c| bound.col.map(|col| col.dict.get(c).to_owned()));
        match bound.function {
            None => Some(self.rows.to_string()),
            Some(Function::Count) => Some(self.present.to_string()),
            Some(Function::DistinctCount) => Some(self.distinct.count().to_string()),
            Some(Function::Sum) => (self.numbers > 0).then(|| format_number(self.sum)),
            Some(Function::Avg) => {
                (self.numbers > 0).then(|| format_number(self.sum / self.numbers as f64))
            }
            Some(Function::Min) => number(self.min).or_else(|| text(self.min_text)),
            Some(Function::Max) => number(self.max).or_else(|| text(self.max_text)),
            // The functions `super::computes` does not have are refused before any row is read.
            Some(_) => None,
        }
    }
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

    fn for_each(&self, mut f: impl FnMut(u32)) {
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
    let numeric = matches!(
        bound.function,
        Some(Function::Sum | Function::Avg | Function::Min | Function::Max)
    );
    let Some(col) = bound.col.filter(|_| numeric) else {
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
