//! The report as one self-contained HTML page: the summary table, then charts of the run over
//! time ([`crate::series`]).
//!
//! The charts are drawn by [`plotters`] into inline SVG. Why plotters rather than a JavaScript
//! chart library inlined into the page: the page then needs no script at all (it opens offline,
//! in any browser or viewer, and nothing needs vendoring or a licence file beside a minified
//! blob), the charts are drawn by the same Rust code the tests run, and plotters, built with its
//! SVG backend only, adds no system dependency (its crude built-in text metrics suffice: SVG
//! text is laid out by the browser anyway). What that gives up is interactivity (hovering for
//! values); the JSON report carries every number for that.

use crate::report::Report;
use crate::series::{Point, Series};
use html_escape::encode_text;
use plotters::prelude::*;
use std::fmt::Write as _;
use thiserror::Error;

/// Width and height of one chart, pixels (the page scales it to its width).
const CHART_SIZE: (u32, u32) = (1100, 300);

/// Width of the legend beside each chart, pixels.
const LEGEND_WIDTH: u32 = 190;

/// Colours of a chart's lines, in order (the Tableau 10 palette: distinct, readable on white).
const PALETTE: [RGBColor; 6] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(89, 161, 79),
    RGBColor(176, 122, 161),
    RGBColor(118, 183, 178),
];

/// Base text size given to plotters, which shrinks SVG text by 1.24: 14 comes out near 11 px
/// before the page scales the chart.
const FONT_PX: u32 = 14;

/// The measurement window's band.
const WINDOW_FILL: RGBColor = RGBColor(237, 201, 72);

/// Why the page could not be drawn.
#[derive(Debug, Error)]
pub enum HtmlError {
    /// A chart could not be drawn (plotters refused a coordinate or an element).
    #[error("cannot draw the chart {chart:?}: {reason}")]
    Chart {
        /// The chart's title.
        chart: String,
        /// What plotters said.
        reason: String,
    },
}

/// One line of a chart: a figure of each point, `None` where the point has none (the line
/// breaks there rather than dropping to zero).
struct Line {
    label: &'static str,
    value: fn(&Point) -> Option<f64>,
}

/// One chart of the series.
struct Chart {
    title: String,
    /// The y axis: what and in which unit.
    y_desc: &'static str,
    lines: Vec<Line>,
}

/// The page for `report`: summary on top, then one chart per figure over time (none, with a
/// note, for a report without a series).
pub fn render(report: &Report) -> Result<String, HtmlError> {
    let mut page = String::new();
    let title = report.title();
    // Writing to a String cannot fail (here and below).
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>tickroom-bots report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>tickroom-bots report</h1>\n<p class=\"run\">{}</p>\n",
        encode_text(&title)
    );
    page.push_str("<h2>Summary</h2>\n<table class=\"summary\">\n");
    for (label, value) in report.rows() {
        let class = match label {
            "WARNING" => " class=\"warning\"",
            "error" => " class=\"error\"",
            _ => "",
        };
        let _ = writeln!(
            page,
            "<tr{class}><th>{}</th><td>{}</td></tr>",
            encode_text(label),
            encode_text(&value)
        );
    }
    page.push_str("</table>\n<p class=\"note\">Rates are over the measurement window; client and chain counts cover the whole run.</p>\n");
    page.push_str("<h2>Over time</h2>\n");
    match &report.series {
        Some(series) if !series.points.is_empty() => {
            let _ = writeln!(
                page,
                "<p class=\"note\">One point per {} s, all bots, from the start of the run \
                 (ramp and warm-up included); the shaded band is the measurement window the \
                 summary covers. Latencies and intervals come from the bots that measure.</p>",
                series.period_s
            );
            for chart in charts(report) {
                let svg = chart_svg(&chart, series)?;
                let _ = writeln!(
                    page,
                    "<figure>\n<figcaption>{}</figcaption>\n{svg}\n</figure>",
                    encode_text(&chart.title)
                );
            }
        }
        _ => page.push_str("<p class=\"note\">This report has no series over time.</p>\n"),
    }
    let _ = write!(
        page,
        "<footer>tickroom-bots {}</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(page)
}

