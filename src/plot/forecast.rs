//! One patient's forecast: their labs, the fit, and the posterior predictive bands under a few plans — ALC above
//! with the CTCAE grade bands behind it, CD4 below with the 200 cells/µL line.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{legend, write_figure, Figure, FONT_FAMILY};
use crate::error::Result;
use crate::forecast::{BandRow, Forecast, LabObservation, Plan};
use crate::model::{Count, GradeScale};
use crate::units::DAYS_PER_MONTH;

// The grade bands (grade 1 → 4) in the patient figure's colours.
use super::patient::BAND as GRADE;

/// Colour of each plan: grey for no cladribine, then teal, purple, orange for the start days.
fn plan_colour(i: usize) -> RGBColor {
    [
        RGBColor(110, 110, 110),
        RGBColor(0, 128, 128),
        RGBColor(120, 80, 170),
        RGBColor(220, 110, 0),
    ][i.min(3)]
}

/// A plan's legend entry; a cladribine plan in the start-date table also shows its two risks.
fn plan_name(p: Plan, f: &Forecast) -> String {
    match p {
        Plan::NoCladribine => "no cladribine".into(),
        Plan::CladribineAt(d) => {
            let risks = f.table.iter().find(|r| r.start_day == d).map_or(String::new(), |r| {
                let pct = |p: Option<f64>| p.map_or("-".into(), |x| format!("{:.0} %", 100.0 * x));
                format!(
                    " (P(G≥3) {}, P(CD4<200) {})",
                    pct(r.p_grade_ge3),
                    pct(r.p_cd4_below_200)
                )
            });
            format!("cladribine from month {:.0}{risks}", d / DAYS_PER_MONTH)
        }
    }
}

struct ForecastFigure<'a> {
    forecast: &'a Forecast,
    labs: &'a [LabObservation],
    scale: &'a GradeScale,
    title: &'a str,
}

