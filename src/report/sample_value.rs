//! How a sample value is written in the reports read by people (terminal, Markdown, JUnit):
//! NULL as the bare word `NULL`, and a text that could be mistaken for it or for another
//! value quoted, so a NULL in one database and the text 'NULL' in the other never look alike
//! (JSON keeps them apart by itself: `null` and `"NULL"`).

use serde_json::Value;

/// What a NULL is shown as.
pub const NULL: &str = "NULL";

/// A sample value as text: NULL as `NULL`, a text that reads as NULL (in any case), has
/// leading or trailing white space, or starts with a double quote in double quotes with
/// Rust's escapes (`"NULL"`, `"Ben "`, `"\"x\""`), any other text as it is.
pub fn sample_value(value: &Value) -> String {
    match value {
        Value::Null => NULL.into(),
        Value::String(s) if needs_quotes(s) => format!("{s:?}"),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn needs_quotes(text: &str) -> bool {
    text.eq_ignore_ascii_case(NULL) || text != text.trim() || text.starts_with('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_and_the_text_null_look_different() {
        let shown = |v: Value| sample_value(&v);
        assert_eq!(shown(Value::Null), "NULL");
        assert_eq!(shown(Value::from("NULL")), r#""NULL""#);
        assert_eq!(shown(Value::from("null")), r#""null""#);
        assert_eq!(shown(Value::from("\"NULL\"")), r#""\"NULL\"""#);
        assert_eq!(shown(Value::from("Ben ")), r#""Ben ""#);
        assert_eq!(shown(Value::from("Nullable")), "Nullable");
        assert_eq!(shown(Value::from("")), "");
        assert_eq!(shown(Value::from(5)), "5");
    }
}
