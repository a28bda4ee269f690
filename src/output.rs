//! Writing result files: atomically, and with tidy CSV layouts.
//!
//! Every file is written to a temporary sibling first and renamed into place, so a reader never sees a
//! half-written file and an interrupted run never destroys the previous output. [`write_atomic`] reports
//! whether it replaced an existing file, so callers can say so, and refuses to replace anything that is not a
//! regular file (a symlink, a device such as `/dev/null`, a FIFO, a directory).
//!
//! A cohort's result directory is one unit ([`ResultDir`]): every file is written into a fresh staging
//! directory beside the target, which is swapped in whole at the end. A reader sees the old result or the new
//! one, never a mix; stale files of an earlier run (another scenario, `--no-patients`, `--no-plots`) cannot
//! survive; an interrupted run leaves the previous result untouched.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    let existed = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => true,
        Ok(m) => {
            let kind = if m.file_type().is_symlink() {
                "a symbolic link"
            } else if m.is_dir() {
                "a directory"
            } else {
                "not a regular file (a device, FIFO or socket)"
            };
            return Err(Error::invalid(
                "out",
                path.display(),
                format!("is {kind}; refusing to replace it with a result file"),
            ));
        }
        Err(_) => false,
    };
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

/// A result directory written as one unit: files go into a staging directory beside the target, which
/// [`ResultDir::commit`] swaps in whole. Dropped without a commit, the staging directory is removed and the
/// target is untouched.
#[derive(Debug)]
pub struct ResultDir {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

/// The file that marks a directory as a lymphosim result (written last by a run).
pub const MARKER: &str = "manifest.json";

impl ResultDir {
    /// Prepares to write `target`: it must be absent, an empty directory, or a directory holding an earlier
    /// lymphosim result (it has a [`MARKER`]); anything else is refused. The staging directory is created now,
    /// so an unwritable location fails before any simulation.
    pub fn begin(target: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: target.to_path_buf(),
            source,
        };
        match fs::symlink_metadata(target) {
            Err(_) => {}
            Ok(m) if m.is_dir() => {
                let empty = fs::read_dir(target).map_err(io)?.next().is_none();
                if !empty && !target.join(MARKER).is_file() {
                    return Err(Error::invalid(
                        "out",
                        target.display(),
                        format!("is a directory that holds no lymphosim result (no {MARKER}); refusing to replace it"),
                    ));
                }
            }
            Ok(_) => {
                return Err(Error::invalid(
                    "out",
                    target.display(),
                    "exists and is not a directory; refusing to replace it",
                ))
            }
        }
        let name = target
            .file_name()
            .ok_or_else(|| Error::invalid("out", target.display(), "must name a directory"))?
            .to_string_lossy()
            .into_owned();
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io)?;
        let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io)?;
        }
        fs::create_dir(&staging).map_err(|source| Error::Io {
            path: staging.clone(),
            source,
        })?;
        Ok(ResultDir {
            target: target.to_path_buf(),
            staging,
            committed: false,
        })
    }

    /// Where to write the files now.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final location.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Swaps the staging directory in for the target (the earlier result, if any, is removed).
    pub fn commit(mut self) -> Result<Written> {
        let io = |source| Error::Io {
            path: self.target.clone(),
            source,
        };
        let existed = self.target.exists();
        if existed {
            let old = self.staging.with_extension("old");
            fs::rename(&self.target, &old).map_err(io)?;
            if let Err(e) = fs::rename(&self.staging, &self.target) {
                let _ = fs::rename(&old, &self.target);
                return Err(io(e));
            }
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&self.staging, &self.target).map_err(io)?;
        }
        self.committed = true;
        Ok(if existed { Written::Replaced } else { Written::Created })
    }
}

impl Drop for ResultDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
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
