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
        Value::String(mask_text(&crate::engine::values::display(&value)))
    }
}

impl Masker {
    /// An error message with its single-quoted values masked, when any column is sensitive:
    /// engines quote the offending value in messages such as "cannot cast string 'a@x.io'".
    /// Quoted names (letters, digits, `_` and `.` only) are kept so the message stays useful.
    pub fn scrub_error(&self, text: &str) -> String {
        if self.patterns.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find('\'') {
            let Some(len) = rest[start + 1..].find('\'') else {
                break;
            };
            let quoted = &rest[start + 1..start + 1 + len];
            out.push_str(&rest[..=start]);
            if quoted
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                out.push_str(quoted);
            } else {
                out.push_str(&mask_text(quoted));
            }
            out.push('\'');
            rest = &rest[start + 2 + len..];
        }
        out.push_str(rest);
        out
    }
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
        let m = Masker::new(&["*.email".into()]);
        let scrubbed = m.scrub_error("Cannot cast string 'a@x.io' to Int64 in table 'prod.users'");
        assert!(
            !scrubbed.contains("a@x.io") && scrubbed.contains("'prod.users'"),
            "{scrubbed}"
        );
        assert_eq!(Masker::new(&[]).scrub_error("'a@x.io'"), "'a@x.io'");
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
