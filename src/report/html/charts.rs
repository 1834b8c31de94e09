//! The charts, each drawn by `plotters` into an SVG string: percentile distribution, environment, event and
//! queue timelines (the queue's with a second axis), and the sweep's cost-vs-p99 scatter.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::series::{TimeUnit, percentile_label, percentile_ticks};

/// Why a chart could not be drawn (plotters' error, as text).
pub type ChartResult = Result<String, String>;

type DrawResult = Result<(), Box<dyn Error>>;

const FONT: &str = "sans-serif";
pub const WIDTH: u32 = 1100;

/// Series colours (the "tab10" palette: distinct, and readable on white).
pub const BLUE: RGBColor = RGBColor(31, 119, 180);
pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
pub const RED: RGBColor = RGBColor(214, 39, 40);
pub const PURPLE: RGBColor = RGBColor(148, 103, 189);
pub const BROWN: RGBColor = RGBColor(140, 86, 75);
pub const PINK: RGBColor = RGBColor(227, 119, 194);
pub const GREY: RGBColor = RGBColor(127, 127, 127);
pub const OLIVE: RGBColor = RGBColor(188, 189, 34);
pub const CYAN: RGBColor = RGBColor(23, 190, 207);

/// Colours of variants in the overlay chart, in variant order (repeating after ten).
pub const PALETTE: [RGBColor; 10] = [
    BLUE, ORANGE, GREEN, RED, PURPLE, BROWN, PINK, GREY, OLIVE, CYAN,
];

/// Width of the legend column on the right of every chart, outside the plot so it never hides data.
const LEGEND_WIDTH: u32 = 240;

/// Longest legend label, in characters; longer ones are cut with "…" (the page's text has the full name).
const LEGEND_CHARS: usize = 30;

/// One line of a chart.
pub struct Curve {
    pub name: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
    /// Fill the area under the line (lightly), for a level that other lines are read against.
    pub filled: bool,
}

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
enum Mark {
    Line(RGBColor),
    Dot(RGBColor),
}

/// Draws into a fresh white SVG of `size` and returns the SVG text.
fn svg(size: (u32, u32), draw: impl FnOnce(&Area) -> DrawResult) -> ChartResult {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

/// A number as an axis label: integers without decimals, others with as few as make sense.
pub fn axis_number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        // 2.0000001 is "2", not "2.".
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A count as an axis label: whole numbers only (a tick between two counts gets no label).
fn count_label(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v.round())
    } else {
        String::new()
    }
}

/// How many labels a count axis up to `max` gets: one per whole number when there are few, so no tick falls
/// between two counts.
fn count_ticks(max: f64) -> usize {
    (max.ceil() as usize + 1).clamp(2, 10)
}

/// A price as an axis label with enough decimals for the range it is on.
fn usd_label(v: f64, span: f64) -> String {
    let decimals = if span > 0.0 {
        (-(span / 5.0).log10().floor() as i32 + 1).clamp(2, 12) as usize
    } else {
        6
    };
    format!("${v:.decimals$}")
}

/// Draws a centred note (e.g. "no invocations") on an empty chart.
fn note(area: &Area, text: &str) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, 16).into_font())
        .color(&GREY)
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(
        text.to_string(),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))?;
    Ok(())
}

/// A part of a chart's SVG.
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// The caption on top, then the plot area and the legend column beside it.
fn layout<'a>(root: &Area<'a>, caption: &str) -> Result<(Area<'a>, Area<'a>), Box<dyn Error>> {
    let body = root.titled(caption, (FONT, 19))?;
    let (w, _) = body.dim_in_pixel();
    Ok(body.split_horizontally(w.saturating_sub(LEGEND_WIDTH)))
}

/// Draws the legend entries down the legend column.
fn legend(area: &Area, entries: &[(String, Mark)]) -> DrawResult {
    let style = TextStyle::from((FONT, 14).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (label, mark)) in entries.iter().enumerate() {
        let y = 24 + 24 * i as i32;
        match *mark {
            Mark::Line(c) => {
                area.draw(&PathElement::new(vec![(4, y), (30, y)], c.stroke_width(3)))?
            }
            Mark::Dot(c) => area.draw(&Circle::new((17, y), 5, c.filled()))?,
        }
        let text = if label.chars().count() > LEGEND_CHARS {
            let cut: String = label.chars().take(LEGEND_CHARS - 1).collect();
            format!("{cut}…")
        } else {
            label.clone()
        };
        area.draw(&Text::new(text, (38, y), style.clone()))?;
    }
    Ok(())
}