impl ForecastFigure<'_> {
    /// The plans in the order they were computed.
    fn plans(&self) -> Vec<Plan> {
        let mut plans: Vec<Plan> = Vec::new();
        for r in &self.forecast.bands {
            if !plans.contains(&r.plan) {
                plans.push(r.plan);
            }
        }
        plans
    }

    /// One count's rows of one plan, from the plan's start on (a cladribine plan equals "none" before it).
    fn rows(&self, plan: Plan, count: Count) -> Vec<&BandRow> {
        let from = match plan {
            Plan::NoCladribine => f64::NEG_INFINITY,
            Plan::CladribineAt(d) => d - 7.0,
        };
        self.forecast
            .bands
            .iter()
            .filter(|r| r.plan == plan && r.count == count && r.day >= from)
            .collect()
    }

    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        count: Count,
        bottom: bool,
    ) -> std::result::Result<(), String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        let m = |d: f64| d / DAYS_PER_MONTH;
        let last_day = self.forecast.bands.iter().map(|r| r.day).fold(1.0, f64::max);
        let last_lab = self.labs.last().map_or(0.0, |o| o.day);
        let t_end = m(last_day);
        let labs: Vec<&LabObservation> = self.labs.iter().filter(|o| o.count == count).collect();
        let band_max = self
            .forecast
            .bands
            .iter()
            .filter(|r| r.count == count)
            .filter_map(|r| r.quantiles[3])
            .fold(0.0, f64::max);
        let lab_max = labs.iter().map(|o| o.cells_per_ul).fold(0.0, f64::max);
        let floor = match count {
            Count::Alc => self.scale.lln(),
            _ => 400.0,
        };
        // Head-room above the curves for the legend.
        let y_max = band_max.max(lab_max).max(floor) * 1.6;
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(if bottom { 44 } else { 30 })
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..t_end, 0f64..y_max)
            .map_err(e)?;
        let int = |v: &f64| format!("{v:.0}");
        let mut mesh = chart.configure_mesh();
        mesh.y_desc(format!("{} (cells/µL)", count.name()))
            .x_label_formatter(&int)
            .y_label_formatter(&int)
            .label_style((FONT_FAMILY, 14))
            .axis_desc_style((FONT_FAMILY, 16))
            .light_line_style(WHITE.mix(0.0));
        if bottom {
            mesh.x_desc("months since the first dose");
        }
        mesh.draw().map_err(e)?;
        if count == Count::Alc {
            let edges = [self.scale.lln(), 800.0, 500.0, 200.0, 0.0];
            for g in 0..4 {
                let (hi, lo) = (edges[g].min(y_max), edges[g + 1]);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(0.0, lo), (t_end, hi)],
                        GRADE[g].filled(),
                    )))
                    .map_err(e)?
                    .label(format!("grade {}", g + 1))
                    .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], GRADE[g].filled()));
            }
        } else {
            let c = crate::outcome::CD4_PROPHYLAXIS_THRESHOLD;
            let red = RGBColor(200, 30, 30);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, c), (t_end, c)],
                    8,
                    6,
                    red.stroke_width(2),
                ))
                .map_err(e)?
                .label("CD4 = 200 cells/µL")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], red.stroke_width(2)));
        }
        // "Today": the last lab.
        chart
            .draw_series(DashedLineSeries::new(
                vec![(m(last_lab), 0.0), (m(last_lab), y_max)],
                4,
                4,
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(e)?;
        for (i, plan) in self.plans().into_iter().enumerate() {
            let colour = plan_colour(i);
            let rows = self.rows(plan, count);
            let q = |r: &BandRow, k: usize| r.quantiles[k];
            let outer: Vec<(f64, f64)> = rows
                .iter()
                .filter_map(|r| Some((m(r.day), q(r, 4)?)))
                .chain(rows.iter().rev().filter_map(|r| Some((m(r.day), q(r, 0)?))))
                .collect();
            let inner: Vec<(f64, f64)> = rows
                .iter()
                .filter_map(|r| Some((m(r.day), q(r, 3)?)))
                .chain(rows.iter().rev().filter_map(|r| Some((m(r.day), q(r, 1)?))))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(outer, colour.mix(0.12).filled())))
                .map_err(e)?;
            chart
                .draw_series(std::iter::once(Polygon::new(inner, colour.mix(0.25).filled())))
                .map_err(e)?;
            chart
                .draw_series(LineSeries::new(
                    rows.iter().filter_map(|r| Some((m(r.day), q(r, 2)?))),
                    colour.stroke_width(2),
                ))
                .map_err(e)?
                .label(plan_name(plan, self.forecast))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], colour.mix(0.5).filled()));
            if let Plan::CladribineAt(d) = plan {
                chart
                    .draw_series(std::iter::once(TriangleMarker::new(
                        (m(d), y_max * 0.97),
                        7,
                        colour.filled(),
                    )))
                    .map_err(e)?;
            }
        }
        // The fit (MAP patient) up to the last lab.
        chart
            .draw_series(LineSeries::new(
                self.forecast
                    .fit
                    .iter()
                    .filter(|r| r.count == count && r.day <= last_lab + 7.0)
                    .filter_map(|r| Some((m(r.day), r.quantiles[2]?))),
                BLACK.stroke_width(2),
            ))
            .map_err(e)?
            .label("fit to the labs (MAP); bands: median, 50 % and 90 %")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
        chart
            .draw_series(
                labs.iter()
                    .filter(|o| !o.below_detection)
                    .map(|o| Circle::new((m(o.day.max(0.0)), o.cells_per_ul), 5, BLACK.filled())),
            )
            .map_err(e)?
            .label("measured")
            .legend(|(x, y)| Circle::new((x + 8, y), 5, BLACK.filled()));
        let below: Vec<_> = labs.iter().filter(|o| o.below_detection).collect();
        if !below.is_empty() {
            chart
                .draw_series(
                    below
                        .iter()
                        .map(|o| TriangleMarker::new((m(o.day.max(0.0)), o.cells_per_ul), 6, BLACK.stroke_width(2))),
                )
                .map_err(e)?
                .label("below detection (at the limit)");
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, 13).map_err(e)?;
        Ok(())
    }
}

impl Figure for ForecastFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        root.fill(&WHITE).map_err(e)?;
        let root = root.titled(self.title, (FONT_FAMILY, 22)).map_err(e)?;
        let (top, bottom) = root.split_vertically(root.dim_in_pixel().1 / 2);
        self.panel(&top, Count::Alc, false)?;
        self.panel(&bottom, Count::Cd4, true)?;
        root.present().map_err(e)?;
        Ok(())
    }
}

/// Draws a forecast as `<stem>.png` and `<stem>.svg`: the patient's ALC (CTCAE grade bands behind) and CD4 (the
/// 200 cells/µL line), their labs as dots, the fit to them, and the median with 50 % and 90 % posterior predictive
/// bands under each plan from its start; returns the two paths.
pub fn forecast_figure(
    stem: &Path,
    forecast: &Forecast,
    labs: &[LabObservation],
    scale: &GradeScale,
    title: &str,
) -> Result<[PathBuf; 2]> {
    write_figure(
        stem,
        (1200, 1000),
        &ForecastFigure {
            forecast,
            labs,
            scale,
            title,
        },
    )
}
