//! INI and `.properties` files: `[section]` headers (their keys become `section.key`),
//! `key=value` or `key: value` lines, `;`, `#` and `!` comments; every value is a string.

use super::Entry;

pub fn parse(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut section = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = Some(i as u64 + 1);
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with([';', '#', '!']) {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            match rest.strip_suffix(']') {
                Some(name) => section = name.trim().to_string(),
                None => out.push(Entry::broken(
                    line,
                    format!("line {}: a section header without its closing `]`", i + 1),
                )),
            }
            continue;
        }
        let split = trimmed
            .find(['=', ':'])
            .map(|at| (&trimmed[..at], &trimmed[at + 1..]));
        let Some((key, value)) = split.filter(|(k, _)| !k.trim().is_empty()) else {
            out.push(Entry::broken(
                line,
                format!(
                    "line {}: expected `key = value`, found `{}`",
                    i + 1,
                    crate::shorten::cut(trimmed, 60)
                ),
            ));
            continue;
        };
        let key = key.trim();
        let key = if section.is_empty() {
            key.to_string()
        } else {
            format!("{section}.{key}")
        };
        out.push(Entry::setting(
            key,
            Some(value.trim().to_string()),
            "string",
            line,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_prefix_their_keys() {
        let entries = parse(
            "; top\nname = app\n[database]\nhost: db.internal\nport=5432\n[broken\n= nothing\n",
        );
        let got: Vec<(Option<&str>, Option<&str>, Option<u64>)> = entries
            .iter()
            .map(|e| (e.key.as_deref(), e.value.as_deref(), e.line))
            .collect();
        assert_eq!(
            got,
            [
                (Some("name"), Some("app"), Some(2)),
                (Some("database.host"), Some("db.internal"), Some(4)),
                (Some("database.port"), Some("5432"), Some(5)),
                (None, None, Some(6)),
                (None, None, Some(7)),
            ]
        );
    }
}
