//! Sensitive columns (`sensitive:` in crosscheck.yaml) never leave the process in clear:
//! their sample values become `sha256:` and 8 hex digits, so equal values still look equal.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Compiled `sensitive` patterns: `TABLE.COLUMN`, `SOURCE.TABLE.COLUMN`, `*` and `?` globs.
#[derive(Clone, Debug, Default)]
pub struct Masker {
    patterns: Vec<String>,
}

impl Masker {
    pub fn new(patterns: &[String]) -> Self {
        Self {
            patterns: patterns.iter().map(|p| p.to_lowercase()).collect(),
        }
    }

    /// Whether `column` of `table` (`None`: origin unknown, as for a `sql` rule's result)
    /// is sensitive. With no known table, any pattern whose column part matches masks it,
    /// since leaking is worse than over-masking.
    pub fn is_sensitive(&self, table: Option<(&str, &str)>, column: &str) -> bool {
        let column = column.to_lowercase();
        self.patterns.iter().any(|pattern| match table {
            Some((source, table)) => {
                let (source, table) = (source.to_lowercase(), table.to_lowercase());
                glob(pattern, &format!("{table}.{column}"))
                    || glob(pattern, &format!("{source}.{table}.{column}"))
            }
            None => glob(pattern.rsplit('.').next().unwrap_or(pattern), &column),
        })
    }

    /// Masks `value` if the column is sensitive.
    pub fn apply(&self, table: Option<(&str, &str)>, column: &str, value: Value) -> Value {
        if value.is_null() || !self.is_sensitive(table, column) {
            return value;
        }
        Value::String(mask_text(&crate::kernel::values::display(&value)))
    }
}

/// Words after which DataFusion and arrow quote a name (`field 'id'`, `as type 'Int64'`,
/// `Did you mean 'email'?`), never a data value.
const NAME_WORDS: &[&str] = &[
    "catalog",
    "column",
    "directory",
    "field",
    "file",
    "function",
    "identifier",
    "mean",
    "named",
    "path",
    "relation",
    "schema",
    "table",
    "type",
    "view",
];

/// An in-process error message with its single-quoted data values masked: engines quote the
/// offending value ("cannot cast string 'a@x.io'", "Row data: '[…]'") without saying which
/// column it came from, so every quoted value is masked, as PostgreSQL's are, whatever
/// `sensitive` says. A quoted name (after `column`, `field`, `type`, …) is kept so the message
/// stays useful.
pub fn scrub_error(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((open, close)) = next_quoted(rest) {
        let quoted = &rest[open + 1..close];
        out.push_str(&rest[..=open]);
        if quoted.is_empty() || after_name_word(&rest[..open]) {
            out.push_str(quoted);
        } else {
            out.push_str(&mask_text(quoted));
        }
        out.push('\'');
        rest = &rest[close + 1..];
    }
    // A quote left open (a message cut short, a value with a stray quote) runs to the end.
    match next_open(rest) {
        Some(open) if !after_name_word(&rest[..open]) => {
            out.push_str(&rest[..=open]);
            out.push_str(&mask_text(&rest[open + 1..]));
        }
        _ => out.push_str(rest),
    }
    out
}

/// The byte offsets of the next quoted span's quotes. An apostrophe inside a word (`source's`,
/// `O'Brien`) neither opens nor closes one.
fn next_quoted(text: &str) -> Option<(usize, usize)> {
    let open = next_open(text)?;
    let close = quotes(text).find(|&i| i > open && !in_word(text, i + 1))?;
    Some((open, close))
}

/// The next quote that can open a quoted span: one not preceded by a letter or digit.
fn next_open(text: &str) -> Option<usize> {
    quotes(text).find(|&i| i == 0 || !in_word(text, i - 1))
}

fn quotes(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.match_indices('\'').map(|(i, _)| i)
}

fn in_word(text: &str, i: usize) -> bool {
    text.as_bytes()
        .get(i)
        .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Whether the word before a quote (`before` ends just before it) names what follows.
fn after_name_word(before: &str) -> bool {
    let word = before
        .trim_end()
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
        .trim_end_matches([':', ','])
        .to_ascii_lowercase();
    NAME_WORDS.contains(&word.as_str())
}

/// `sha256:` and the first 8 hex digits of the SHA-256 of the text.
pub fn mask_text(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Glob match with `*` (any run) and `?` (one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*.email", "users.email"));
        assert!(glob("users.*", "users.email"));
        assert!(glob("u?ers.e*l", "users.email"));
        assert!(!glob("*.email", "users.email_verified"));
        assert!(glob("*", ""));
    }

    #[test]
    fn errors_lose_quoted_values_but_keep_names() {
        let scrubbed = scrub_error("Cannot cast string 'a@x.io' to Int64 in table 'prod.users'");
        assert!(
            !scrubbed.contains("a@x.io") && scrubbed.contains("'prod.users'"),
            "{scrubbed}"
        );
        // Plain words and numbers are data too: only what follows a name word is kept.
        let csv = scrub_error(
            "Error while parsing value 'Alice' as type 'Int64' for column 1 at line 2. \
             Row data: '[7,Alice,123456789]'",
        );
        assert!(
            !csv.contains("Alice") && !csv.contains("123456789") && csv.contains("'Int64'"),
            "{csv}"
        );
        assert_eq!(
            scrub_error("the source's value 'O'Brien' isn't"),
            format!("the source's value '{}' isn't", mask_text("O'Brien"))
        );
        // A quote left open masks the rest: a message cut short never shows half a value.
        let cut = scrub_error("Cannot cast string 'SSN-123-45");
        assert!(!cut.contains("SSN") && cut.contains("sha256:"), "{cut}");
        assert_eq!(scrub_error("the column 'email"), "the column 'email");
        assert_eq!(
            scrub_error("No field named 'emial'. Did you mean 'email'?"),
            "No field named 'emial'. Did you mean 'email'?"
        );
    }

    #[test]
    fn masks_by_table_and_by_column_when_origin_unknown() {
        let m = Masker::new(&["users.password_hash".into(), "*.email".into()]);
        assert!(m.is_sensitive(Some(("prod", "users")), "password_hash"));
        assert!(!m.is_sensitive(Some(("prod", "profiles")), "password_hash"));
        assert!(m.is_sensitive(Some(("prod", "profiles")), "EMAIL"));
        assert!(m.is_sensitive(None, "password_hash"));
        let masked = m.apply(None, "email", Value::String("a@x.io".into()));
        assert_eq!(masked, Value::String(mask_text("a@x.io")));
        assert!(
            masked.as_str().unwrap().starts_with("sha256:") && masked.as_str().unwrap().len() == 15
        );
        assert_eq!(m.apply(None, "email", Value::Null), Value::Null);
    }
}
