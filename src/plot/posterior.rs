//! The trace figure of a posterior sample: one small panel per sampled quantity, each chain's path over its kept
//! steps on the log scale of the quantity relative to the set's value — the picture that shows at a glance whether
//! the chains have mixed (overlapping, hairy bands) or not (chains apart, slow drifts).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{series_colour, write_figure, Figure, FONT_FAMILY};
use crate::calibration::posterior::Posterior;
use crate::error::Result;

/// Points drawn per chain and panel at most (longer chains are thinned evenly, so the files stay small).
const MAX_POINTS: usize = 400;

/// Panels per row at most.
const COLUMNS: usize = 4;

/// Panels per row for `n` quantities.
fn columns(n: usize) -> usize {
    n.clamp(1, COLUMNS)
}

/// Each chain's path for quantity `q`: `(step, ln(value / set value))`, thinned to at most [`MAX_POINTS`].
fn paths(p: &Posterior, q: usize) -> Vec<Vec<(f64, f64)>> {
    let centre = p.rows[q].value;
    let stride = p.steps.div_ceil(MAX_POINTS).max(1);
    (0..p.chains)
        .map(|c| {
            p.trace
                .iter()
                .filter(|t| t.chain == c && t.step % stride == 0)
                .map(|t| (t.step as f64, (t.values[q] / centre).ln()))
                .collect()
        })
        .collect()
}

struct Traces<'a>(&'a Posterior);

impl Figure for Traces<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        let p = self.0;
        root.fill(&WHITE).map_err(e)?;
        let (title, body) = root.split_vertically(44);
        title
            .draw_text(
                &format!(
                    "Posterior sample: {} chains x {} kept steps (acceptance {:.2}); y: ln(value / set value); \
                     chains that overlap have mixed",
                    p.chains, p.steps, p.acceptance
                ),
                &(FONT_FAMILY, 20).into_text_style(&title),
                (16, 12),
            )
            .map_err(e)?;
        let cols = columns(p.rows.len());
        let panels = body.split_evenly((p.rows.len().div_ceil(cols).max(1), cols));
        for (q, panel) in panels.iter().enumerate().take(p.rows.len()) {
            let row = &p.rows[q];
            let lines = paths(p, q);
            let (lo, hi) = lines
                .iter()
                .flatten()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, y)| {
                    (lo.min(y), hi.max(y))
                });
            let (lo, hi) = if lo.is_finite() && hi > lo {
                let pad = 0.05 * (hi - lo);
                (lo - pad, hi + pad)
            } else {
                (-1.0, 1.0)
            };
            let caption = format!(
                "{}  R-hat {}  ESS {:.0}",
                row.name,
                row.r_hat.map_or("-".to_string(), |r| format!("{r:.2}")),
                row.ess
            );
            let mut chart = ChartBuilder::on(panel)
                .caption(caption, (FONT_FAMILY, 14))
                .margin(6)
                .x_label_area_size(22)
                .y_label_area_size(44)
                .build_cartesian_2d(0.0..p.steps.max(1) as f64, lo..hi)
                .map_err(e)?;
            chart
                .configure_mesh()
                .x_labels(4)
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_labels(4)
                .label_style((FONT_FAMILY, 11))
                .draw()
                .map_err(e)?;
            for (c, line) in lines.into_iter().enumerate() {
                chart
                    .draw_series(LineSeries::new(line, series_colour(c).mix(0.7).stroke_width(1)))
                    .map_err(e)?;
            }
        }
        root.present().map_err(e)
    }
}

/// Draws `<stem>.png` and `<stem>.svg`: the trace of every sampled quantity, chain by chain.
pub fn trace_figure(stem: &Path, p: &Posterior) -> Result<[PathBuf; 2]> {
    let cols = columns(p.rows.len());
    let rows = p.rows.len().div_ceil(cols).max(1) as u32;
    write_figure(stem, (100 + 400 * cols as u32, 44 + 190 * rows), &Traces(p))
}