/// The charts: latency, tick interval, deltas and inputs, bytes, clients, events.
fn charts(report: &Report) -> Vec<Chart> {
    let latency = if report.run.game.has_inputs() {
        "Input-to-ack latency"
    } else {
        "Command round trip"
    };
    let mut charts = vec![
        Chart {
            title: format!("{latency} (ms)"),
            y_desc: "ms",
            lines: vec![
                Line {
                    label: "p50",
                    value: |p| measured(&p.latency_ms).map(|l| l.p50),
                },
                Line {
                    label: "p90",
                    value: |p| measured(&p.latency_ms).map(|l| l.p90),
                },
                Line {
                    label: "p99",
                    value: |p| measured(&p.latency_ms).map(|l| l.p99),
                },
                Line {
                    label: "max",
                    value: |p| measured(&p.latency_ms).map(|l| l.max),
                },
            ],
        },
        Chart {
            title: "Tick interval seen by clients: time between consecutive deltas (ms)".into(),
            y_desc: "ms",
            lines: vec![
                Line {
                    label: "p50",
                    value: |p| measured(&p.delta_interval_ms).map(|l| l.p50),
                },
                Line {
                    label: "p99",
                    value: |p| measured(&p.delta_interval_ms).map(|l| l.p99),
                },
                Line {
                    label: "max",
                    value: |p| measured(&p.delta_interval_ms).map(|l| l.max),
                },
            ],
        },
        Chart {
            title: "Deltas and inputs per client per second".into(),
            y_desc: "per client per s",
            lines: vec![
                Line {
                    label: "deltas received",
                    value: |p| p.per_client(p.deltas_per_s),
                },
                Line {
                    label: "inputs sent",
                    value: |p| p.per_client(p.inputs_per_s),
                },
            ],
        },
        Chart {
            title: "Bytes per client per second".into(),
            y_desc: "bytes per client per s",
            lines: vec![
                Line {
                    label: "in, payload",
                    value: |p| p.per_client(p.payload_in_per_s),
                },
                Line {
                    label: "in, wire",
                    value: |p| p.per_client(p.wire_in_per_s),
                },
                Line {
                    label: "out, wire",
                    value: |p| p.per_client(p.wire_out_per_s),
                },
            ],
        },
        Chart {
            title: "Clients connected".into(),
            y_desc: "clients",
            lines: vec![Line {
                label: "connected",
                value: |p| Some(p.clients as f64),
            }],
        },
        Chart {
            title: "Joins, failed joins, drops and errors per second".into(),
            y_desc: "per s",
            lines: vec![
                Line {
                    label: "joins",
                    value: |p| Some(p.joins as f64),
                },
                Line {
                    label: "failed joins",
                    value: |p| Some(p.failed as f64),
                },
                Line {
                    label: "drops",
                    value: |p| Some(p.drops as f64),
                },
                Line {
                    label: "errors",
                    value: |p| Some(p.errors as f64),
                },
            ],
        },
    ];
    if !report.run.game.has_inputs() {
        // No inputs: the line would lie flat at zero.
        charts[2].title = "Deltas per client per second".into();
        charts[2].lines.truncate(1);
    }
    charts
}

/// Percentiles with samples, `None` for a period without any.
fn measured(p: &crate::report::Percentiles) -> Option<&crate::report::Percentiles> {
    (p.samples > 0).then_some(p)
}

