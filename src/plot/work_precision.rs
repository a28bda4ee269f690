//! The work-precision diagram: error against time per patient, log-log, one line per method, one panel per
//! regimen.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{legend, series_colour, write_figure, Figure, FONT_FAMILY};
use crate::error::Result;
use crate::work_precision::{Study, TARGET_ERROR};

struct Diagram<'a>(&'a Study);

impl Figure for Diagram<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        draw(root, self.0)
    }
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: &Study) -> std::result::Result<(), String> {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let (title, body) = root.split_vertically(44);
    title
        .draw_text(
            &format!(
                "Work-precision: {}10 years, daily observations (lower left is better)",
                if s.patients > 0 {
                    format!("{} patients per regimen, ", s.patients)
                } else {
                    String::new()
                }
            ),
            &(FONT_FAMILY, 22).into_text_style(&title),
            (16, 12),
        )
        .map_err(e)?;
    let mut candidates: Vec<String> = Vec::new();
    for r in &s.rows {
        if !candidates.contains(&r.candidate) {
            candidates.push(r.candidate.clone());
        }
    }
    let finite: Vec<_> = s.rows.iter().filter(|r| r.error.is_finite() && r.error > 0.0).collect();
    let t_min = finite.iter().map(|r| r.us_per_patient).fold(f64::INFINITY, f64::min) / 1.5;
    let t_max = finite.iter().map(|r| r.us_per_patient).fold(0.0, f64::max) * 1.5;
    let e_min = finite
        .iter()
        .map(|r| r.error)
        .fold(f64::INFINITY, f64::min)
        .min(TARGET_ERROR)
        / 3.0;
    let e_max = finite.iter().map(|r| r.error).fold(0.0, f64::max).max(TARGET_ERROR) * 3.0;
    if finite.is_empty() {
        return Ok(());
    }
    let regimens: Vec<&str> = s.references.iter().map(|r| r.regimen.as_str()).collect();
    let panels = body.split_evenly((1, regimens.len().max(1)));
    for (pi, (panel, regimen)) in panels.iter().zip(&regimens).enumerate() {
        let mut chart = ChartBuilder::on(panel)
            .caption(*regimen, (FONT_FAMILY, 20))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d((t_min..t_max).log_scale(), (e_min..e_max).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("time per patient (µs, one thread)")
            .y_desc("max relative error (1 cell/µL floor)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .label_style((FONT_FAMILY, 13))
            .axis_desc_style((FONT_FAMILY, 15))
            .draw()
            .map_err(e)?;
        let target = BLACK.mix(0.6);
        let series = chart
            .draw_series(DashedLineSeries::new(
                vec![(t_min, TARGET_ERROR), (t_max, TARGET_ERROR)],
                6,
                5,
                target.stroke_width(1),
            ))
            .map_err(e)?;
        if pi == 0 {
            series
                .label(format!("target error {TARGET_ERROR:.0e}"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], target.stroke_width(1)));
        }
        for (ci, cand) in candidates.iter().enumerate() {
            let mut pts: Vec<(f64, f64)> = s
                .rows
                .iter()
                .filter(|r| r.regimen == *regimen && &r.candidate == cand && r.error.is_finite() && r.error > 0.0)
                .map(|r| (r.us_per_patient, r.error))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            if pts.is_empty() {
                continue;
            }
            let col = series_colour(ci); // stable across panels
            let series = chart
                .draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)).point_size(4))
                .map_err(e)?;
            if pi == 0 {
                series
                    .label(cand.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
            }
        }
        if pi == 0 {
            legend(&mut chart, SeriesLabelPosition::UpperRight, 13).map_err(e)?;
        }
    }
    root.present().map_err(e)
}

/// Draws `<dir>/work-precision.png` and `.svg`.
pub fn work_precision_figure(dir: &Path, s: &Study) -> Result<[PathBuf; 2]> {
    write_figure(&dir.join("work-precision"), (1800, 700), &Diagram(s))
}
