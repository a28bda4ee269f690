//! The blood counts, by name.

/// A blood count the model reports and a lab gate or an outcome can read (cells/µL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Count {
    /// Absolute lymphocyte count.
    Alc,
    /// CD4+ T cells.
    Cd4,
    /// CD8+ T cells.
    Cd8,
    /// CD19+ B cells.
    Cd19,
    /// NK cells.
    Nk,
}

impl Count {
    /// All observables.
    pub const ALL: [Count; 5] = [Count::Alc, Count::Cd4, Count::Cd8, Count::Cd19, Count::Nk];

    /// Name as in outputs (`ALC`, `CD4` …).
    pub fn name(self) -> &'static str {
        match self {
            Count::Alc => "ALC",
            Count::Cd4 => "CD4",
            Count::Cd8 => "CD8",
            Count::Cd19 => "CD19",
            Count::Nk => "NK",
        }
    }

    /// Parses `ALC`, `CD4`, `CD8`, `CD19` or `NK` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        Count::ALL.into_iter().find(|o| o.name().eq_ignore_ascii_case(s))
    }

    /// Reads the value (cells/µL) from observables.
    pub fn of(self, o: &super::Observables) -> f64 {
        match self {
            Count::Alc => o.alc,
            Count::Cd4 => o.cd4,
            Count::Cd8 => o.cd8,
            Count::Cd19 => o.cd19,
            Count::Nk => o.nk,
        }
    }
}