/// Splits a line into runs of consecutive points that have a value.
fn segments(points: &[Point], value: fn(&Point) -> Option<f64>) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut run = Vec::new();
    for p in points {
        match value(p) {
            Some(v) if v.is_finite() => run.push((p.t_s, v)),
            _ => {
                if !run.is_empty() {
                    out.push(std::mem::take(&mut run));
                }
            }
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// An axis label: short, without trailing zeros (12k, 1.5M, 33.3, 0.25).
fn tick_label(v: f64) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    let a = v.abs();
    if a >= 1e6 {
        trim(format!("{:.2}", v / 1e6)) + "M"
    } else if a >= 1e4 {
        trim(format!("{:.1}", v / 1e3)) + "k"
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        trim(format!("{v:.1}"))
    } else {
        trim(format!("{v:.2}"))
    }
}

/// One chart as an SVG element.
fn chart_svg(chart: &Chart, series: &Series) -> Result<String, HtmlError> {
    let fail = |e: &dyn std::fmt::Display| HtmlError::Chart {
        chart: chart.title.clone(),
        reason: e.to_string(),
    };
    let points = &series.points;
    let lines: Vec<_> = chart
        .lines
        .iter()
        .map(|l| segments(points, l.value))
        .collect();
    let x_max = points.last().map_or(1.0, |p| p.t_s).max(1.0);
    let y_top = lines
        .iter()
        .flatten()
        .flatten()
        .map(|(_, y)| *y)
        .fold(0.0_f64, f64::max);
    // Headroom above the highest value; a flat zero still gets a readable axis.
    let y_max = if y_top > 0.0 { y_top * 1.1 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let (plot, legend) = root.split_horizontally(CHART_SIZE.0 - LEGEND_WIDTH);
        let mut ctx = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(|e| fail(&e))?;
        let x_fmt = |v: &f64| format!("{v:.0}");
        let y_fmt = |v: &f64| tick_label(*v);
        ctx.configure_mesh()
            .x_desc("seconds since the bots started")
            .y_desc(chart.y_desc)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .x_labels(12)
            .y_labels(6)
            .max_light_lines(1)
            .label_style(("sans-serif", FONT_PX + 2))
            .axis_desc_style(("sans-serif", FONT_PX + 4))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(RGBColor(245, 245, 245))
            .axis_style(RGBColor(120, 120, 120))
            .draw()
            .map_err(|e| fail(&e))?;
        if let (Some(from), Some(to)) = (series.window_from_s, series.window_to_s) {
            ctx.draw_series(std::iter::once(Rectangle::new(
                [(from.min(x_max), 0.0), (to.min(x_max), y_max)],
                WINDOW_FILL.mix(0.18).filled(),
            )))
            .map_err(|e| fail(&e))?;
        }
        for (i, runs) in lines.iter().enumerate() {
            let style = PALETTE[i % PALETTE.len()].stroke_width(2);
            for run in runs {
                if let [only] = run.as_slice() {
                    // A lone point between gaps: a dot, since a line needs two.
                    ctx.draw_series(std::iter::once(Circle::new(*only, 3, style.filled())))
                        .map_err(|e| fail(&e))?;
                } else {
                    ctx.draw_series(LineSeries::new(run.iter().copied(), style))
                        .map_err(|e| fail(&e))?;
                }
            }
        }
        // The legend beside the plot, so it never hides a line.
        let text = ("sans-serif", FONT_PX + 4)
            .into_font()
            .color(&RGBColor(50, 50, 50));
        let mut y = 24;
        for (i, line) in chart.lines.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            legend
                .draw(&PathElement::new(
                    vec![(8, y), (32, y)],
                    color.stroke_width(3),
                ))
                .map_err(|e| fail(&e))?;
            legend
                .draw(&Text::new(line.label, (40, y - 8), text.clone()))
                .map_err(|e| fail(&e))?;
            y += 24;
        }
        if series.window_from_s.is_some() {
            legend
                .draw(&Rectangle::new(
                    [(8, y - 7), (32, y + 7)],
                    WINDOW_FILL.mix(0.35).filled(),
                ))
                .map_err(|e| fail(&e))?;
            legend
                .draw(&Text::new("window", (40, y - 8), text.clone()))
                .map_err(|e| fail(&e))?;
        }
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

/// The page's style: readable type, a compact summary table, charts as wide as the page.
const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #222;
       max-width: 1160px; margin: 24px auto; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.run { color: #555; margin-top: 0; font-family: ui-monospace, Menlo, Consolas, monospace; }
p.note { color: #666; font-size: 0.9em; }
table.summary { border-collapse: collapse; width: 100%; font-size: 0.92em; }
table.summary th { text-align: left; white-space: nowrap; padding: 4px 16px 4px 8px; color: #444;
                   font-weight: 600; vertical-align: top; width: 9em; }
table.summary td { padding: 4px 8px; font-family: ui-monospace, Menlo, Consolas, monospace; }
table.summary tr:nth-child(odd) { background: #f6f7f9; }
table.summary tr.warning td, table.summary tr.warning th { color: #b3261e; }
table.summary tr.error td, table.summary tr.error th { color: #8a4b00; }
figure { margin: 1.4em 0; }
figcaption { font-weight: 600; margin-bottom: 0.3em; }
figure svg { width: 100%; height: auto; display: block; }
footer { color: #999; font-size: 0.8em; margin-top: 2em; }
";

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t_s: f64, latency: Option<f64>) -> Point {
        let mut p = Point {
            t_s,
            clients: 2,
            deltas_per_s: 60.0,
            ..Point::default()
        };
        if let Some(ms) = latency {
            p.latency_ms.samples = 1;
            p.latency_ms.p50 = ms;
        }
        p
    }

    /// A line breaks where points have no value instead of dropping to zero.
    #[test]
    fn lines_break_at_points_without_a_value() {
        let points = [
            point(1.0, Some(10.0)),
            point(2.0, None),
            point(3.0, Some(12.0)),
            point(4.0, Some(14.0)),
        ];
        let runs = segments(&points, |p| measured(&p.latency_ms).map(|l| l.p50));
        assert_eq!(
            runs,
            vec![vec![(1.0, 10.0)], vec![(3.0, 12.0), (4.0, 14.0)]]
        );
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick_label(0.0), "0");
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(33.33), "33.3");
        assert_eq!(tick_label(250.0), "250");
        assert_eq!(tick_label(7_150.0), "7150");
        assert_eq!(tick_label(12_000.0), "12k");
        assert_eq!(tick_label(1_500_000.0), "1.5M");
    }

    /// A chart is an SVG with its axis descriptions, legend and the window band.
    #[test]
    fn a_chart_is_an_svg_with_axes_legend_and_window() {
        let series = Series {
            period_s: 1.0,
            window_from_s: Some(2.0),
            window_to_s: Some(3.0),
            points: vec![point(1.0, Some(10.0)), point(2.0, Some(12.0))],
        };
        let chart = Chart {
            title: "t".into(),
            y_desc: "ms",
            lines: vec![Line {
                label: "p50",
                value: |p| measured(&p.latency_ms).map(|l| l.p50),
            }],
        };
        let svg = chart_svg(&chart, &series).expect("draws");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("seconds since the bots started"), "{svg}");
        assert!(svg.contains("\np50\n"), "{svg}");
        assert!(svg.contains("\nwindow\n"), "{svg}");
        assert!(svg.contains("<polyline"), "a line: {svg}");
    }
}
