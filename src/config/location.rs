//! Where a value was written: the file it came from and its line and column, so that
//! every later error (an unknown column found at run time included) can point back into
//! the user's file.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A project file as read from disk, after `${VAR}` interpolation.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as shown to the user (relative to the working directory when possible).
    pub display: String,
    pub path: PathBuf,
    pub text: String,
}

/// A position in a project file; `line` and `column` are 1-based, character columns.
#[derive(Clone, Debug)]
pub struct Loc {
    pub file: Arc<SourceFile>,
    pub line: usize,
    pub column: usize,
    /// Length of the marked token in characters (at least 1).
    pub len: usize,
}

impl Loc {
    pub fn file_display(&self) -> &str {
        &self.file.display
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lines count from 1: line 0 is a place with no lines (the command line).
        match self.line {
            0 => write!(f, "{}", self.file.display),
            line => write!(f, "{}:{line}:{}", self.file.display, self.column),
        }
    }
}

/// A value together with where it was written.
#[derive(Clone, Debug)]
pub struct Located<T> {
    pub value: T,
    pub loc: Loc,
}

impl<T> Located<T> {
    pub fn new(value: T, loc: Loc) -> Self {
        Self { value, loc }
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}
