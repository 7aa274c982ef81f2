//! Charts as SVG, drawn on the server with maud: a time axis with readable UTC dates, a value
//! axis with round ticks, gridlines, one line per series with a point per bucket (or, for the
//! parts of a whole, stacked areas), and a legend. End buckets the window covers only in part
//! are shaded and their points hollow, so a half-filled last hour does not read as a drop.
//!
//! Every point carries an SVG `<title>` (series, date, value), so hovering shows it without
//! JavaScript; `web/chart.js` adds a nicer tooltip and highlights the series. Every name goes
//! through maud's escaping. Geometry is computed in a fixed `viewBox` and scaled by the browser,
//! and nothing divides by zero: a chart with one bucket or only zeros draws flat and finite.

use std::borrow::Cow;

use maud::{Markup, html};
use spoor::OTHER;
use spoor::answer::{Chart, NumberChart, Series};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A chart to draw.
#[derive(Debug, Clone, Copy)]
pub struct Plot<'a> {
    /// The answer to draw.
    pub chart: &'a Chart,
    /// What the chart shows, for its accessible name (e.g. "Events over time, by event").
    pub title: &'a str,
    /// What the values count, plural (`"events"` or `"users"`), for tooltips.
    pub unit: &'a str,
    /// Whether the series are parts of a whole (events by event, by a property's values), drawn
    /// as stacked areas, each on the ones before it; lines cross and hide each other past a few
    /// series. A chart of one series is a line either way.
    pub stacked: bool,
    /// The end buckets the window covers only in part.
    pub partial: Partial,
    /// Where each series' name in the legend links to, by the series' position (a value's name
    /// to the page filtered to it); a series without one, or past the slice's end, is plain
    /// text.
    pub links: &'a [Option<String>],
}

/// Which of a chart's end buckets the window covers only in part: their counts are not
/// comparable with the others', and the chart marks them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Partial {
    /// The window starts inside the first bucket.
    pub first: bool,
    /// The window ends inside the last bucket (for a window that ends now: the bucket is still
    /// filling).
    pub last: bool,
}

/// The colours of the series, in order; chosen to keep at least 3:1 contrast on white.
const PALETTE: [&str; 10] = [
    "#2563eb", "#ea580c", "#059669", "#db2777", "#7c3aed", "#a16207", "#0891b2", "#dc2626",
    "#4d7c0f", "#92400e",
];
/// The colour of [`OTHER`].
const OTHER_COLOR: &str = "#6b7280";

/// The `viewBox` size and the plot area's margins inside it.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 30.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;
/// A generous width of one character of an 11px label, and the room kept between labels.
const CHAR_W: f64 = 6.8;
const LABEL_GAP: f64 = 16.0;
/// The most value-axis intervals.
const MAX_INTERVALS: u128 = 5;

/// The chart as an inline `<figure class="chart">` with an `<svg>` (`viewBox`, width 100%), and
/// a legend; or, when the chart has no buckets or no series, a figure that says "No events in
/// this window".
pub fn render(plot: &Plot<'_>) -> Markup {
    let chart = plot.chart;
    if chart.times.is_empty() || chart.series.is_empty() {
        return html! {
            figure.chart.chart-empty data-unit=(plot.unit) {
                p.chart-empty-note { "No events in this window" }
            }
        };
    }
    let (times, labels) = time_labels(chart.span, &chart.times);
    let unit = chart.span.unit.name();
    // Stacked: each series between the sum of those before it and that sum plus its own.
    let stacked = plot.stacked && chart.series.len() > 1;
    let mut bands: Vec<(Vec<u128>, Vec<u128>)> = Vec::new();
    if stacked {
        let mut base = vec![0u128; times.len()];
        for series in &chart.series {
            let top: Vec<u128> = base
                .iter()
                .zip(series.values.iter().chain(std::iter::repeat(&0)))
                .map(|(b, v)| b + u128::from(*v))
                .collect();
            bands.push((base, top.clone()));
            base = top;
        }
    }
    let max = if stacked {
        bands.last().and_then(|(_, top)| top.iter().max().copied())
    } else {
        chart
            .series
            .iter()
            .flat_map(|s| &s.values)
            .max()
            .map(|v| u128::from(*v))
    };
    let ticks = Ticks::new(u64::try_from(max.unwrap_or(0)).unwrap_or(u64::MAX));
    let xs: Vec<f64> = (0..times.len()).map(|i| x_of(i, times.len())).collect();
    let stride = label_stride(&labels, unit, chart.span.count.get() == 1);
    let colors = colors(chart.series.iter().map(|s| s.name.as_str()));
    let aria = aria_label(plot, &labels);
    let partial = [
        plot.partial.first.then_some(0),
        plot.partial.last.then(|| times.len() - 1),
    ];
    let buckets = Buckets {
        xs: &xs,
        times: &times,
        labels: &labels,
        unit: plot.unit,
        partial: &partial,
    };
    html! {
        figure.chart data-unit=(plot.unit) {
            svg.chart-svg xmlns=(SVG_NS) viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } width="100%"
                preserveAspectRatio="xMidYMid meet" role="img" aria-label=(aria) {
                title { (aria) }
                (value_axis(ticks))
                (partial_bands(&buckets))
                (time_axis(&xs, &labels, stride))
                @for (i, (series, color)) in chart.series.iter().zip(&colors).enumerate() {
                    (series_group(series, color, ticks, &buckets, bands.get(i)))
                }
            }
            (legend(&chart.series.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), plot.links, &colors, &partial, chart.span))
        }
    }
}

/// The buckets' times in UTC and their axis labels.
fn time_labels(span: spoor::Span, times: &[OffsetDateTime]) -> (Vec<OffsetDateTime>, Vec<String>) {
    let times: Vec<OffsetDateTime> = times.iter().map(|t| t.to_offset(UtcOffset::UTC)).collect();
    let unit = span.unit.name();
    // Twelve months (or a multiple) are years: "2026".
    let format = if unit == "mon" && span.count.get().is_multiple_of(12) {
        DateFormat::Year
    } else {
        DateFormat::new(unit, &times)
    };
    let labels = times.iter().map(|t| format.label(*t)).collect();
    (times, labels)
}

