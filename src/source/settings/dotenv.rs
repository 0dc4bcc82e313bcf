//! `.env` files: `KEY=value` lines, `export KEY=value`, `#` comments, values in single quotes
//! (as written) or double quotes (with `\n`, `\"` and `\\` escapes); every value is a string.

use super::Entry;

pub fn parse(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = Some(i as u64 + 1);
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export ")
            .unwrap_or(trimmed)
            .trim_start();
        let Some((key, value)) = body.split_once('=') else {
            out.push(Entry::broken(
                line,
                format!(
                    "line {}: expected `KEY=value`, found `{}`",
                    i + 1,
                    shorten(trimmed)
                ),
            ));
            continue;
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            out.push(Entry::broken(
                line,
                format!("line {}: `{}` is not a variable name", i + 1, shorten(key)),
            ));
            continue;
        }
        match unquote(value.trim()) {
            Ok(value) => out.push(Entry::setting(key.to_string(), Some(value), "string", line)),
            Err(reason) => out.push(Entry::broken(line, format!("line {}: {reason}", i + 1))),
        }
    }
    out
}

/// The value without its quotes, or an unquoted value without a trailing ` # comment`.
fn unquote(value: &str) -> Result<String, String> {
    if let Some(rest) = value.strip_prefix('\'') {
        return match rest.find('\'') {
            Some(end) => Ok(rest[..end].to_string()),
            None => Err("a single-quoted value has no closing quote".into()),
        };
    }
    if let Some(rest) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Ok(out),
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(other) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err("a double-quoted value has no closing quote".into());
    }
    let value = match value.find(" #") {
        Some(at) => &value[..at],
        None => value,
    };
    Ok(value.trim_end().to_string())
}

fn shorten(text: &str) -> String {
    crate::shorten::cut(text, 60).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row<'a> = (Option<&'a str>, Option<&'a str>, Option<u64>, bool);

    #[test]
    fn lines_quotes_comments_and_mistakes() {
        let entries = parse(
            "# app\nexport DATABASE_URL=postgres://db/app\nFLAG='on # not a comment'\nGREETING=\"a \\\"b\\\"\"\nPORT=8080 # the port\nbroken line\nOPEN=\"x\n",
        );
        let got: Vec<Row> = entries
            .iter()
            .map(|e| {
                (
                    e.key.as_deref(),
                    e.value.as_deref(),
                    e.line,
                    e.error.is_some(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    Some("DATABASE_URL"),
                    Some("postgres://db/app"),
                    Some(2),
                    false
                ),
                (Some("FLAG"), Some("on # not a comment"), Some(3), false),
                (Some("GREETING"), Some("a \"b\""), Some(4), false),
                (Some("PORT"), Some("8080"), Some(5), false),
                (None, None, Some(6), true),
                (None, None, Some(7), true),
            ]
        );
    }
}
