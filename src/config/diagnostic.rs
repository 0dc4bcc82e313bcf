//! Problems in the project files, collected rather than returned one at a time, and
//! rendered once with the offending line and a caret (annotate-snippets).

use std::fmt;

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

use super::location::Loc;
use crate::shorten;

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
    /// Quoted input is cut (`shorten`), so a megabyte value makes a short message.
    pub fn render(&self) -> String {
        let message = shorten::message(&self.message);
        let help = self.help.as_deref().map(shorten::message);
        let label = self.label.as_deref().map(shorten::message);
        let Some(loc) = &self.loc else {
            let level = if self.is_note { "note" } else { "error" };
            let mut out = format!("{level}: {message}");
            if let Some(help) = &help {
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
        let (line_text, span) = window(line_text, loc.column, loc.len);
        let path = loc.file.display.as_str();
        let mut annotation = AnnotationKind::Primary.span(span);
        if let Some(label) = &label {
            annotation = annotation.label(label.as_ref());
        }
        let snippet = Snippet::source(line_text.as_ref())
            .line_start(loc.line.max(1))
            .path(path)
            .annotation(annotation);
        let mut group = Level::ERROR
            .primary_title(message.as_ref())
            .element(snippet);
        if let Some(help) = &help {
            group = group.element(Level::HELP.message(help.as_ref()));
        }
        Renderer::plain().render(&[group]).to_string()
    }
}

/// Characters of a long line shown before the marked token, and of the token itself.
const WINDOW_BEFORE: usize = 40;
const WINDOW_TOKEN: usize = 60;

/// The line to show and the byte range to mark: the line itself when short, else an
/// excerpt around the token (a rule file line can be a megabyte long).
fn window(
    line: &str,
    column: usize,
    len: usize,
) -> (std::borrow::Cow<'_, str>, std::ops::Range<usize>) {
    if line.len() <= shorten::QUOTE_LIMIT * 2 {
        return (line.into(), char_span_to_bytes(line, column, len));
    }
    let start = column.saturating_sub(1);
    let from = start.saturating_sub(WINDOW_BEFORE);
    let shown = len.clamp(1, WINDOW_TOKEN);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut chars = line.chars().skip(from);
    out.extend(chars.by_ref().take(start - from));
    let span_start = out.len();
    out.extend(chars.by_ref().take(shown));
    let span_end = out.len();
    if chars.next().is_some() {
        out.push('…');
    }
    (out.into(), span_start..span_end.max(span_start))
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

/// Problems rendered in full; the rest are counted. Rendering finds the offending line in
/// its file, so thousands of problems in one large file would take minutes to print.
pub const SHOWN_PROBLEMS: usize = 100;

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (notes, problems): (Vec<_>, Vec<_>) = self.0.iter().partition(|d| d.is_note);
        let n = problems.len();
        let shown = problems.into_iter().take(SHOWN_PROBLEMS);
        for (i, d) in shown.chain(notes).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{}", d.render())?;
        }
        if n > SHOWN_PROBLEMS {
            writeln!(
                f,
                "\nnote: {} more problems are not shown (the first {SHOWN_PROBLEMS} are)",
                n - SHOWN_PROBLEMS
            )?;
        }
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

/// Words longer than this get no suggestion: no name is that long, and the edit distance
/// costs the product of the two lengths.
const SUGGEST_LIMIT: usize = 128;

/// The candidate nearest to `word` (case-insensitive edit distance), if close enough.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if word.len() > SUGGEST_LIMIT {
        return None;
    }
    let lower = word.to_lowercase();
    let word_len = word.chars().count();
    candidates
        .into_iter()
        .filter(|c| c.len() <= SUGGEST_LIMIT)
        .filter_map(|c| {
            let allowed = (c.chars().count().max(word_len) / 3).max(1);
            // The distance is at least the difference in length: skip the computation.
            if c.chars().count().abs_diff(word_len) > allowed {
                return None;
            }
            let d = strsim::damerau_levenshtein(&lower, &c.to_lowercase());
            (d <= allowed).then_some((d, c))
        })
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
    fn giant_words_get_no_suggestion_and_a_short_rendering() {
        let giant = "x".repeat(1 << 20);
        assert_eq!(closest(&giant, ["row_count"]), None);
        assert_eq!(closest("row_count", [giant.as_str()]), None);
        let file = std::sync::Arc::new(super::super::location::SourceFile {
            display: "r.yaml".into(),
            path: "r.yaml".into(),
            text: format!("rules:\n  - type: {giant}\n"),
        });
        let loc = Loc {
            file,
            line: 2,
            column: 11,
            len: giant.len(),
        };
        let text = Diagnostic::at(&loc, format!("unknown rule type `{giant}`"))
            .with_label(format!("not `{giant}`"))
            .render();
        assert!(text.len() < 1000, "{text}");
        assert!(
            text.contains("r.yaml:2:11") && text.contains("(1048576 bytes)"),
            "{text}"
        );
    }

    #[test]
    fn thousands_of_problems_print_the_first_hundred_and_a_count() {
        let mut diags = Diagnostics::default();
        for i in 0..5000 {
            diags.push(Diagnostic::plain(format!("problem {i}")));
        }
        diags.push(Diagnostic::note("a note"));
        let text = diags.to_string();
        assert!(
            text.contains("problem 99\n") && !text.contains("problem 100\n"),
            "{text}"
        );
        assert!(text.contains("note: a note"), "{text}");
        assert!(text.contains("4900 more problems are not shown"), "{text}");
        assert!(text.ends_with("5000 problems found"), "{text}");
    }

    #[test]
    fn spans_count_characters_not_bytes() {
        assert_eq!(char_span_to_bytes("é: x", 4, 1), 4..5);
        assert_eq!(char_span_to_bytes("ab", 9, 3), 2..2);
    }
}