/// A statistic of a numeric property to draw.
#[derive(Debug, Clone, Copy)]
pub struct NumberPlot<'a> {
    /// The answer to draw.
    pub chart: &'a NumberChart,
    /// What the chart shows, for its accessible name ("sum of amount over time").
    pub title: &'a str,
    /// What each value is, for tooltips ("sum of amount").
    pub what: &'a str,
    /// The end buckets the window covers only in part.
    pub partial: Partial,
}

/// A numeric property's statistic over time: lines through the buckets that have a value (a
/// bucket without a number leaves a gap), on a value axis of round steps that takes negative
/// values and fractions; or a figure that says there is no number.
pub fn render_numbers(plot: &NumberPlot<'_>) -> Markup {
    let chart = plot.chart;
    let values = || {
        chart
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied())
    };
    let (Some(lo), Some(hi)) = (values().reduce(f64::min), values().reduce(f64::max)) else {
        return html! {
            figure.chart.chart-empty data-unit=(plot.what) {
                p.chart-empty-note { "No numbers in this window" }
            }
        };
    };
    let (times, labels) = time_labels(chart.span, &chart.times);
    let scale = Scale::new(lo.min(0.0), hi.max(0.0));
    let xs: Vec<f64> = (0..times.len()).map(|i| x_of(i, times.len())).collect();
    let stride = label_stride(&labels, chart.span.unit.name(), chart.span.count.get() == 1);
    let names: Vec<&str> = chart.series.iter().map(|s| s.name.as_str()).collect();
    let colors = colors(names.iter().copied());
    let partial = [
        plot.partial.first.then_some(0),
        plot.partial.last.then(|| times.len().saturating_sub(1)),
    ];
    let buckets = Buckets {
        xs: &xs,
        times: &times,
        labels: &labels,
        unit: plot.what,
        partial: &partial,
    };
    let radius = point_radius(xs.len());
    html! {
        figure.chart data-unit=(plot.what) {
            svg.chart-svg xmlns=(SVG_NS) viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } width="100%"
                preserveAspectRatio="xMidYMid meet" role="img" aria-label=(plot.title) {
                title { (plot.title) }
                g.grid aria-hidden="true" {
                    @for value in scale.values() {
                        @let y = scale.y_of(value);
                        line x1=(num(LEFT)) x2=(num(LEFT + PLOT_W)) y1=(num(y)) y2=(num(y)) {}
                        text.y-label x=(num(LEFT - 8.0)) y=(num(y + 4.0)) text-anchor="end" {
                            (scale.label(value))
                        }
                    }
                }
                (partial_bands(&buckets))
                (time_axis(&xs, &labels, stride))
                @for (series, color) in chart.series.iter().zip(&colors) {
                    @let name = display_name(&series.name);
                    g.series data-series=(series.name) data-name=(name) {
                        path d=(gapped_path(&xs, &series.values, &scale)) fill="none" stroke=(color)
                            stroke-width="2" stroke-linejoin="round" stroke-linecap="round" {}
                        @for (i, value) in series.values.iter().enumerate() {
                            @if let (Some(value), Some(x), Some(time), Some(label)) = (value, xs.get(i), times.get(i), labels.get(i)) {
                                @let partial = buckets.is_partial(i);
                                circle cx=(num(*x)) cy=(num(scale.y_of(*value))) r=(radius)
                                    fill=(if partial { "#ffffff" } else { color })
                                    style=[partial.then(|| format!("stroke:{color};stroke-width:2"))]
                                    data-time=(iso(*time)) data-label=(label) data-value=(value)
                                    data-partial=[partial.then_some("true")] {
                                    title {
                                        (name) " — " (label) ": " (plot.what) " " (number(*value))
                                        @if partial { " (incomplete: the window covers part of it)" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (legend(&names, &[], &colors, &partial, chart.span))
        }
    }
}

/// A path through the buckets that have a value; a bucket without one breaks the line.
fn gapped_path(xs: &[f64], values: &[Option<f64>], scale: &Scale) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (x, value) in xs.iter().zip(values) {
        match value {
            Some(v) => {
                d.push(if pen_down { 'L' } else { 'M' });
                d.push_str(&num(*x));
                d.push(' ');
                d.push_str(&num(scale.y_of(*v)));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d
}

/// A number as a tooltip writes it: whole numbers grouped (`1,234`), others to at most four
/// decimals (`9.5`, `-0.3333`).
fn number(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let rounded = (value * 10_000.0).round() / 10_000.0;
    let sign = if rounded < 0.0 { "-" } else { "" };
    let magnitude = rounded.abs();
    let whole = magnitude.trunc();
    if whole >= 1e18 {
        return format!("{value:e}");
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a finite, non-negative whole number below 1e18"
    )]
    let grouped = group(whole as u128);
    let fraction = format!("{:.4}", magnitude - whole);
    let fraction = fraction
        .trim_start_matches('0')
        .trim_end_matches('0')
        .trim_end_matches('.');
    format!("{sign}{grouped}{fraction}")
}

/// A value axis for numbers: round steps (1, 2 or 5 × 10^k, fractions too) from at or below
/// `lo` to at or above `hi`, at most [`MAX_INTERVALS`] intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scale {
    step: f64,
    bottom: f64,
    top: f64,
}

impl Scale {
    fn new(lo: f64, hi: f64) -> Self {
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
        let raw = (hi - lo) / MAX_INTERVALS as f64;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|s| (hi / s).ceil() - (lo / s).floor() <= MAX_INTERVALS as f64)
            .unwrap_or(10.0 * magnitude);
        Self {
            step,
            bottom: (lo / step).floor() * step,
            top: (hi / step).ceil() * step,
        }
    }

    fn values(self) -> impl Iterator<Item = f64> {
        let n = ((self.top - self.bottom) / self.step).round() as usize;
        (0..=n).map(move |i| self.bottom + self.step * i as f64)
    }

    fn y_of(self, value: f64) -> f64 {
        TOP + PLOT_H * (self.top - value) / (self.top - self.bottom)
    }

    /// A tick's label, with as many decimals as the step needs.
    fn label(self, value: f64) -> String {
        let decimals = (-self.step.log10().floor()).max(0.0) as usize;
        if decimals == 0 {
            number(value.round())
        } else {
            format!("{value:.decimals$}")
        }
    }
}

/// Partial: the legend, a swatch and a name a series, and a note when an end bucket is
/// covered in part.
fn legend(
    names: &[&str],
    links: &[Option<String>],
    colors: &[&str],
    partial: &[Option<usize>; 2],
    span: spoor::Span,
) -> Markup {
    html! {
        ul.legend {
            @for (i, (name, color)) in names.iter().zip(colors).enumerate() {
                li data-series=(name) {
                    svg.swatch xmlns=(SVG_NS) viewBox="0 0 12 12" width="12" height="12"
                        aria-hidden="true" {
                        rect width="12" height="12" rx="2" fill=(color) {}
                    }
                    " "
                    @if let Some(Some(href)) = links.get(i) {
                        a href=(href) { (display_name(name)) }
                    } @else {
                        (display_name(name))
                    }
                }
            }
            @if partial.iter().any(Option::is_some) {
                li.partial-note {
                    svg.swatch xmlns=(SVG_NS) viewBox="0 0 12 12" width="12" height="12"
                        aria-hidden="true" {
                        rect.partial width="12" height="12" rx="2" {}
                    }
                    " Incomplete: the window covers part of this " (bucket_word(span))
                }
            }
        }
    }
}

const SVG_NS: &str = "http://www.w3.org/2000/svg";
/// The `y` of the time axis.
const BASE: f64 = TOP + PLOT_H;

/// What every series shares about the buckets: where they are and how they read.
struct Buckets<'a> {
    xs: &'a [f64],
    times: &'a [OffsetDateTime],
    labels: &'a [String],
    unit: &'a str,
    /// The end buckets the window covers in part, by index.
    partial: &'a [Option<usize>; 2],
}

impl Buckets<'_> {
    fn is_partial(&self, i: usize) -> bool {
        self.partial.contains(&Some(i))
    }
}

/// What one bucket of `span` is called: `hour`, `day`, `week`, `month`, `year`, or `bucket`.
fn bucket_word(span: spoor::Span) -> &'static str {
    match (span.unit.name(), span.count.get()) {
        ("s", 1) => "second",
        ("m", 1) => "minute",
        ("h", 1) => "hour",
        ("d", 1) => "day",
        ("w", 1) => "week",
        ("mon", 1) => "month",
        ("mon", 12) => "year",
        _ => "bucket",
    }
}

/// Partial: a shaded band over each end bucket the window covers in part, as wide as a bucket
/// and centred on its point.
fn partial_bands(buckets: &Buckets<'_>) -> Markup {
    let n = buckets.xs.len();
    let half = if n > 1 {
        PLOT_W / (n - 1) as f64 / 2.0
    } else {
        PLOT_W / 2.0
    };
    // One band for a chart of one bucket that is partial at both ends.
    let mut ends: Vec<usize> = buckets.partial.iter().flatten().copied().collect();
    ends.dedup();
    html! {
        @for i in ends {
            @let x = buckets.xs[i];
            @let (left, right) = ((x - half).max(LEFT), (x + half).min(LEFT + PLOT_W));
            rect.partial x=(num(left)) y=(num(TOP)) width=(num(right - left))
                height=(num(PLOT_H)) aria-hidden="true" {}
        }
    }
}

/// Partial: the gridlines and the value labels.
fn value_axis(ticks: Ticks) -> Markup {
    html! {
        g.grid aria-hidden="true" {
            @for value in ticks.values() {
                @let y = ticks.y_of(value);
                line x1=(num(LEFT)) x2=(num(LEFT + PLOT_W)) y1=(num(y)) y2=(num(y)) {}
                text.y-label x=(num(LEFT - 8.0)) y=(num(y + 4.0)) text-anchor="end" {
                    (compact(value))
                }
            }
        }
    }
}

/// Partial: the time axis, a label every `stride` buckets.
fn time_axis(xs: &[f64], labels: &[String], stride: usize) -> Markup {
    html! {
        g.axis aria-hidden="true" {
            line x1=(num(LEFT)) x2=(num(LEFT + PLOT_W)) y1=(num(BASE)) y2=(num(BASE)) {}
            @for (x, label) in xs.iter().zip(labels).step_by(stride) {
                line.tick x1=(num(*x)) x2=(num(*x)) y1=(num(BASE)) y2=(num(BASE + 4.0)) {}
                text.x-label x=(num(label_x(*x, label))) y=(num(HEIGHT - 10.0))
                    text-anchor="middle" { (label) }
            }
        }
    }
}

/// Partial: one series, its line (or, stacked, its band between `band`'s lower and upper
/// sums) and a point per bucket with its hover text; the point holds the series' own value.
fn series_group(
    series: &Series,
    color: &str,
    ticks: Ticks,
    buckets: &Buckets<'_>,
    band: Option<&(Vec<u128>, Vec<u128>)>,
) -> Markup {
    let name = display_name(&series.name);
    let heights: Vec<u128> = match band {
        Some((_, top)) => top.clone(),
        None => series.values.iter().map(|v| u128::from(*v)).collect(),
    };
    let points: Vec<(f64, f64)> = buckets
        .xs
        .iter()
        .zip(&heights)
        .map(|(x, v)| (*x, ticks.y_of(*v)))
        .collect();
    let area = band.map(|(bottom, _)| {
        let lower: Vec<(f64, f64)> = buckets
            .xs
            .iter()
            .zip(bottom)
            .rev()
            .map(|(x, v)| (*x, ticks.y_of(*v)))
            .collect();
        let mut d = path_data(&points);
        for (x, y) in lower {
            d.push('L');
            d.push_str(&num(x));
            d.push(' ');
            d.push_str(&num(y));
        }
        d.push('Z');
        d
    });
    let radius = point_radius(buckets.xs.len());
    let at = buckets.times.iter().zip(buckets.labels);
    let unit_name = buckets.unit;
    html! {
        g.series data-series=(series.name) data-name=(name) {
            @if let Some(area) = &area {
                path.band d=(area) fill=(color) fill-opacity="0.72" stroke="none" {}
            }
            path d=(path_data(&points)) fill="none" stroke=(color) stroke-width="2"
                stroke-linejoin="round" stroke-linecap="round" {}
            @for (i, (((x, y), value), (time, label))) in points.iter().zip(&series.values).zip(at).enumerate() {
                @let partial = buckets.is_partial(i);
                circle cx=(num(*x)) cy=(num(*y)) r=(radius)
                    fill=(if partial { "#ffffff" } else { color })
                    style=[partial.then(|| format!("stroke:{color};stroke-width:2"))]
                    data-time=(iso(*time)) data-label=(label) data-value=(value)
                    data-partial=[partial.then_some("true")] {
                    title {
                        (name) " — " (label) ": " (group(u128::from(*value))) " "
                        (unit_for(*value, unit_name))
                        @if partial { " (incomplete: the window covers part of it)" }
                    }
                }
            }
        }
    }
}

/// A small trend line (e.g. 90 daily counts) for the applications table; no axes. `label` is
/// its accessible name and hover text.
pub fn sparkline(values: &[u64], label: &str) -> Markup {
    const W: f64 = 120.0;
    const H: f64 = 28.0;
    const PAD: f64 = 2.0;
    const COLOR: &str = "#2563eb";
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let y = |v: u64| PAD + (H - 2.0 * PAD) * (1.0 - v as f64 / max);
    let points: Vec<(f64, f64)> = match values {
        [] => Vec::new(),
        // One value: a level line across.
        [v] => vec![(PAD, y(*v)), (W - PAD, y(*v))],
        _ => {
            let last = (values.len() - 1) as f64;
            values
                .iter()
                .enumerate()
                .map(|(i, v)| (PAD + (W - 2.0 * PAD) * i as f64 / last, y(*v)))
                .collect()
        }
    };
    let line = path_data(&points);
    let (left, right, bottom) = (num(PAD), num(W - PAD), num(H - PAD));
    let area = format!("{line} L{right} {bottom} L{left} {bottom} Z");
    html! {
        svg.sparkline xmlns=(SVG_NS) viewBox={ "0 0 " (W) " " (H) } width=(W) height=(H)
            role="img" aria-label=(label) {
            title { (label) }
            @if points.is_empty() {
                line x1=(left) x2=(right) y1=(bottom) y2=(bottom) stroke="#9ca3af" {}
            } @else {
                path.area d=(area) fill=(COLOR) fill-opacity="0.12" stroke="none" {}
                path.line d=(line) fill="none" stroke=(COLOR) stroke-width="1.5"
                    stroke-linejoin="round" {}
            }
        }
    }
}

/// The value axis: ticks every `step` from 0 to `top`, both round (1, 2 or 5 × 10^k) integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ticks {
    step: u128,
    top: u128,
}

impl Ticks {
    /// The smallest round step that covers `max` in at most [`MAX_INTERVALS`] intervals, and
    /// the first multiple of it at or above `max` (at least one step, so an all-zero chart has
    /// an axis 0–1).
    fn new(max: u64) -> Self {
        let max = u128::from(max);
        let mut magnitude: u128 = 1;
        let step = loop {
            if let Some(step) = [1, 2, 5]
                .into_iter()
                .map(|m| m * magnitude)
                .find(|s| s * MAX_INTERVALS >= max)
            {
                break step;
            }
            magnitude *= 10;
        };
        let top = max.div_ceil(step).max(1) * step;
        Self { step, top }
    }

    /// The tick values, 0 first.
    fn values(self) -> impl Iterator<Item = u128> {
        (0..=self.top / self.step).map(move |i| i * self.step)
    }

    /// The `y` of a value in the plot area.
    fn y_of(self, value: u128) -> f64 {
        TOP + PLOT_H * (1.0 - value as f64 / self.top as f64)
    }
}

/// The `x` of bucket `i` of `n`: spread over the plot area, or in its middle when alone.
fn x_of(i: usize, n: usize) -> f64 {
    if n <= 1 {
        LEFT + PLOT_W / 2.0
    } else {
        LEFT + PLOT_W * i as f64 / (n - 1) as f64
    }
}

/// A time label's `x`, kept so the whole label stays inside the `viewBox`.
fn label_x(x: f64, label: &str) -> f64 {
    let half = label_width(label) / 2.0;
    x.clamp(half, WIDTH - half)
}

fn label_width(label: &str) -> f64 {
    label.chars().count() as f64 * CHAR_W
}

/// How the time axis writes a bucket's start, by the span's unit (its `Span::unit.name()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateFormat {
    /// "Nov 28 14:05:30".
    Second,
    /// "Nov 28 14:05" (minutes and hours).
    Minute,
    /// "Nov 28" (days and weeks).
    Day,
    /// "Nov 2026".
    Month,
    /// "2026".
    Year,
    /// As the others, with the year, because the range crosses one.
    WithYear(WithYear),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WithYear {
    /// "Dec 31, 2026 14:05:30".
    Second,
    /// "Dec 31, 2026 14:05".
    Minute,
    /// "Dec 31, 2026".
    Day,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl DateFormat {
    /// The format for `unit` (`s`, `m`, `h`, `d`, `w`, `mon`) over `times` (UTC, ascending).
    fn new(unit: &str, times: &[OffsetDateTime]) -> Self {
        let crosses_year = match (times.first(), times.last()) {
            (Some(first), Some(last)) => first.year() != last.year(),
            _ => false,
        };
        match (unit, crosses_year) {
            ("mon", _) => Self::Month,
            ("s", false) => Self::Second,
            ("s", true) => Self::WithYear(WithYear::Second),
            ("m" | "h", false) => Self::Minute,
            ("m" | "h", true) => Self::WithYear(WithYear::Minute),
            (_, false) => Self::Day,
            (_, true) => Self::WithYear(WithYear::Day),
        }
    }

    /// `t` (already in UTC) as a label.
    fn label(self, t: OffsetDateTime) -> String {
        let month = MONTHS[usize::from(u8::from(t.month())) - 1];
        let (day, year) = (t.day(), t.year());
        let (h, m, s) = (t.hour(), t.minute(), t.second());
        match self {
            Self::Second => format!("{month} {day} {h:02}:{m:02}:{s:02}"),
            Self::Minute => format!("{month} {day} {h:02}:{m:02}"),
            Self::Day => format!("{month} {day}"),
            Self::Month => format!("{month} {year}"),
            Self::Year => year.to_string(),
            Self::WithYear(WithYear::Second) => {
                format!("{month} {day}, {year} {h:02}:{m:02}:{s:02}")
            }
            Self::WithYear(WithYear::Minute) => format!("{month} {day}, {year} {h:02}:{m:02}"),
            Self::WithYear(WithYear::Day) => format!("{month} {day}, {year}"),
        }
    }
}

/// Every how many buckets a time label goes: the fewest that keep labels from overlapping,
/// rounded up to a step that reads well for the unit (every 6 hours, every week, every quarter)
/// when the span is one unit long.
fn label_stride(labels: &[String], unit: &str, single_unit: bool) -> usize {
    let n = labels.len();
    let widest = labels.iter().map(|l| label_width(l)).fold(0.0, f64::max) + LABEL_GAP;
    let fit = ((PLOT_W + LABEL_GAP) / widest).floor().max(1.0) as usize;
    let needed = n.div_ceil(fit).max(1);
    let steps: &[usize] = match (unit, single_unit) {
        ("s", true) => &[1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600],
        ("m", true) => &[1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440],
        ("h", true) => &[1, 2, 3, 4, 6, 12, 24, 48, 72, 168, 336, 672],
        ("d", true) => &[1, 2, 7, 14, 28, 56, 91, 182, 364],
        ("w", true) => &[1, 2, 4, 8, 13, 26, 52],
        ("mon", true) => &[1, 2, 3, 6, 12, 24, 60, 120],
        _ => &[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    };
    steps
        .iter()
        .copied()
        .find(|s| *s >= needed)
        .unwrap_or(needed)
}

/// The radius of a point: smaller when buckets are dense.
fn point_radius(n: usize) -> &'static str {
    match n {
        0..=60 => "3",
        61..=200 => "2.25",
        _ => "1.5",
    }
}

/// The colour of each series: the palette in order, [`OTHER`] gray.
fn colors<'n>(names: impl IntoIterator<Item = &'n str>) -> Vec<&'static str> {
    let mut next = 0;
    names
        .into_iter()
        .map(|name| {
            if name == OTHER {
                OTHER_COLOR
            } else {
                next += 1;
                PALETTE[(next - 1) % PALETTE.len()]
            }
        })
        .collect()
}

