//! Messages quote what the user wrote or what a file holds (a rule type, a column name, a
//! server's message). Hostile input can make that a megabyte, so every quote is cut to a
//! prefix and its length, and a whole message to a few kilobytes: an error stays readable
//! and a report stays small whatever the input.

use std::borrow::Cow;

/// Longest quoted span kept whole, in bytes.
pub const QUOTE_LIMIT: usize = 120;
/// Bytes of a cut quote that are kept.
const QUOTE_KEPT: usize = 60;
/// Longest message kept whole, in bytes.
pub const MESSAGE_LIMIT: usize = 4096;
/// Longest identifier (table, column, source name) crosscheck accepts, in bytes.
/// PostgreSQL's own limit is 63; file exports may carry longer names, so the limit is
/// generous, but a name longer than this is hostile or broken input, not a column.
pub const IDENTIFIER_LIMIT: usize = 1024;

/// `text` itself when short, else its first characters and its length:
/// `xxxx… (1048576 bytes)`.
pub fn cut(text: &str, limit: usize) -> Cow<'_, str> {
    if text.len() <= limit {
        return Cow::Borrowed(text);
    }
    // A short limit keeps a short prefix; a long one (a whole message) keeps most of it.
    let kept = if limit <= QUOTE_LIMIT {
        QUOTE_KEPT.min(limit)
    } else {
        limit - 64
    };
    Cow::Owned(format!("{}… ({} bytes)", prefix(text, kept), text.len()))
}

/// A quote of `text` for a message: cut to [`QUOTE_LIMIT`].
pub fn quote(text: &str) -> Cow<'_, str> {
    cut(text, QUOTE_LIMIT)
}

/// The longest prefix of `text` of at most `bytes` bytes that ends on a character boundary.
pub fn prefix(text: &str, bytes: usize) -> &str {
    if text.len() <= bytes {
        return text;
    }
    let mut end = bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `message` with every span between backticks or double quotes longer than
/// [`QUOTE_LIMIT`] cut, then the whole cut to [`MESSAGE_LIMIT`].
pub fn message(text: &str) -> Cow<'_, str> {
    if text.len() <= QUOTE_LIMIT {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(MESSAGE_LIMIT + 64));
    let mut rest = text;
    while let Some(start) = rest.find(['`', '"']) {
        let delimiter = rest.as_bytes()[start];
        let after = &rest[start + 1..];
        // An unmatched delimiter quotes nothing: the cap on the whole message applies.
        let Some(len) = after.find(char::from(delimiter)) else {
            break;
        };
        out.push_str(&rest[..=start]);
        out.push_str(&quote(&after[..len]));
        out.push(char::from(delimiter));
        rest = &after[len + 1..];
        if out.len() > MESSAGE_LIMIT {
            break;
        }
    }
    out.push_str(prefix(rest, MESSAGE_LIMIT + 64));
    if out.len() > MESSAGE_LIMIT {
        // The length given is the whole message's, before any quote was cut.
        out = format!(
            "{}… ({} bytes)",
            prefix(&out, MESSAGE_LIMIT - 64),
            text.len()
        );
    }
    Cow::Owned(out)
}

/// Longest text value a report's sample shows whole, in bytes.
pub const SAMPLE_VALUE_LIMIT: usize = 1024;

/// A sample value as reports show it: text over [`SAMPLE_VALUE_LIMIT`] is cut to a prefix
/// and its length (a 20 MB cell made every report 20 MB per sampled row).
pub fn sample_value(value: &mut serde_json::Value) {
    if let serde_json::Value::String(text) = value
        && text.len() > SAMPLE_VALUE_LIMIT
    {
        *text = format!(
            "{}… ({} bytes)",
            prefix(text, SAMPLE_VALUE_LIMIT - 64),
            text.len()
        );
    }
}

/// A name longer than [`IDENTIFIER_LIMIT`], worded for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TooLong(pub String);

/// An error if `name` is longer than [`IDENTIFIER_LIMIT`]; `what` says what it names.
pub fn check_identifier(name: &str, what: &str) -> Result<(), TooLong> {
    if name.len() <= IDENTIFIER_LIMIT {
        return Ok(());
    }
    Err(TooLong(format!(
        "{what} `{}` is too long: names are limited to {IDENTIFIER_LIMIT} bytes",
        quote(name)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_quotes_keep_a_prefix_and_their_length() {
        let long = "x".repeat(1 << 20);
        let text = format!("unknown rule type `{long}` (see \"{long}\")");
        let short = message(&text);
        assert!(short.len() < 400, "{short}");
        assert!(short.contains("… (1048576 bytes)`"), "{short}");
        assert!(short.starts_with("unknown rule type `xxx"), "{short}");
        assert!(short.ends_with(" bytes)\")"), "{short}");
        assert_eq!(message("a `short` one"), "a `short` one");
    }

    #[test]
    fn unquoted_giants_are_capped_and_cuts_respect_characters() {
        let text = "é".repeat(100_000);
        let short = message(&text);
        assert!(short.len() <= MESSAGE_LIMIT + 32, "{}", short.len());
        assert!(short.ends_with("… (200000 bytes)"));
        assert_eq!(prefix("éa", 1), "");
        assert_eq!(quote("abc"), "abc");
    }

    #[test]
    fn huge_sample_values_are_cut_others_kept() {
        let mut huge = serde_json::Value::String("v".repeat(20 << 20));
        sample_value(&mut huge);
        let text = huge.as_str().unwrap_or_default();
        assert!(text.len() < SAMPLE_VALUE_LIMIT && text.ends_with("… (20971520 bytes)"));
        let mut small = serde_json::json!("v");
        let mut number = serde_json::json!(5);
        sample_value(&mut small);
        sample_value(&mut number);
        assert_eq!(
            (small, number),
            (serde_json::json!("v"), serde_json::json!(5))
        );
    }

    #[test]
    fn identifiers_over_the_limit_are_refused() {
        assert!(check_identifier(&"c".repeat(IDENTIFIER_LIMIT), "column").is_ok());
        let err = check_identifier(&"c".repeat(50 << 20), "column")
            .unwrap_err()
            .0;
        assert!(err.len() < 200 && err.contains("52428800 bytes"), "{err}");
    }
}
