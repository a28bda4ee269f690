//! Writing result files: atomically, and with tidy CSV layouts.
//!
//! Every file is written to a temporary sibling first and renamed into place, so a reader never sees a
//! half-written file and an interrupted run never destroys the previous output. [`write_atomic`] reports
//! whether it replaced an existing file, so callers can say so.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::state::full_names;
use crate::model::{GradeScale, Model};
use crate::simulate::Trajectory;

/// Whether a write created a file or replaced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The file did not exist before.
    Created,
    /// An existing file was replaced.
    Replaced,
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, flushed, then renamed);
/// missing parent directories are created.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<Written> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io)?;
    let existed = path.exists();
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid("out", path.display(), "must name a file"))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(if existed { Written::Replaced } else { Written::Created })
}

/// One row per observation: `day, ALC, CD4, CD8, CD19, NK, grade`, the drug concentrations, then all 15
/// states by name. Counts in cells/µL, alemtuzumab in µg/mL, cladribine in ng/mL.
pub fn trajectory_csv(model: &Model, traj: &Trajectory, scale: &GradeScale) -> String {
    let mut s = String::from("day,ALC,CD4,CD8,CD19,NK,grade,alemtuzumab_ug_per_mL,cladribine_ng_per_mL");
    for n in full_names() {
        s.push(',');
        s.push_str(n);
    }
    s.push('\n');
    for (d, y) in traj.days.iter().zip(&traj.states) {
        let o = model.observe(y);
        s.push_str(&format!(
            "{d},{:.6},{:.6},{:.6},{:.6},{:.6},{},{:.6e},{:.6e}",
            o.alc,
            o.cd4,
            o.cd8,
            o.cd19,
            o.nk,
            scale.grade(o.alc),
            o.alemtuzumab_ug_per_ml,
            o.cladribine_ng_per_ml
        ));
        for v in y {
            s.push_str(&format!(",{v:.9e}"));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_reports_replacement_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("lymphosim-test-{}", std::process::id()));
        let p = dir.join("sub/x.csv");
        assert_eq!(write_atomic(&p, b"a").unwrap(), Written::Created);
        assert_eq!(write_atomic(&p, b"b").unwrap(), Written::Replaced);
        assert_eq!(fs::read(&p).unwrap(), b"b");
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
