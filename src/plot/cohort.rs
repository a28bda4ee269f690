//! Cohort figures: fan charts of each subset over time, and risk curves over a sweep.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{legend, write_figure, Figure, FONT_FAMILY};
use crate::cohort::report::Summary;
use crate::cohort::summary::{ArmAccumulator, BAND_SUBSETS};
use crate::error::Result;
use crate::units::DAYS_PER_MONTH;

const BLUE: RGBColor = RGBColor(31, 119, 180);
const GRADE: [RGBColor; 4] = [
    RGBColor(255, 247, 214),
    RGBColor(255, 230, 191),
    RGBColor(252, 205, 190),
    RGBColor(240, 180, 190),
];

/// A file-name-safe version of an arm name.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .collect()
}

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

fn fan_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    a: &ArmAccumulator,
    subset: usize,
    lln: f64,
) -> std::result::Result<(), String> {
    let months: Vec<f64> = a.band_days.iter().map(|d| d / DAYS_PER_MONTH).collect();
    let q = |p: f64| -> Vec<f64> { a.bands.iter().map(|hs| hs[subset].quantile(p).unwrap_or(0.0)).collect() };
    let (p5, p25, p50, p75, p95) = (q(0.05), q(0.25), q(0.5), q(0.75), q(0.95));
    let t_end = months.last().copied().unwrap_or(1.0).max(1e-9);
    let y_max = p95.iter().copied().fold(if subset == 0 { lln } else { 1.0 }, f64::max) * 1.1;
    let name = BAND_SUBSETS[subset];
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{name}: median, 50 % and 90 % of patients"), (FONT_FAMILY, 17))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(58)
        .build_cartesian_2d(0f64..t_end, 0f64..y_max)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("months since first dose")
        .y_desc(format!("{name} (cells/µL)"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT_FAMILY, 13))
        .axis_desc_style((FONT_FAMILY, 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    if subset == 0 {
        let edges = [lln, 800.0, 500.0, 200.0, 0.0];
        for g in 0..4 {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, edges[g + 1]), (t_end, edges[g])],
                    GRADE[g].filled(),
                )))
                .map_err(e)?
                .label(format!("grade {}", g + 1))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], GRADE[g].filled()));
        }
    }
    let band = |lo: &[f64], hi: &[f64]| -> Vec<(f64, f64)> {
        months
            .iter()
            .zip(hi)
            .map(|(m, v)| (*m, *v))
            .chain(months.iter().zip(lo).rev().map(|(m, v)| (*m, *v)))
            .collect()
    };
    chart
        .draw_series(std::iter::once(Polygon::new(band(&p5, &p95), BLUE.mix(0.18))))
        .map_err(e)?
        .label("5-95 %")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], BLUE.mix(0.18).filled()));
    chart
        .draw_series(std::iter::once(Polygon::new(band(&p25, &p75), BLUE.mix(0.35))))
        .map_err(e)?
        .label("25-75 %")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], BLUE.mix(0.35).filled()));
    chart
        .draw_series(LineSeries::new(
            months.iter().zip(&p50).map(|(m, v)| (*m, *v)),
            BLUE.stroke_width(2),
        ))
        .map_err(e)?
        .label("median")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], BLUE.stroke_width(2)));
    // The switch: the median reference day of the patients who reached it (none drawn when it is day 0).
    if let Some(day) = a.reference_days.quantile(0.5).filter(|d| *d > 0) {
        let m = day as f64 / crate::units::DAYS_PER_MONTH;
        let grey = BLACK.mix(0.6);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(m, 0.0), (m, y_max)],
                6,
                4,
                grey.stroke_width(2),
            ))
            .map_err(e)?
            .label(format!("switch (median day {day})"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], grey.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight, 12).map_err(e)?;
    Ok(())
}

fn fan<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    a: &ArmAccumulator,
    lln: f64,
    title: &str,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(e)?;
    let root = root.titled(title, (FONT_FAMILY, 22)).map_err(e)?;
    let panels = root.split_evenly((2, 2));
    for (i, p) in panels.iter().enumerate() {
        fan_panel(p, a, i, lln)?;
    }
    root.present().map_err(e)
}

struct Fan<'a> {
    arm: &'a ArmAccumulator,
    lln: f64,
}

impl Figure for Fan<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let title = format!(
            "{} ({} patients simulated, {} analysed)",
            self.arm.name,
            self.arm.patients,
            self.arm.analysed()
        );
        fan(root, self.arm, self.lln, &title)
    }
}

