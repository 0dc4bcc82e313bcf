//! `${VAR}` and `${VAR:-default}` replaced from the environment, line by line so that
//! line numbers of later errors still match the file. `$${` writes a literal `${`.

/// A variable that is unset and has no default, or a `${` that is never closed.
#[derive(Debug, Clone, PartialEq)]
pub struct InterpolationError {
    pub line: usize,
    pub column: usize,
    pub len: usize,
    pub message: String,
}

/// Replaces every `${...}` in `text` using `lookup`; returns the new text or every error.
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<InterpolationError>> {
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        // Comments are left as written: an example URL in a comment needs no variable.
        let (content, comment) = line.split_at(comment_start(line));
        out.push_str(&interpolate_line(content, index + 1, &lookup, &mut errors));
        out.push_str(comment);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn interpolate_line(
    line: &str,
    line_no: usize,
    lookup: &impl Fn(&str) -> Option<String>,
    errors: &mut Vec<InterpolationError>,
) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    let mut consumed_chars = 0;
    while let Some(pos) = rest.find("${") {
        // `$${` is an escaped literal `${`.
        if pos > 0 && rest.as_bytes()[pos - 1] == b'$' {
            out.push_str(&rest[..pos - 1]);
            out.push_str("${");
            consumed_chars += rest[..pos + 2].chars().count();
            rest = &rest[pos + 2..];
            continue;
        }
        out.push_str(&rest[..pos]);
        let column = consumed_chars + rest[..pos].chars().count() + 1;
        let after = &rest[pos + 2..];
        let Some(end) = after.find('}') else {
            errors.push(InterpolationError {
                line: line_no,
                column,
                len: 2,
                message: "`${` is not closed by `}` (write `$${` for a literal `${`)".into(),
            });
            out.push_str(&rest[pos..]);
            return out;
        };
        let expr = &after[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (expr, None),
        };
        let len = expr.chars().count() + 3;
        if !is_variable_name(name) {
            errors.push(InterpolationError {
                line: line_no,
                column,
                len,
                message: format!("`{name}` is not a valid environment variable name"),
            });
        } else {
            match lookup(name).filter(|v| !v.is_empty() || default.is_none()) {
                Some(value) => out.push_str(&value),
                None => match default {
                    Some(default) => out.push_str(default),
                    None => errors.push(InterpolationError {
                        line: line_no,
                        column,
                        len,
                        message: format!(
                            "environment variable `{name}` is not set (write `${{{name}:-default}}` to give a default)"
                        ),
                    }),
                },
            }
        }
        consumed_chars += rest[..pos + 2 + end + 1].chars().count();
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Where a YAML comment starts on `line`: a `#` at the start or after whitespace, outside quotes.
fn comment_start(line: &str) -> usize {
    let mut quote = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') if previous.is_whitespace() => return i,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        previous = c;
    }
    line.len()
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.example".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn replaces_set_variables_and_defaults() {
        let text = "url: postgres://${HOST}/x\nport: ${PORT:-5432}\nempty: ${EMPTY:-fallback}\n";
        assert_eq!(
            interpolate(text, env).unwrap(),
            "url: postgres://db.example/x\nport: 5432\nempty: fallback\n"
        );
    }

    #[test]
    fn comments_are_not_interpolated() {
        let text = "a: ${HOST} # see ${UNSET}\n# ${UNSET}\nb: \"x # ${HOST}\"\n";
        assert_eq!(
            interpolate(text, env).unwrap(),
            "a: db.example # see ${UNSET}\n# ${UNSET}\nb: \"x # db.example\"\n"
        );
    }

    #[test]
    fn escaped_dollar_is_literal() {
        assert_eq!(interpolate("a: $${HOST}", env).unwrap(), "a: ${HOST}");
    }

    #[test]
    fn missing_variable_names_it_with_position() {
        let errors = interpolate("a: 1\nb: x ${MISSING} ${ALSO}\n", env).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(
            (errors[0].line, errors[0].column, errors[0].len),
            (2, 6, 10)
        );
        assert!(errors[0].message.contains("`MISSING` is not set"));
        assert_eq!(errors[1].column, 17);
    }

    #[test]
    fn unclosed_brace_is_an_error() {
        let errors = interpolate("a: ${HOST", env).unwrap_err();
        assert!(errors[0].message.contains("not closed"));
    }
}