/// Draws the lines of `curves` on `chart` (filled ones first, so lines stay on top) and their legend.
fn lines<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    legend_area: &Area,
    curves: &[Curve],
) -> DrawResult
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    draw_curves(chart, curves)?;
    let entries: Vec<(String, Mark)> = curves
        .iter()
        .map(|c| (c.name.clone(), Mark::Line(c.color)))
        .collect();
    legend(legend_area, &entries)
}

/// Draws the lines of `curves` on `chart`, filled ones first so lines stay on top.
fn draw_curves<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    curves: &[Curve],
) -> DrawResult
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for c in curves.iter().filter(|c| c.filled) {
        chart.draw_series(
            AreaSeries::new(c.points.iter().copied(), 0.0, c.color.mix(0.18))
                .border_style(c.color.stroke_width(2)),
        )?;
    }
    for c in curves.iter().filter(|c| !c.filled) {
        chart.draw_series(LineSeries::new(
            c.points.iter().copied(),
            c.color.stroke_width(2),
        ))?;
    }
    Ok(())
}

/// HdrHistogram-style percentile distribution: x = percentile on a log scale of 1/(1 − p), y = latency (ms).
pub fn percentiles(caption: &str, curves: &[Curve], x_max: f64, y_max: f64) -> ChartResult {
    svg((WIDTH, 420), |root| {
        let (plot, side) = layout(root, caption)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(72)
            .build_cartesian_2d(
                (1.0..x_max)
                    .log_scale()
                    .with_key_points(percentile_ticks(x_max)),
                0.0..y_max.max(0.001) * 1.05,
            )?;
        chart
            .configure_mesh()
            .x_desc("percentile (log scale of 1/(1 − p))")
            .y_desc("latency (ms)")
            .x_label_formatter(&|x| percentile_label(*x))
            .y_label_formatter(&|y| axis_number(*y))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .draw()?;
        let drawn: Vec<&Curve> = curves.iter().filter(|c| !c.points.is_empty()).collect();
        if drawn.is_empty() {
            note(&plot, "no invocations ran")?;
        }
        for c in &drawn {
            chart.draw_series(LineSeries::new(
                c.points.iter().copied(),
                c.color.stroke_width(2),
            ))?;
        }
        // Empty series (e.g. no cold starts) still get a legend entry, saying n = 0.
        let entries: Vec<(String, Mark)> = curves
            .iter()
            .map(|c| (c.name.clone(), Mark::Line(c.color)))
            .collect();
        legend(&side, &entries)
    })
}

/// The x range of a timeline: from a little before 0, so a step at t = 0 (cold starts at the first arrival) is
/// drawn clear of the axis.
fn time_range(x_max: f64) -> std::ops::Range<f64> {
    let x_max = x_max.max(1e-9);
    -x_max * 0.01..x_max
}

/// A timeline of step series over `0..x_max` (in `unit`), y from 0 to `y_max`; `counts`: the values are whole
/// numbers (environments, events), so the axis has no fractional ticks.
pub fn timeline(
    caption: &str,
    y_desc: &str,
    curves: &[Curve],
    unit: TimeUnit,
    x_max: f64,
    y_max: f64,
    counts: bool,
) -> ChartResult {
    svg((WIDTH, 320), |root| {
        let (plot, side) = layout(root, caption)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(time_range(x_max), 0.0..(y_max.max(1.0) * 1.08))?;
        let y_labels = if counts { count_ticks(y_max) } else { 10 };
        chart
            .configure_mesh()
            .x_desc(format!("time ({})", unit.name()))
            .y_desc(y_desc)
            .x_label_formatter(&|x| {
                if *x < 0.0 {
                    String::new()
                } else {
                    axis_number(*x)
                }
            })
            .y_labels(y_labels)
            .y_label_formatter(&|y| {
                if counts {
                    count_label(*y)
                } else {
                    axis_number(*y)
                }
            })
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .draw()?;
        if curves.iter().all(|c| c.points.is_empty()) {
            note(&plot, "empty timeline")?;
        }
        lines(&mut chart, &side, curves)
    })
}