/// The most characters of a series' name shown (in the legend, the accessible name and each
/// point's hover text, which repeats it a point at a time); longer names are cut with `…`.
/// `data-series` keeps the whole name, once per series.
pub(crate) const MAX_NAME_CHARS: usize = 200;

/// A series' name as people read it: [`OTHER`] is "Other"; at most [`MAX_NAME_CHARS`].
fn display_name(name: &str) -> Cow<'_, str> {
    if name == OTHER {
        return Cow::Borrowed("Other");
    }
    match name.char_indices().nth(MAX_NAME_CHARS) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &name[..cut])),
        None => Cow::Borrowed(name),
    }
}

/// The chart's accessible name: its title, the range, and each series' total.
fn aria_label(plot: &Plot<'_>, labels: &[String]) -> String {
    let range = match (labels.first(), labels.last()) {
        (Some(first), Some(last)) if labels.len() > 1 => format!("{first} to {last}"),
        (Some(first), _) => first.clone(),
        _ => String::new(),
    };
    let totals: Vec<String> = plot
        .chart
        .series
        .iter()
        .map(|s| {
            let total: u128 = s.values.iter().map(|v| u128::from(*v)).sum();
            format!(
                "{} {} {}",
                display_name(&s.name),
                group(total),
                plural(total == 1, plot.unit)
            )
        })
        .collect();
    format!("{}, {range}: {}", plot.title, totals.join(", "))
}

