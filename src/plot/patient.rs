//! One patient: every subset over time, CTCAE grade bands behind, dose marks on top.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{legend, write_figure, Figure, FONT_FAMILY};
use crate::error::Result;
use crate::model::{GradeScale, Model};
use crate::regimen::{Administration, Drug};
use crate::simulate::Trajectory;
use crate::units::DAYS_PER_MONTH;

/// Reads one subset from the observables.
type Subset = fn(&crate::model::Observables) -> f64;

const Y_MIN: f64 = 1.0;
const Y_MAX: f64 = 5000.0;

/// Colours of the grade bands (grade 1 → 4), light so lines stay readable.
pub(crate) const BAND: [RGBColor; 4] = [
    RGBColor(255, 247, 214),
    RGBColor(255, 230, 191),
    RGBColor(252, 205, 190),
    RGBColor(240, 180, 190),
];

fn dose_colour(d: Drug) -> RGBColor {
    match d {
        Drug::Alemtuzumab => RGBColor(230, 120, 0),
        Drug::Cladribine => RGBColor(0, 128, 128),
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    model: &Model,
    traj: &Trajectory,
    admins: &[Administration],
    scale: &GradeScale,
    title: &str,
) -> std::result::Result<(), String> {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let root = root.titled(title, (FONT_FAMILY, 24)).map_err(e)?;
    let (top, bottom) = root.split_vertically(root.dim_in_pixel().1 * 2 / 5);
    let t_end = (traj.days.last().copied().unwrap_or(1.0) / DAYS_PER_MONTH).max(1e-9);
    let obs = traj.observables(model);
    let months: Vec<f64> = traj.days.iter().map(|d| d / DAYS_PER_MONTH).collect();
    let int = |v: &f64| format!("{v:.0}");

    // Top panel: ALC with the CTCAE grade bands (linear axis, so the bands keep their clinical proportions).
    let alc_max = obs.iter().map(|o| o.alc).fold(scale.lln(), f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&top)
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..t_end, 0f64..alc_max)
        .map_err(e)?;
    chart
        .configure_mesh()
        .y_desc("ALC (cells/µL)")
        .x_label_formatter(&int)
        .y_label_formatter(&int)
        .label_style((FONT_FAMILY, 14))
        .axis_desc_style((FONT_FAMILY, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    let edges = [scale.lln(), 800.0, 500.0, 200.0, 0.0];
    for g in 0..4 {
        let (hi, lo) = (edges[g], edges[g + 1]);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, lo), (t_end, hi)],
                BAND[g].filled(),
            )))
            .map_err(e)?
            .label(format!("grade {}: {:.0}-{:.0}", g + 1, lo, hi))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], BAND[g].filled()));
    }
    chart
        .draw_series(LineSeries::new(
            months.iter().zip(&obs).map(|(m, o)| (*m, o.alc)),
            BLACK.stroke_width(2),
        ))
        .map_err(e)?
        .label("ALC")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
    for drug in [Drug::Alemtuzumab, Drug::Cladribine] {
        let c = dose_colour(drug);
        let ticks: Vec<f64> = admins
            .iter()
            .filter(|a| a.drug == drug)
            .map(|a| a.day / DAYS_PER_MONTH)
            .collect();
        if ticks.is_empty() {
            continue;
        }
        chart
            .draw_series(
                ticks
                    .iter()
                    .map(|&m| PathElement::new(vec![(m, alc_max * 0.9), (m, alc_max)], c.stroke_width(2))),
            )
            .map_err(e)?
            .label(format!("{drug} dose"))
            .legend(move |(x, y)| PathElement::new(vec![(x + 8, y - 7), (x + 8, y + 7)], c.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight, 13).map_err(e)?;

    // Bottom panel: each subset on a log axis.
    let mut chart = ChartBuilder::on(&bottom)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..t_end, (Y_MIN..Y_MAX).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("time since first dose (months)")
        .y_desc("cells/µL (log scale)")
        .x_label_formatter(&int)
        .y_label_formatter(&int)
        .label_style((FONT_FAMILY, 14))
        .axis_desc_style((FONT_FAMILY, 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    for a in admins {
        let m = a.day / DAYS_PER_MONTH;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(m, Y_MIN), (m, Y_MAX)],
                dose_colour(a.drug).mix(0.25),
            )))
            .map_err(e)?;
    }
    let series: [(&str, RGBColor, Subset); 4] = [
        ("CD4", RGBColor(31, 119, 180), |o| o.cd4),
        ("CD8", RGBColor(44, 160, 44), |o| o.cd8),
        ("CD19 (B cells)", RGBColor(214, 39, 40), |o| o.cd19),
        ("NK", RGBColor(148, 103, 189), |o| o.nk),
    ];
    for (name, colour, f) in series {
        chart
            .draw_series(LineSeries::new(
                months.iter().zip(&obs).map(|(m, o)| (*m, f(o).clamp(Y_MIN, Y_MAX))),
                colour.stroke_width(2),
            ))
            .map_err(e)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
    }
    // CD4 = 200 cells/µL: the prophylaxis level the switch question turns on.
    let cd4 = crate::outcome::CD4_PROPHYLAXIS_THRESHOLD;
    let grey = BLACK.mix(0.6);
    let (m0, m1) = (
        months.first().copied().unwrap_or(0.0),
        months.last().copied().unwrap_or(1.0),
    );
    chart
        .draw_series(DashedLineSeries::new(
            vec![(m0, cd4), (m1, cd4)],
            8,
            6,
            grey.stroke_width(2),
        ))
        .map_err(e)?
        .label("CD4 = 200 cells/µL")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(2)));
    legend(&mut chart, SeriesLabelPosition::LowerRight, 13).map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

/// Draws one patient's trajectory beside `path`, replacing its extension with `.png` and `.svg`
/// (`out/patient.csv` → `out/patient.png`, `out/patient.svg`); returns the two paths.
pub fn patient_figure(
    path: &Path,
    model: &Model,
    traj: &Trajectory,
    admins: &[Administration],
    scale: &GradeScale,
    title: &str,
) -> Result<[PathBuf; 2]> {
    struct One<'a> {
        model: &'a Model,
        traj: &'a Trajectory,
        admins: &'a [Administration],
        scale: &'a GradeScale,
        title: &'a str,
    }
    impl Figure for One<'_> {
        fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
            draw(root, self.model, self.traj, self.admins, self.scale, self.title)
        }
    }
    let fig = One {
        model,
        traj,
        admins,
        scale,
        title,
    };
    write_figure(path, (1200, 900), &fig)
}
