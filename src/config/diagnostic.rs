//! Problems in the project files, collected rather than returned one at a time, and
//! rendered once with the offending line and a caret (annotate-snippets).

use std::fmt;

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

use super::location::Loc;

/// One problem in a project file.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub message: String,
    pub loc: Option<Loc>,
    /// A short text shown under the caret.
    pub label: Option<String>,
    /// A hint such as "did you mean `row_count`?".
    pub help: Option<String>,
    /// A remark about the other problems rather than a problem of its own.
    pub is_note: bool,
}

impl Diagnostic {
    pub fn at(loc: &Loc, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            loc: Some(loc.clone()),
            label: None,
            help: None,
            is_note: false,
        }
    }

    pub fn plain(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            loc: None,
            label: None,
            help: None,
            is_note: false,
        }
    }

    /// A remark printed after the problems and not counted as one.
    pub fn note(message: impl Into<String>) -> Self {
        Self {
            is_note: true,
            ..Self::plain(message)
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// The diagnostic as text: a title, then the file, line and a caret under the token.
    pub fn render(&self) -> String {
        let Some(loc) = &self.loc else {
            let level = if self.is_note { "note" } else { "error" };
            let mut out = format!("{level}: {}", self.message);
            if let Some(help) = &self.help {
                out.push_str(&format!("\n  = help: {help}"));
            }
            return out;
        };
        let line_text = loc
            .file
            .text
            .lines()
            .nth(loc.line.saturating_sub(1))
            .unwrap_or("");
        let span = char_span_to_bytes(line_text, loc.column, loc.len);
        let path = loc.file.display.as_str();
        let mut annotation = AnnotationKind::Primary.span(span);
        if let Some(label) = &self.label {
            annotation = annotation.label(label.as_str());
        }
        let snippet = Snippet::source(line_text)
            .line_start(loc.line.max(1))
            .path(path)
            .annotation(annotation);
        let mut group = Level::ERROR
            .primary_title(self.message.as_str())
            .element(snippet);
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        Renderer::plain().render(&[group]).to_string()
    }
}

/// Converts a 1-based character column and a length into a byte range of `line`.
fn char_span_to_bytes(line: &str, column: usize, len: usize) -> std::ops::Range<usize> {
    let byte_at = |chars: usize| {
        line.char_indices()
            .nth(chars)
            .map(|(i, _)| i)
            .unwrap_or(line.len())
    };
    let start = byte_at(column.saturating_sub(1));
    let end = byte_at(column.saturating_sub(1) + len.max(1)).max(start);
    start..end
}

/// Every problem found in the project, in the order found.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (notes, problems): (Vec<_>, Vec<_>) = self.0.iter().partition(|d| d.is_note);
        for (i, d) in problems.into_iter().chain(notes).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{}", d.render())?;
        }
        let n = self.0.iter().filter(|d| !d.is_note).count();
        write!(f, "{n} problem{} found", if n == 1 { "" } else { "s" })
    }
}

/// "did you mean `x`?" for the closest candidate, when one is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// The candidate nearest to `word` (case-insensitive edit distance), if close enough.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(word.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let types = ["row_count", "row_count_match", "not_null"];
        assert_eq!(
            did_you_mean("row_cont", types).as_deref(),
            Some("did you mean `row_count`?")
        );
        assert_eq!(
            did_you_mean("notnull", types).as_deref(),
            Some("did you mean `not_null`?")
        );
        assert_eq!(did_you_mean("banana", types), None);
    }

    #[test]
    fn spans_count_characters_not_bytes() {
        assert_eq!(char_span_to_bytes("é: x", 4, 1), 4..5);
        assert_eq!(char_span_to_bytes("ab", 9, 3), 2..2);
    }
}
