//! Load errors: every problem of every scenario file, each with file, line and key.

use std::fmt;

/// One problem in one scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// 1-based; `None` when the problem concerns the whole file (it cannot be read).
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// Where in the document: `steps[3].scan.amount`, `rules[0]`, `id`, ….
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The scenario files could not all be loaded. Lists every problem found.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub struct LoadError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(f, "{count} problem{} in the scenario files:", if count == 1 { "" } else { "s" })?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}
