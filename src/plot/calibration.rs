//! The calibration figure: every target as one row, the model's deviation in units of the target's tolerance,
//! with the tolerance shaded — a forest plot that reads the same for weeks, cells/µL, percentages and fractions.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{write_figure, Figure, FONT_FAMILY};
use crate::calibration::targets::{TargetValue, Tolerance};
use crate::calibration::typical::Comparison;
use crate::error::Result;

/// Deviations beyond this many tolerances are drawn at the edge, as a cross.
const EDGE: f64 = 4.0;

/// Where a comparison sits on the figure's axis: `(model − centre) / half-width` of the acceptable interval, so
/// that the tolerance is always `[-1, 1]`. A grade distribution sits at its largest component deviation over the
/// tolerance (≥ 0). `None` when not evaluated.
pub fn position(c: &Comparison) -> Option<f64> {
    let m = c.model?;
    let t = &c.target;
    if !m.is_finite() {
        return Some(EDGE);
    }
    if c.kind == crate::calibration::typical::ComparisonKind::LargestComponentDeviation {
        return Some(match t.tolerance {
            Tolerance::Absolute(a) if a > 0.0 => m / a,
            _ => m,
        });
    }
    Some(match (&t.value, &t.tolerance) {
        (TargetValue::Number(v), Tolerance::Relative(r)) => (m - v) / (r * v.abs()).max(1e-12),
        (TargetValue::Number(v), Tolerance::Absolute(a)) => (m - v) / a.max(1e-12),
        (_, Tolerance::Interval(lo, hi)) | (TargetValue::Range(lo, hi), Tolerance::WithinRange) => {
            (m - (lo + hi) / 2.0) / ((hi - lo) / 2.0).max(1e-12)
        }
        _ => return None,
    })
}

/// A number with four significant digits, without trailing noise.
struct Sig(f64);

impl std::fmt::Display for Sig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        let digits = if v == 0.0 {
            0
        } else {
            (3 - v.abs().log10().floor() as i32).max(0) as usize
        };
        write!(f, "{v:.digits$}")
    }
}

struct Forest<'a> {
    rows: &'a [Comparison],
    title: &'a str,
}

impl Figure for Forest<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        root.fill(&WHITE).map_err(e)?;
        let rows: Vec<(&Comparison, f64)> = self.rows.iter().filter_map(|c| position(c).map(|p| (c, p))).collect();
        let n = rows.len().max(1) as f64;
        let (labels, plot) = root.split_horizontally(600);
        let mut chart = ChartBuilder::on(&plot)
            .caption(self.title, (FONT_FAMILY, 20))
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(0)
            .build_cartesian_2d(-EDGE - 0.3..EDGE + 0.3, -0.5..n - 0.5)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_desc("model − target, in units of the target's tolerance (shaded: within tolerance)")
            .label_style((FONT_FAMILY, 13))
            .axis_desc_style((FONT_FAMILY, 14))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(-1.0, -0.5), (1.0, n - 0.5)],
                RGBColor(44, 160, 44).mix(0.15).filled(),
            )))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, n - 0.5)],
                BLACK.mix(0.5).stroke_width(1),
            )))
            .map_err(e)?;
        let label_style = (FONT_FAMILY, 13).into_text_style(&labels);
        let (_, label_top) = labels.get_base_pixel();
        for (i, (c, p)) in rows.iter().enumerate() {
            // First target on top.
            let y = n - 1.0 - i as f64;
            let met = c.within == Some(true);
            let col = if met {
                RGBColor(44, 130, 44)
            } else {
                RGBColor(214, 39, 40)
            };
            let x = p.clamp(-EDGE, EDGE);
            if p.abs() > EDGE {
                chart
                    .draw_series(std::iter::once(Cross::new((x, y), 6, col.stroke_width(2))))
                    .map_err(e)?;
            } else {
                chart
                    .draw_series(std::iter::once(Circle::new((x, y), 5, col.filled())))
                    .map_err(e)?;
            }
            let (_, py) = chart.backend_coord(&(0.0, y));
            let model = match c.model {
                Some(m) if c.kind == crate::calibration::typical::ComparisonKind::LargestComponentDeviation => {
                    format!("largest deviation {m:.3}")
                }
                Some(m) if m.is_finite() => format!("{}", Sig(m)),
                _ => "never".to_string(),
            };
            let text = format!(
                "{} {} {}: {} vs {}{}",
                c.target.id,
                c.target.subset,
                c.target.statistic.chars().take(40).collect::<String>(),
                model,
                c.target.value,
                if met { "" } else { "  ✗" }
            );
            labels
                .draw_text(&text, &label_style, (8, py - label_top - 7))
                .map_err(e)?;
        }
        root.present().map_err(e)
    }
}

/// Draws `<dir>/calibration.png` and `.svg` from a calibration report's comparisons.
pub fn calibration_figure(dir: &Path, rows: &[Comparison], title: &str) -> Result<[PathBuf; 2]> {
    let height = 140 + 22 * rows.len() as u32;
    write_figure(&dir.join("calibration"), (1500, height), &Forest { rows, title })
}