/// `unit` for one value: "1 event", "2 events".
fn unit_for(value: u64, unit: &str) -> &str {
    plural(value == 1, unit)
}

fn plural(one: bool, unit: &str) -> &str {
    match unit.strip_suffix('s') {
        Some(singular) if one && !singular.is_empty() => singular,
        _ => unit,
    }
}

/// A path through the points: `M x y L x y …`.
fn path_data(points: &[(f64, f64)]) -> String {
    let mut d = String::with_capacity(points.len() * 14);
    for (i, (x, y)) in points.iter().enumerate() {
        d.push(if i == 0 { 'M' } else { 'L' });
        d.push_str(&num(*x));
        d.push(' ');
        d.push_str(&num(*y));
    }
    d
}

/// A coordinate with at most two decimals, and never `NaN` or infinite.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_owned();
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// A bucket start as RFC 3339 in UTC (`2026-11-28T14:00:00Z`).
fn iso(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A count with thousands separators: `1,234,567`.
pub(crate) fn group(value: u128) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A tick value, short: `0`, `500`, `1.5k`, `20k`, `3M`; grouped digits when that would round.
fn compact(value: u128) -> String {
    for (unit, suffix) in [
        (1_000_000_000_000, "T"),
        (1_000_000_000, "G"),
        (1_000_000, "M"),
        (1_000, "k"),
    ] {
        if value >= unit {
            return if value.is_multiple_of(unit) {
                format!("{}{suffix}", value / unit)
            } else if value.is_multiple_of(unit / 10) {
                format!("{}.{}{suffix}", value / unit, value % unit / (unit / 10))
            } else {
                group(value)
            };
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use spoor::Span;
    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};

    use super::*;

    fn chart(
        span: Span,
        start: OffsetDateTime,
        step: Duration,
        series: &[(&str, &[u64])],
    ) -> Chart {
        let n = series.first().map_or(0, |(_, v)| v.len());
        Chart {
            span,
            times: (0..n).map(|i| start + step * i as i32).collect(),
            series: series
                .iter()
                .map(|(name, values)| Series {
                    name: (*name).to_owned(),
                    values: values.to_vec(),
                })
                .collect(),
        }
    }

    fn draw(chart: &Chart) -> String {
        render(&Plot {
            chart,
            title: "Events over time",
            unit: "events",
            stacked: false,
            partial: Partial::default(),
            links: &[],
        })
        .into_string()
    }

    fn daily(series: &[(&str, &[u64])]) -> Chart {
        chart(
            Span::DAY,
            datetime!(2026-11-01 0:00 UTC),
            Duration::days(1),
            series,
        )
    }

    fn x_labels(svg: &str) -> Vec<String> {
        svg.split("<text class=\"x-label\"")
            .skip(1)
            .map(|rest| {
                let text = &rest[rest.find('>').unwrap_or(0) + 1..];
                text[..text.find('<').unwrap_or(0)].to_owned()
            })
            .collect()
    }

    fn assert_finite(svg: &str) {
        for bad in ["NaN", "inf", "=\"\""] {
            assert!(!svg.contains(bad), "{bad} in {svg}");
        }
        let exponent = svg.as_bytes().windows(3).any(|w| {
            w[0].is_ascii_digit()
                && w[1] == b'e'
                && (w[2].is_ascii_digit() || w[2] == b'-' || w[2] == b'+')
        });
        assert!(!exponent, "an exponent in {svg}");
    }

    /// The `x` of each time tick.
    fn tick_xs(svg: &str) -> Vec<f64> {
        svg.split("<line class=\"tick\" x1=\"")
            .skip(1)
            .map(|rest| {
                rest[..rest.find('"').unwrap_or(0)]
                    .parse()
                    .unwrap_or(f64::NAN)
            })
            .collect()
    }

    #[test]
    fn ticks_are_round_from_zero() {
        let cases = [
            (0, 1, 1),
            (1, 1, 1),
            (3, 1, 3),
            (5, 1, 5),
            (6, 2, 6),
            (7, 2, 8),
            (10, 2, 10),
            (11, 5, 15),
            (42, 10, 50),
            (100, 20, 100),
            (101, 50, 150),
            (999, 200, 1000),
            (123_456, 50_000, 150_000),
        ];
        for (max, step, top) in cases {
            assert_eq!(Ticks::new(max), Ticks { step, top }, "max {max}");
        }
        let huge = Ticks::new(u64::MAX);
        assert!(huge.top >= u128::from(u64::MAX) && huge.top / huge.step <= MAX_INTERVALS);
        for max in 0..2_000 {
            let t = Ticks::new(max);
            let mantissa = t.step / 10u128.pow(t.step.ilog10());
            assert!([1, 2, 5].contains(&mantissa), "step {}", t.step);
            assert!(t.top >= u128::from(max) && t.top.is_multiple_of(t.step));
            assert!(t.top / t.step <= MAX_INTERVALS && t.top - t.step < u128::from(max).max(1));
        }
        assert_eq!(
            Ticks::new(42).values().collect::<Vec<_>>(),
            [0, 10, 20, 30, 40, 50]
        );
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(compact(0), "0");
        assert_eq!(compact(500), "500");
        assert_eq!(compact(1_000), "1k");
        assert_eq!(compact(1_500), "1.5k");
        assert_eq!(compact(20_000), "20k");
        assert_eq!(compact(3_000_000), "3M");
        assert_eq!(compact(1_234), "1,234");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(999), "999");
    }

    #[test]
    fn labels_follow_the_span_in_utc() {
        let t = datetime!(2026-11-28 14:00 UTC);
        let one = |unit: Span, t: OffsetDateTime| {
            let times = [t.to_offset(UtcOffset::UTC)];
            DateFormat::new(unit.unit.name(), &times).label(times[0])
        };
        assert_eq!(one(Span::HOUR, t), "Nov 28 14:00");
        assert_eq!(
            one(Span::MINUTE, datetime!(2026-11-28 14:05 UTC)),
            "Nov 28 14:05"
        );
        assert_eq!(
            one(Span::SECOND, datetime!(2026-11-28 14:05:30 UTC)),
            "Nov 28 14:05:30"
        );
        assert_eq!(one(Span::DAY, t), "Nov 28");
        assert_eq!(one(Span::WEEK, datetime!(2026-11-22 0:00 UTC)), "Nov 22");
        assert_eq!(one(Span::MONTH, datetime!(2026-11-01 0:00 UTC)), "Nov 2026");
        // A bucket written with an offset is drawn at its UTC time.
        assert_eq!(
            one(Span::HOUR, datetime!(2026-11-28 16:00 +02:00)),
            "Nov 28 14:00"
        );
        let c = chart(
            Span::HOUR,
            datetime!(2026-11-28 16:00 +02:00),
            Duration::hours(1),
            &[("a", &[1])],
        );
        let svg = draw(&c);
        assert!(svg.contains("data-time=\"2026-11-28T14:00:00Z\""), "{svg}");
    }

    #[test]
    fn years_show_when_the_range_crosses_one() {
        let c = chart(
            Span::DAY,
            datetime!(2026-12-30 0:00 UTC),
            Duration::days(1),
            &[("a", &[1, 2, 3])],
        );
        let labels = x_labels(&draw(&c));
        assert_eq!(labels, ["Dec 30, 2026", "Dec 31, 2026", "Jan 1, 2027"]);
        let c = chart(
            Span::HOUR,
            datetime!(2026-12-31 23:00 UTC),
            Duration::hours(1),
            &[("a", &[1, 2])],
        );
        assert_eq!(
            x_labels(&draw(&c)),
            ["Dec 31, 2026 23:00", "Jan 1, 2027 00:00"]
        );
        let c = daily(&[("a", &[1, 2])]);
        assert_eq!(x_labels(&draw(&c)), ["Nov 1", "Nov 2"]);
    }

    #[test]
    fn no_more_time_labels_than_fit() {
        for (span, step, n) in [
            (Span::HOUR, Duration::hours(1), 24 * 90),
            (Span::HOUR, Duration::hours(1), 24),
            (Span::DAY, Duration::days(1), 90),
            (Span::DAY, Duration::days(1), 3650),
            (Span::WEEK, Duration::weeks(1), 520),
            (Span::MINUTE, Duration::minutes(1), 1440),
            (
                Span {
                    count: NonZeroU32::new(15).unwrap_or(NonZeroU32::MIN),
                    ..Span::MINUTE
                },
                Duration::minutes(15),
                96,
            ),
        ] {
            let values = vec![1; n];
            let c = chart(
                span,
                datetime!(2026-08-01 0:00 UTC),
                step,
                &[("a", &values)],
            );
            let svg = draw(&c);
            let labels = x_labels(&svg);
            assert!(!labels.is_empty());
            let widest = labels.iter().map(|l| label_width(l)).fold(0.0, f64::max);
            let xs = tick_xs(&svg);
            assert_eq!(xs.len(), labels.len());
            for pair in xs.windows(2) {
                assert!(
                    pair[1] - pair[0] >= widest,
                    "{n} buckets of {span:?}: {labels:?} at {xs:?}"
                );
            }
            assert!(
                labels.len() as f64 * widest <= PLOT_W + LABEL_GAP,
                "{labels:?}"
            );
        }
        // Daily over 90 days: one label a week (or every two), on the first day.
        let values = vec![1; 90];
        let c = chart(
            Span::DAY,
            datetime!(2026-08-01 0:00 UTC),
            Duration::days(1),
            &[("a", &values)],
        );
        let labels = x_labels(&draw(&c));
        assert_eq!(labels.first().map(String::as_str), Some("Aug 1"));
        assert!(labels.len() >= 6 && labels.len() <= 13, "{labels:?}");
    }

    #[test]
    fn number_scales_are_round_and_take_negatives_and_fractions() {
        let s = Scale::new(-5.0, 20.0);
        assert_eq!((s.step, s.bottom, s.top), (5.0, -5.0, 20.0));
        let f = Scale::new(0.0, 0.3);
        assert!(
            (f.step - 0.1).abs() < 1e-12 && (f.top - 0.3).abs() < 1e-9,
            "{f:?}"
        );
        assert_eq!(f.label(0.2), "0.2");
        let flat = Scale::new(0.0, 0.0);
        assert!(flat.top > flat.bottom, "one value still has an axis");
        for (lo, hi) in [(0.0, 1e12), (-3.5, 7.25), (1e-6, 2e-6), (-100.0, -1.0)] {
            let s = Scale::new(lo, hi);
            assert!(s.bottom <= lo && s.top >= hi, "{lo} {hi}: {s:?}");
            assert!(s.values().count() <= MAX_INTERVALS as usize + 1, "{s:?}");
            assert!(s.y_of(lo).is_finite() && s.y_of(hi).is_finite());
        }
        assert_eq!(number(1234.5), "1,234.5");
        assert_eq!(number(-1.0 / 3.0), "-0.3333");
        assert_eq!(number(20.0), "20");
    }

    #[test]
    fn numbers_leave_gaps_where_a_bucket_has_no_number() {
        let chart = NumberChart {
            span: Span::DAY,
            times: (0..4)
                .map(|i| datetime!(2026-11-01 0:00 UTC) + Duration::days(i))
                .collect(),
            series: vec![spoor::answer::NumberSeries {
                name: "value".to_owned(),
                values: vec![Some(1.5), None, Some(-2.0), Some(3.0)],
            }],
        };
        let svg = render_numbers(&NumberPlot {
            chart: &chart,
            title: "avg of price over time",
            what: "avg of price",
            partial: Partial::default(),
        })
        .into_string();
        assert_eq!(svg.matches("<circle").count(), 3, "a point per number");
        let path = svg
            .split("<path d=\"")
            .nth(1)
            .and_then(|p| p.split('"').next())
            .unwrap_or_default();
        assert_eq!(
            path.matches('M').count(),
            2,
            "the gap breaks the line: {path}"
        );
        assert!(svg.contains("avg of price -2"));
        let empty = NumberChart {
            series: vec![spoor::answer::NumberSeries {
                name: "value".to_owned(),
                values: vec![None; 4],
            }],
            ..chart
        };
        let none = render_numbers(&NumberPlot {
            chart: &empty,
            title: "t",
            what: "w",
            partial: Partial::default(),
        })
        .into_string();
        assert!(none.contains("No numbers in this window"));
    }

    #[test]
    fn parts_of_a_whole_are_stacked_with_each_points_own_value() {
        let chart = daily(&[("login", &[3, 1, 2]), ("signup", &[1, 1, 0])]);
        let svg = render(&Plot {
            chart: &chart,
            title: "Events over time, by event",
            unit: "events",
            stacked: true,
            partial: Partial::default(),
            links: &[],
        })
        .into_string();
        assert_eq!(
            svg.matches("class=\"band\"").count(),
            2,
            "a band per series"
        );
        // Points hold each series' own count, drawn at the top of its band: the axis reaches the
        // largest sum (4), not the largest value (3).
        assert!(svg.contains("data-value=\"1\""));
        let ticks: Vec<&str> = svg
            .split("class=\"y-label\"")
            .skip(1)
            .filter_map(|t| t.split('>').nth(1)?.split('<').next())
            .collect();
        assert_eq!(ticks.last(), Some(&"4"), "{ticks:?}");
        // One series: a line, whatever is asked.
        let one = daily(&[("login", &[3, 1, 2])]);
        let line = render(&Plot {
            chart: &one,
            title: "t",
            unit: "events",
            stacked: true,
            partial: Partial::default(),
            links: &[],
        })
        .into_string();
        assert!(!line.contains("class=\"band\""));
    }

    #[test]
    fn end_buckets_covered_in_part_are_shaded_hollow_and_named() {
        let chart = daily(&[("login", &[3, 1, 2])]);
        let svg = render(&Plot {
            chart: &chart,
            title: "t",
            unit: "events",
            stacked: false,
            partial: Partial {
                first: false,
                last: true,
            },
            links: &[],
        })
        .into_string();
        assert_eq!(
            svg.matches("<rect class=\"partial\" x=").count(),
            1,
            "{svg}"
        );
        assert_eq!(svg.matches("data-partial=\"true\"").count(), 1);
        assert!(svg.contains("(incomplete: the window covers part of it)"));
        assert!(svg.contains("Incomplete: the window covers part of this day"));
        let whole = draw(&chart);
        assert!(
            !whole.contains("partial"),
            "none when the window covers every bucket"
        );
    }

    #[test]
    fn one_group_per_series_and_one_point_per_bucket() {
        let c = daily(&[
            ("login", &[1, 2, 3, 4]),
            ("purchase", &[0, 5, 0, 7]),
            ("OTHER", &[1, 1, 1, 1]),
        ]);
        let svg = draw(&c);
        assert_eq!(svg.matches("<g class=\"series\"").count(), 3);
        for group in svg.split("<g class=\"series\"").skip(1) {
            let group = &group[..group.find("</g>").unwrap_or(group.len())];
            assert_eq!(group.matches("<circle").count(), 4);
            assert_eq!(group.matches("<path").count(), 1);
        }
        assert!(svg.contains("data-series=\"purchase\""));
        assert!(svg.contains("data-value=\"7\""));
        assert!(svg.contains("data-time=\"2026-11-04T00:00:00Z\""));
        assert!(
            svg.contains("<title>purchase — Nov 4: 7 events</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>login — Nov 1: 1 event</title>"),
            "{svg}"
        );
        // OTHER keeps its name in data, reads "Other", and is gray.
        assert!(svg.contains("data-series=\"OTHER\""));
        assert!(svg.contains("<title>Other — Nov 1: 1 event</title>"));
        assert!(svg.contains(&format!("fill=\"{OTHER_COLOR}\"")));
        let legend = &svg[svg.find("<ul class=\"legend\"").unwrap_or(0)..];
        assert_eq!(legend.matches("<li").count(), 3);
        assert!(
            legend.contains(" Other</li>") && !legend.contains(">OTHER<"),
            "{legend}"
        );
        // Series get distinct colours from the palette.
        assert!(
            svg.contains(&format!("stroke=\"{}\"", PALETTE[0]))
                && svg.contains(&format!("stroke=\"{}\"", PALETTE[1]))
        );
        // Accessible name, gridlines and ticks.
        let name = "Events over time, Nov 1 to Nov 4: login 10 events, purchase 12 events, \
                    Other 4 events";
        assert!(
            svg.contains(&format!("role=\"img\" aria-label=\"{name}\"")),
            "{svg}"
        );
        assert_eq!(svg.matches("<text class=\"y-label\"").count(), 5); // 0, 2, 4, 6, 8
        assert_finite(&svg);
    }

    #[test]
    fn legend_names_link_where_given() {
        let c = daily(&[("pro", &[1, 2]), ("a&b", &[3, 4]), ("OTHER", &[1, 1])]);
        let links = [
            Some("/p?filter=plan%3Dpro".to_owned()),
            Some("/p?x=1&filter=plan%3Da%26b".to_owned()),
        ];
        let svg = render(&Plot {
            chart: &c,
            title: "t",
            unit: "events",
            stacked: true,
            partial: Partial::default(),
            links: &links,
        })
        .into_string();
        let legend = &svg[svg.find("<ul class=\"legend\"").unwrap_or(0)..];
        assert!(
            legend.contains("<a href=\"/p?filter=plan%3Dpro\">pro</a>"),
            "{legend}"
        );
        assert!(
            legend.contains("<a href=\"/p?x=1&amp;filter=plan%3Da%26b\">a&amp;b</a>"),
            "{legend}"
        );
        // A series past the links (Other) is plain text.
        assert_eq!(legend.matches("<a ").count(), 2, "{legend}");
    }

    #[test]
    fn hostile_names_are_text() {
        let c = daily(&[("<script>alert(1)</script>", &[1, 2]), ("a\"b&c", &[3, 4])]);
        let svg = render(&Plot {
            chart: &c,
            title: "<b>title</b>",
            unit: "<i>",
            stacked: false,
            partial: Partial::default(),
            links: &[],
        })
        .into_string();
        assert!(
            !svg.contains("<script>") && !svg.contains("<b>") && !svg.contains("<i>"),
            "{svg}"
        );
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains("data-series=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(svg.contains("data-series=\"a&quot;b&amp;c\""));
        assert!(svg.contains("&lt;b&gt;title&lt;/b&gt;"));
        let spark = sparkline(&[1, 2], "<script>x</script>").into_string();
        assert!(!spark.contains("<script>") && spark.contains("&lt;script&gt;x&lt;/script&gt;"));
    }

    #[test]
    fn long_names_are_cut_where_they_repeat() {
        let long = "x".repeat(10_000);
        let values = vec![1; 100];
        let c = daily(&[(long.as_str(), &values)]);
        let svg = draw(&c);
        // The whole name once, in `data-series` (the group's and the legend's), never per point.
        assert_eq!(svg.matches(long.as_str()).count(), 2);
        let shown = format!("{}…", "x".repeat(MAX_NAME_CHARS));
        assert_eq!(svg.matches(&format!("<title>{shown} — ")).count(), 100);
        assert!(
            svg.len() < 100 * (MAX_NAME_CHARS + 300) + 4 * long.len(),
            "{}",
            svg.len()
        );
        assert_eq!(
            display_name("é".repeat(300).as_str()).chars().count(),
            MAX_NAME_CHARS + 1
        );
        assert_eq!(display_name("OTHER"), "Other");
    }

    #[test]
    fn an_empty_chart_says_so() {
        let empty = daily(&[]);
        let html = draw(&empty);
        assert!(html.contains("No events in this window"));
        assert!(html.contains("class=\"chart chart-empty\""));
        assert!(!html.contains("<g class=\"series\""));
        // Buckets but no series is empty too.
        let c = Chart {
            span: Span::DAY,
            times: vec![datetime!(2026-11-01 0:00 UTC)],
            series: Vec::new(),
        };
        assert!(draw(&c).contains("No events in this window"));
    }

    #[test]
    fn zeros_and_single_buckets_draw_finite() {
        let zeros = daily(&[("a", &[0, 0, 0]), ("b", &[0, 0, 0])]);
        let svg = draw(&zeros);
        assert_finite(&svg);
        assert_eq!(svg.matches("<circle").count(), 6);
        assert_eq!(svg.matches("<text class=\"y-label\"").count(), 2); // 0 and 1
        // All points on the baseline.
        let base = format!("cy=\"{}\"", num(TOP + PLOT_H));
        assert_eq!(svg.matches(&base).count(), 6, "{svg}");

        for values in [&[0][..], &[42][..]] {
            let one = daily(&[("a", values)]);
            let svg = draw(&one);
            assert_finite(&svg);
            assert_eq!(svg.matches("<circle").count(), 1);
            assert!(
                svg.contains(&format!("cx=\"{}\"", num(LEFT + PLOT_W / 2.0))),
                "{svg}"
            );
            assert_eq!(x_labels(&svg), ["Nov 1"]);
        }
    }

    #[test]
    fn sparklines() {
        for values in [
            &[][..],
            &[0][..],
            &[0, 0, 0][..],
            &[5][..],
            &[1, 9, 3][..],
            &[u64::MAX, 0][..],
        ] {
            let svg = sparkline(values, "shop events over time").into_string();
            assert_finite(&svg);
            assert!(svg.starts_with("<svg class=\"sparkline\""), "{svg}");
            assert!(svg.contains("aria-label=\"shop events over time\""));
            assert!(svg.contains("<title>shop events over time</title>"));
            assert!(!svg.contains("<text"));
        }
        let svg = sparkline(&[0, 10], "x").into_string();
        assert!(svg.contains("d=\"M2 26L118 2\""), "{svg}");
    }

    #[test]
    fn numbers_are_plain() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(1.256), "1.26");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::INFINITY), "0");
        assert_eq!(plural(true, "events"), "event");
        assert_eq!(plural(false, "users"), "users");
        assert_eq!(plural(true, "s"), "s");
    }
}