/// The file stem of arm number `index` (0-based): its 1-based number first, so two arms never share a file
/// whatever their names (names that differ only in punctuation, decimal values), then the name for reading.
fn arm_stem(kind: &str, index: usize, name: &str) -> String {
    format!("{kind}-{:02}-{}", index + 1, slug(name))
}

/// Fan charts of ALC, CD4, CD8 and CD19 for arm number `index` (0-based), as `<dir>/fan-<NN>-<arm>.png` and
/// `.svg`.
pub fn fan_chart(dir: &Path, index: usize, a: &ArmAccumulator, lln: f64) -> Result<[PathBuf; 2]> {
    write_figure(
        &dir.join(arm_stem("fan", index, &a.name)),
        (1400, 1000),
        &Fan { arm: a, lln },
    )
}

/// The spread of P(worst grade ≥ 3) over parameter sets drawn from a set's posterior (`run --uncertainty N`), per
/// sweep value of the first base arm: `(value, 5th percentile, 95th percentile)`, as fractions.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterBand {
    /// Number of parameter sets.
    pub sets: usize,
    /// `(sweep value, 5th percentile, 95th percentile)`.
    pub points: Vec<(f64, f64, f64)>,
}

fn risk<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &Summary,
    band: Option<&ParameterBand>,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(e)?;
    let param = s.sweep_parameter.clone().unwrap_or_default();
    let Some(c) = s.sweep.first() else { return Ok(()) };
    let x_max = c.values.iter().copied().fold(0.0, f64::max) * 1.05;
    let x_min = c.values.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
    let x_label = if param == "interval_months" {
        "months from the last alemtuzumab infusion to cladribine".to_string()
    } else {
        param.clone()
    };
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "{}: risk after the switch ({} patients per point)",
                s.scenario, s.patients
            ),
            (FONT_FAMILY, 22),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x_min..x_max, 0f64..100f64)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc("patients (%)")
        .label_style((FONT_FAMILY, 15))
        .axis_desc_style((FONT_FAMILY, 16))
        .draw()
        .map_err(e)?;
    let curves: [(&str, RGBColor, Vec<crate::cohort::summary::Proportion>); 3] = [
        ("P(worst grade >= 3)", RGBColor(214, 39, 40), c.p_grade_ge3.clone()),
        ("P(CD4 < 200 on any day)", BLUE, c.p_cd4_below_200.clone()),
        (
            "P(cladribine delayed by the rules)",
            RGBColor(120, 120, 120),
            c.p_delayed.clone(),
        ),
    ];
    for (name, col, ps) in curves {
        // Values whose risk could not be computed (no patient reached the reference day) are left out, not
        // drawn as zero.
        let known: Vec<(f64, crate::cohort::summary::Proportion)> = c
            .values
            .iter()
            .zip(&ps)
            .filter(|(_, p)| p.value.is_finite())
            .map(|(v, p)| (*v, *p))
            .collect();
        let band: Vec<(f64, f64)> = known
            .iter()
            .map(|(v, p)| (*v, 100.0 * p.ci95[1]))
            .chain(known.iter().rev().map(|(v, p)| (*v, 100.0 * p.ci95[0])))
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(band, col.mix(0.2))))
            .map_err(e)?;
        chart
            .draw_series(
                LineSeries::new(known.iter().map(|(v, p)| (*v, 100.0 * p.value)), col.stroke_width(2)).point_size(4),
            )
            .map_err(e)?
            .label(format!("{name} (95 % CI shaded)"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
    }
    if let Some(pb) = band.filter(|b| !b.points.is_empty()) {
        // The parameter band: outlined, not filled, so the Monte Carlo band stays readable beneath it.
        let col = RGBColor(120, 0, 20);
        for (pick, dash) in [(1usize, 5u32), (2, 5)] {
            let line: Vec<(f64, f64)> = pb
                .points
                .iter()
                .map(|p| (p.0, 100.0 * if pick == 1 { p.1 } else { p.2 }))
                .collect();
            let series = chart
                .draw_series(DashedLineSeries::new(line, dash, 4, col.stroke_width(2)))
                .map_err(e)?;
            if pick == 1 {
                series
                    .label(format!("P(worst grade >= 3): 5-95 % over {} parameter sets", pb.sets))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
            }
        }
    }
    if let Some(b) = &s.bound {
        let endpoint = b.endpoint;
        let reference = s
            .reference_arm
            .as_ref()
            .and_then(|name| s.arms.iter().find(|a| &a.name == name))
            .map(|a| endpoint.of(a).value)
            .filter(|v| v.is_finite());
        let mut lines: Vec<(f64, String, RGBAColor)> = Vec::new();
        if let Some(max) = b.max {
            lines.push((
                max,
                format!("bound: {endpoint} <= {:.1} %", 100.0 * max),
                BLACK.mix(0.7),
            ));
        }
        if let Some(r) = reference {
            lines.push((
                r,
                format!("reference arm ({endpoint}): {:.1} %", 100.0 * r),
                RGBColor(214, 39, 40).mix(0.5),
            ));
            if let Some(d) = b.max_above_reference {
                lines.push((
                    r + d,
                    format!("bound: reference + {:.1} points", 100.0 * d),
                    BLACK.mix(0.4),
                ));
            }
        }
        for (y, label, col) in lines {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x_min, 100.0 * y), (x_max, 100.0 * y)],
                    8,
                    6,
                    col.stroke_width(2),
                ))
                .map_err(e)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, 14).map_err(e)?;
    root.present().map_err(e)
}

