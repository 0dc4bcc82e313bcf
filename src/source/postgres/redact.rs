//! PostgreSQL quotes the data value that broke a statement in its error messages
//! (`invalid input syntax for type integer: "SSN-123"`, `value "99999999999" is out of
//! range`). Which column it came from is unknown (a `sql` rule computes anything), so every
//! quoted value is masked, whatever `sensitive` says: the SQLSTATE, the structure and the
//! names (`column "email"`, `constraint "users_pkey"`) stay. DETAIL, HINT and CONTEXT,
//! which quote whole rows (`Failing row contains (…)`), are never shown at all.

use crate::kernel::mask::mask_text;

/// Words after which PostgreSQL quotes a name from the catalog or a token of the SQL text
/// (`at or near "…"`), never a data value.
const NAME_WORDS: &[&str] = &[
    "aggregate",
    "attribute",
    "collation",
    "column",
    "constraint",
    "conversion",
    "cursor",
    "database",
    "domain",
    "encoding",
    "enum",
    "extension",
    "function",
    "index",
    "language",
    "near",
    "operator",
    "parameter",
    "policy",
    "portal",
    "procedure",
    "publication",
    "relation",
    "role",
    "routine",
    "rule",
    "savepoint",
    "schema",
    "sequence",
    "server",
    "statement",
    "subscription",
    "table",
    "tablespace",
    "trigger",
    "type",
    "user",
    "view",
];

/// `message` with every quoted data value replaced by `sha256:` and 8 hex digits, and
/// byte sequences (`0xe2 0x82`) by `0x…`.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find('"') {
        let (before, from_quote) = rest.split_at(start);
        out.push_str(&redact_bytes(before));
        let inner = &from_quote[1..];
        let previous = out
            .trim_end()
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if NAME_WORDS.contains(&previous.as_str())
            && let Some(end) = inner.find('"')
        {
            out.push('"');
            out.push_str(&inner[..end]);
            out.push('"');
            rest = &inner[end + 1..];
            continue;
        }
        // A value can hold a `"` itself, unescaped: it runs to the message's last quote.
        let end = inner.rfind('"').unwrap_or(inner.len());
        out.push('"');
        out.push_str(&mask_text(&inner[..end]));
        out.push('"');
        rest = inner.get(end + 1..).unwrap_or("");
    }
    out.push_str(&redact_bytes(rest));
    out
}

/// `0x` and hex digits are bytes of a value (`invalid byte sequence for encoding "UTF8":
/// 0xe2 0x82`): they become `0x…`.
fn redact_bytes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut words = text.split(' ').peekable();
    while let Some(word) = words.next() {
        let hex = word.trim_end_matches([',', '.', ')', ';']);
        let is_bytes = hex.len() > 2
            && (hex.starts_with("0x") || hex.starts_with("0X"))
            && hex[2..].chars().all(|c| c.is_ascii_hexdigit());
        if is_bytes {
            out.push_str("0x…");
            out.push_str(&word[hex.len()..]);
        } else {
            out.push_str(word);
        }
        if words.peek().is_some() {
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_masked_names_are_kept() {
        let m = redact(r#"invalid input syntax for type integer: "SSN-123-45""#);
        assert_eq!(
            m,
            format!(
                "invalid input syntax for type integer: \"{}\"",
                mask_text("SSN-123-45")
            )
        );
        let m = redact(r#"value "99999999999" is out of range for type integer"#);
        assert!(
            !m.contains("9999") && m.ends_with(" is out of range for type integer"),
            "{m}"
        );
        let m = redact(r#"column "email" of relation "users" does not exist"#);
        assert_eq!(m, r#"column "email" of relation "users" does not exist"#);
        let m = redact(r#"duplicate key value violates unique constraint "users_email_key""#);
        assert!(m.ends_with(r#"constraint "users_email_key""#), "{m}");
        assert_eq!(
            redact(r#"syntax error at or near "SELEC""#),
            r#"syntax error at or near "SELEC""#
        );
    }

    #[test]
    fn a_value_holding_quotes_is_masked_whole() {
        let m = redact(r#"invalid input value for enum "mood": "a" b "c""#);
        assert!(
            m.starts_with(r#"invalid input value for enum "mood": "sha256:"#),
            "{m}"
        );
        assert!(!m.contains(" b ") && !m.contains("\"c"), "{m}");
        let m = redact(r#"invalid input syntax for type json: "unterminated"#);
        assert!(!m.contains("unterminated"), "{m}");
    }

    #[test]
    fn byte_sequences_are_masked() {
        let m = redact(
            r#"character with byte sequence 0xe2 0x82 0xac in encoding "UTF8" has no equivalent"#,
        );
        assert_eq!(
            m,
            r#"character with byte sequence 0x… 0x… 0x… in encoding "UTF8" has no equivalent"#
        );
    }
}