/// One vertical axis of a two-axis timeline: its description, its top value and the curves read against it.
pub struct Axis<'a> {
    pub desc: &'a str,
    pub max: f64,
    pub curves: &'a [Curve],
}

/// A timeline over `0..x_max` (in `unit`) with two vertical axes: `left`'s curves on the left one, `right`'s
/// on the right one, whose labels take the colour of its first curve (and whose legend entries say "right") so
/// it is clear which line they belong to.
pub fn dual_timeline(
    caption: &str,
    unit: TimeUnit,
    x_max: f64,
    left: Axis,
    right: Axis,
) -> ChartResult {
    svg((WIDTH, 320), |root| {
        let (plot, side) = layout(root, caption)?;
        let x = time_range(x_max);
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .right_y_label_area_size(72)
            .build_cartesian_2d(x.clone(), 0.0..(left.max.max(1.0) * 1.08))?
            .set_secondary_coord(x, 0.0..(right.max.max(1.0) * 1.08));
        chart
            .configure_mesh()
            .x_desc(format!("time ({})", unit.name()))
            .y_desc(left.desc)
            .x_label_formatter(&|x| {
                if *x < 0.0 {
                    String::new()
                } else {
                    axis_number(*x)
                }
            })
            .y_label_formatter(&|y| axis_number(*y))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .draw()?;
        let tint = right.curves.first().map_or(BLACK, |c| c.color);
        chart
            .configure_secondary_axes()
            .y_desc(right.desc)
            .y_label_formatter(&|y| axis_number(*y))
            .label_style(TextStyle::from((FONT, 14).into_font()).color(&tint))
            .axis_desc_style(TextStyle::from((FONT, 15).into_font()).color(&tint))
            .draw()?;
        if left
            .curves
            .iter()
            .chain(right.curves)
            .all(|c| c.points.is_empty())
        {
            note(&plot, "empty timeline")?;
        }
        draw_curves(&mut chart, left.curves)?;
        for c in right.curves {
            chart.draw_secondary_series(LineSeries::new(
                c.points.iter().copied(),
                c.color.stroke_width(2),
            ))?;
        }
        let entries: Vec<(String, Mark)> = left
            .curves
            .iter()
            .map(|c| (c.name.clone(), Mark::Line(c.color)))
            .chain(
                right
                    .curves
                    .iter()
                    .map(|c| (format!("{} (right)", c.name), Mark::Line(c.color))),
            )
            .collect();
        legend(&side, &entries)
    })
}

/// One labelled point of the sweep scatter.
pub struct SweepDot<'a> {
    pub label: &'a str,
    pub cost_usd: f64,
    pub p99_ms: f64,
    pub chosen: bool,
}

/// Vertical offsets (px) of the points' labels: a label moves down one line for each earlier point close
/// enough for their labels to overlap (e.g. two points with the same cost and p99).
fn label_offsets(dots: &[&SweepDot], x_span: f64, y_span: f64) -> Vec<i32> {
    let near = |a: &SweepDot, b: &SweepDot| {
        (a.cost_usd - b.cost_usd).abs() <= x_span * 0.12
            && (a.p99_ms - b.p99_ms).abs() <= y_span * 0.05
    };
    (0..dots.len())
        .map(|i| 18 * dots[..i].iter().filter(|d| near(d, dots[i])).count() as i32)
        .collect()
}