struct Risk<'a>(&'a Summary, Option<&'a ParameterBand>);

impl Figure for Risk<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        risk(root, self.0, self.1)
    }
}

/// Risk curves over the sweep (first base arm) as `<dir>/risk.png` and `.svg`, with the parameter band of
/// P(worst grade ≥ 3) when one is given; `None` without a sweep.
pub fn risk_curves(dir: &Path, s: &Summary, band: Option<&ParameterBand>) -> Result<Option<[PathBuf; 2]>> {
    if s.sweep.is_empty() {
        return Ok(None);
    }
    write_figure(&dir.join("risk"), (1200, 750), &Risk(s, band)).map(Some)
}

/// Fill colours of CTCAE lymphopenia grades 0–4 in the stacked grade figure.
const GRADE_FILL: [RGBColor; 5] = [
    RGBColor(222, 235, 247),
    RGBColor(254, 224, 139),
    RGBColor(253, 174, 97),
    RGBColor(244, 109, 67),
    RGBColor(165, 0, 38),
];

struct GradeAreas<'a> {
    arm: &'a ArmAccumulator,
    lln: f64,
}

impl Figure for GradeAreas<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let a = self.arm;
        root.fill(&WHITE).map_err(e)?;
        let months: Vec<f64> = a.band_days.iter().map(|d| d / DAYS_PER_MONTH).collect();
        let t_end = months.last().copied().unwrap_or(1.0).max(1e-9);
        // Cumulative percentages from the top grade down, so grade 4 sits at the bottom of the stack.
        let pct = |k: usize, g: usize| -> f64 {
            let n: u64 = a.grades[k].iter().sum();
            if n == 0 {
                0.0
            } else {
                100.0 * a.grades[k][g] as f64 / n as f64
            }
        };
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "{}: patients by CTCAE lymphopenia grade over time ({} patients, LLN {:.0} cells/µL)",
                    a.name, a.patients, self.lln
                ),
                (FONT_FAMILY, 20),
            )
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..t_end, 0f64..100f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("months since first dose")
            .y_desc("patients (%)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT_FAMILY, 14))
            .axis_desc_style((FONT_FAMILY, 15))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(e)?;
        let bounds = [
            "grade 0 (ALC >= LLN)",
            "grade 1 (800 to < LLN)",
            "grade 2 (500-799)",
            "grade 3 (200-499)",
            "grade 4 (< 200)",
        ];
        // Stack from grade 4 (bottom) up to grade 0 (top).
        let mut lower = vec![0.0; months.len()];
        for g in (0..5).rev() {
            let upper: Vec<f64> = (0..months.len()).map(|k| lower[k] + pct(k, g)).collect();
            let poly: Vec<(f64, f64)> = months
                .iter()
                .zip(&upper)
                .map(|(m, v)| (*m, *v))
                .chain(months.iter().zip(&lower).rev().map(|(m, v)| (*m, *v)))
                .collect();
            let fill = GRADE_FILL[g];
            chart
                .draw_series(std::iter::once(Polygon::new(poly, fill.filled())))
                .map_err(e)?
                .label(bounds[g])
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], fill.filled()));
            lower = upper;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, 13).map_err(e)?;
        root.present().map_err(e)
    }
}

/// The grade distribution over time for arm number `index` (0-based), stacked areas, as
/// `<dir>/grades-<NN>-<arm>.png` and `.svg`.
pub fn grade_areas(dir: &Path, index: usize, a: &ArmAccumulator, lln: f64) -> Result<[PathBuf; 2]> {
    write_figure(
        &dir.join(arm_stem("grades", index, &a.name)),
        (1200, 650),
        &GradeAreas { arm: a, lln },
    )
}
