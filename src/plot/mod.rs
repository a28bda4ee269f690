//! Figures, drawn with plotters.
//!
//! Text is rendered through plotters' pure-Rust `ab_glyph` path with a bundled font (DejaVu Sans, Bitstream
//! Vera licence, `assets/fonts/`), so figures render on a machine without fontconfig or FreeType. Every figure
//! is written as PNG and SVG, atomically (temporary file, then rename).

mod calibration;
mod cohort;
mod forecast;
mod patient;
mod posterior;
mod work_precision;

pub use calibration::calibration_figure;
pub use cohort::{fan_chart, grade_areas, risk_curves, slug, ParameterBand};
pub use forecast::forecast_figure;
pub use patient::patient_figure;
pub use posterior::trace_figure;
pub use work_precision::work_precision_figure;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle};

use crate::error::{Error, Result};
use crate::output::{write_atomic, Written};

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Font family name used by every figure.
pub const FONT_FAMILY: &str = "sans-serif";

/// Registers the bundled font with plotters (once per process).
pub fn ensure_font() -> Result<()> {
    if *REGISTERED.get_or_init(|| register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_ok()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "font",
            "assets/fonts/DejaVuSans.ttf",
            "the bundled font could not be parsed",
        ))
    }
}

/// The legend style of every figure: lower right (or `position`), translucent white, thin border.
pub(crate) fn legend<'a, DB: plotters::prelude::DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut plotters::prelude::ChartContext<'a, DB, CT>,
    position: plotters::prelude::SeriesLabelPosition,
    font_size: u32,
) -> std::result::Result<(), plotters::prelude::DrawingAreaErrorKind<DB::ErrorType>> {
    use plotters::prelude::*;
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT_FAMILY, font_size))
        .draw()
}

/// The colour of the `i`-th series of a figure (methods, chains), cycling through eight distinct colours.
pub(crate) fn series_colour(i: usize) -> plotters::style::RGBColor {
    use plotters::style::RGBColor;
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

/// A plotting failure, as a crate error naming the file.
pub(crate) fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Plot {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Renders a PNG through a temporary sibling file, then renames it into place.
pub(crate) fn png_atomic(path: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<Written> {
    let existed = path.exists();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{name}.tmp-{}.png", std::process::id()));
    if let Err(e) = draw(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(if existed { Written::Replaced } else { Written::Created })
}

/// A figure that can draw itself on any plotters backend (so one drawing serves PNG and SVG).
pub(crate) trait Figure {
    /// Draws the whole figure on `root`; errors are plotters' messages.
    fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> std::result::Result<(), String>;
}

/// Draws `fig` as `<stem>.png` and `<stem>.svg` (`size` in pixels), both written atomically.
pub(crate) fn write_figure(stem: &Path, size: (u32, u32), fig: &impl Figure) -> Result<[PathBuf; 2]> {
    use plotters::prelude::*;
    ensure_font()?;
    let (png, svg) = (stem.with_extension("png"), stem.with_extension("svg"));
    png_atomic(&png, |tmp| {
        fig.draw(&BitMapBackend::new(tmp, size).into_drawing_area())
            .map_err(|m| plot_error(&png, m))
    })?;
    let mut text = String::new();
    fig.draw(&SVGBackend::with_string(&mut text, size).into_drawing_area())
        .map_err(|m| plot_error(&svg, m))?;
    svg_atomic(&svg, &text)?;
    Ok([png, svg])
}

/// Writes an SVG string atomically.
pub(crate) fn svg_atomic(path: &Path, svg: &str) -> Result<Written> {
    write_atomic(path, svg.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundled_font_registers() {
        super::ensure_font().unwrap();
        super::ensure_font().unwrap();
    }
}