/// Cost (USD) against p99 latency (ms), every point labelled, the chosen optimum marked.
pub fn sweep(caption: &str, dots: &[SweepDot]) -> ChartResult {
    svg((WIDTH, 480), |root| {
        let (plot, side) = layout(root, caption)?;
        let finite: Vec<&SweepDot> = dots
            .iter()
            .filter(|d| d.cost_usd.is_finite() && d.p99_ms.is_finite())
            .collect();
        let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
        for d in &finite {
            x0 = x0.min(d.cost_usd);
            x1 = x1.max(d.cost_usd);
            y1 = y1.max(d.p99_ms);
        }
        if x0 > x1 {
            (x0, x1) = (0.0, 1.0);
        }
        let pad = if x1 > x0 {
            (x1 - x0) * 0.08
        } else {
            x0.abs().max(1e-9) * 0.1
        };
        // Extra room on the right for the labels of the right-most points.
        let (lo, hi) = ((x0 - pad).max(0.0), x1 + pad * 3.0);
        let y_hi = y1.max(0.001) * 1.15;
        let span = hi - lo;
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(72)
            .build_cartesian_2d(lo..hi, 0.0..y_hi)?;
        chart
            .configure_mesh()
            .x_desc("cost (USD)")
            .y_desc("p99 latency (ms)")
            .x_label_formatter(&|x| usd_label(*x, span))
            .y_label_formatter(&|y| axis_number(*y))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .draw()?;
        // The Pareto frontier: the points no other point beats on both cost and p99, joined from cheapest to
        // dearest; every choice worth making is on it.
        let frontier = pareto_frontier(&finite);
        chart.draw_series(LineSeries::new(
            frontier.iter().map(|d| (d.cost_usd, d.p99_ms)),
            GREY.stroke_width(2),
        ))?;
        let offsets = label_offsets(&finite, span, y_hi);
        let plain = TextStyle::from((FONT, 13).into_font()).color(&BLACK);
        let bold = TextStyle::from((FONT, 14).into_font().style(FontStyle::Bold)).color(&RED);
        // The chosen point last, so its mark is on top.
        let order = finite
            .iter()
            .zip(&offsets)
            .filter(|(d, _)| !d.chosen)
            .chain(finite.iter().zip(&offsets).filter(|(d, _)| d.chosen));
        for (d, dy) in order {
            let at = EmptyElement::at((d.cost_usd, d.p99_ms));
            if d.chosen {
                chart.draw_series(std::iter::once(
                    at + Circle::new((0, 0), 10, RED.stroke_width(3))
                        + Circle::new((0, 0), 5, RED.filled())
                        + Text::new(format!("{} (chosen)", d.label), (14, dy - 16), bold.clone()),
                ))?;
            } else {
                chart.draw_series(std::iter::once(
                    at + Circle::new((0, 0), 5, BLUE.filled())
                        + Text::new(d.label.to_string(), (10, dy - 14), plain.clone()),
                ))?;
            }
        }
        if finite.is_empty() {
            note(&plot, "no sweep points")?;
        }
        legend(
            &side,
            &[
                ("sweep point".to_string(), Mark::Dot(BLUE)),
                ("chosen optimum".to_string(), Mark::Dot(RED)),
                ("Pareto frontier".to_string(), Mark::Line(GREY)),
            ],
        )
    })
}

/// The points not dominated by another (cheaper or equal and faster or equal, one of them strictly), by cost.
pub fn pareto_frontier<'a, 'b>(dots: &[&'b SweepDot<'a>]) -> Vec<&'b SweepDot<'a>> {
    let mut sorted: Vec<&SweepDot> = dots.to_vec();
    sorted.sort_by(|a, b| {
        a.cost_usd
            .total_cmp(&b.cost_usd)
            .then(a.p99_ms.total_cmp(&b.p99_ms))
    });
    let mut frontier: Vec<&SweepDot> = Vec::new();
    for d in sorted {
        if frontier.last().is_none_or(|best| d.p99_ms < best.p99_ms) {
            frontier.push(d);
        }
    }
    frontier
}

/// A swept setting (x) against a percentage (y), as dots joined in the setting's order.
pub fn setting_line(
    caption: &str,
    x_desc: &str,
    y_desc: &str,
    points: &[(f64, f64)],
) -> ChartResult {
    svg((WIDTH, 320), |root| {
        let (plot, side) = layout(root, caption)?;
        let (x0, x1) = points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                (a.min(p.0), b.max(p.0))
            });
        let (x0, x1) = if x0 < x1 {
            (x0, x1)
        } else {
            (x0 - 1.0, x0 + 1.0)
        };
        let pad = (x1 - x0) * 0.05;
        let y1 = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.1;
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(x0 - pad..x1 + pad, 0.0..y1)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|x| axis_number(*x))
            .y_label_formatter(&|y| axis_number(*y))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .draw()?;
        chart.draw_series(LineSeries::new(
            points.iter().copied(),
            BLUE.stroke_width(2),
        ))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 5, BLUE.filled())))?;
        legend(&side, &[(y_desc.to_string(), Mark::Dot(BLUE))])
    })
}
