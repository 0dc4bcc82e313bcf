//! Typed readers for the values of rule and project fields. Each reader either returns
//! the value or records a diagnostic at the value's position and returns `None`, so a
//! file's problems are all collected in one pass.

use std::sync::Arc;
use std::time::Duration;

use super::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use super::location::{Located, SourceFile};
use super::spec::{
    Algorithm, CountOrPercent, KeyRef, Normalize, Scalar, Severity, SqlText, TableName, TableRef,
    Tolerance,
};
use super::yaml::{Node, Value};

/// The file being read, the diagnostics collected so far and the known source names.
pub struct Reader<'a> {
    pub file: &'a Arc<SourceFile>,
    pub diags: &'a mut Diagnostics,
    pub sources: &'a [String],
}

impl Reader<'_> {
    pub fn error(&mut self, node: &Node, message: impl Into<String>) {
        self.diags
            .push(Diagnostic::at(&node.loc(self.file), message));
    }

    fn expected(&mut self, node: &Node, what: &str) {
        let message = format!("expected {what}, found {}", node.kind_name());
        self.diags.push(
            Diagnostic::at(&node.loc(self.file), message).with_label(format!("expected {what}")),
        );
    }

    pub fn text(&mut self, node: &Node) -> Option<Located<String>> {
        match &node.value {
            Value::Str(s) => Some(Located::new(s.clone(), node.loc(self.file))),
            _ => {
                self.expected(node, "a string");
                None
            }
        }
    }

    /// A non-empty identifier such as a column name (numbers are accepted as written).
    pub fn name(&mut self, node: &Node) -> Option<Located<String>> {
        match node.scalar_text() {
            Some(s) if !s.trim().is_empty() && !matches!(node.value, Value::Bool(_)) => {
                if let Err(too_long) = crate::shorten::check_identifier(s.trim(), "column name") {
                    self.error(node, too_long.0);
                    return None;
                }
                Some(Located::new(s.trim().to_string(), node.loc(self.file)))
            }
            _ => {
                self.expected(node, "a column name");
                None
            }
        }
    }

    /// A list of names; a single name is accepted as a list of one.
    pub fn names(&mut self, node: &Node) -> Option<Vec<Located<String>>> {
        match &node.value {
            Value::Seq(items) if items.is_empty() => {
                self.error(node, "expected at least one column");
                None
            }
            Value::Seq(items) => {
                let names: Vec<_> = items.iter().map(|item| self.name(item)).collect();
                names.into_iter().collect()
            }
            _ => self.name(node).map(|n| vec![n]),
        }
    }

    pub fn words(&mut self, node: &Node) -> Option<Vec<String>> {
        match &node.value {
            Value::Seq(items) => {
                let words: Vec<_> = items
                    .iter()
                    .map(|i| self.text(i).map(|t| t.value))
                    .collect();
                words.into_iter().collect()
            }
            Value::Str(s) => Some(vec![s.clone()]),
            _ => {
                self.expected(node, "a list of words");
                None
            }
        }
    }

    pub fn scalars(&mut self, node: &Node) -> Option<Vec<Scalar>> {
        let Value::Seq(items) = &node.value else {
            self.expected(node, "a list of values");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(match &item.value {
                Value::Str(s) => Scalar::Str(s.clone()),
                Value::Int(i) => Scalar::Int(*i),
                Value::Float(f) => Scalar::Float(*f),
                Value::Bool(b) => Scalar::Bool(*b),
                _ => {
                    self.expected(item, "a string, number or true/false");
                    return None;
                }
            });
        }
        Some(out)
    }

    pub fn count(&mut self, node: &Node) -> Option<u64> {
        match node.value {
            Value::Int(i) if i >= 0 && i <= u64::MAX as i128 => Some(i as u64),
            _ => {
                self.expected(node, "a non-negative integer");
                None
            }
        }
    }

    pub fn integer(&mut self, node: &Node) -> Option<i64> {
        match node.value {
            Value::Int(i) if i64::try_from(i).is_ok() => Some(i as i64),
            _ => {
                self.expected(node, "an integer");
                None
            }
        }
    }

    pub fn count_or_percent(&mut self, node: &Node) -> Option<CountOrPercent> {
        let parsed = match &node.value {
            Value::Int(i) if *i >= 0 && *i <= u64::MAX as i128 => {
                Some(CountOrPercent::Count(*i as u64))
            }
            Value::Str(s) => parse_count_or_percent(s),
            _ => None,
        };
        if parsed.is_none() {
            self.expected(
                node,
                "a non-negative integer or a percentage such as \"0.5%\"",
            );
        }
        parsed
    }

    pub fn duration(&mut self, node: &Node) -> Option<(Duration, String)> {
        let text = node.scalar_text().unwrap_or_default();
        match parse_duration(&text) {
            Some(d) => Some((d, text)),
            None => {
                self.expected(node, "a duration such as `30m`, `24h` or `7d`");
                None
            }
        }
    }

    pub fn severity(&mut self, node: &Node) -> Option<Severity> {
        match node.as_str() {
            Some("error") => Some(Severity::Error),
            Some("warn") | Some("warning") => Some(Severity::Warn),
            _ => {
                self.expected(node, "`error` or `warn`");
                None
            }
        }
    }

    pub fn predicate(&mut self, node: &Node) -> Option<SqlText> {
        let text = self.sql_scalar(node)?;
        if let Err(rejected) = super::sql::check_predicate(&text.text) {
            self.error(node, rejected.0);
            return None;
        }
        Some(text)
    }

    pub fn query(&mut self, node: &Node) -> Option<SqlText> {
        let text = self.sql_scalar(node)?;
        if let Err(rejected) = super::sql::check_query(&text.text) {
            self.error(node, rejected.0);
            return None;
        }
        Some(text)
    }

    fn sql_scalar(&mut self, node: &Node) -> Option<SqlText> {
        // Numbers and booleans are valid SQL expressions too (`where: true`).
        let text = match &node.value {
            Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                node.scalar_text()?
            }
            _ => {
                self.expected(node, "SQL text");
                return None;
            }
        };
        Some(SqlText {
            text,
            loc: node.loc(self.file),
            file: None,
        })
    }

    /// `SOURCE.TABLE`, `SOURCE.SCHEMA.TABLE`, or a bare table when `on` names the source.
    pub fn table(&mut self, node: &Node, on: Option<&str>) -> Option<TableRef> {
        let text = self.text(node)?;
        let loc = text.loc.clone();
        match parse_table_name(&text.value, self.sources, on) {
            Ok(name) => Some(Located::new(name, loc)),
            Err((message, help)) => {
                self.diags
                    .push(Diagnostic::at(&loc, message).with_help(help));
                None
            }
        }
    }

    /// `SOURCE.TABLE(COL[, COL])`.
    pub fn key_ref(&mut self, node: &Node, on: Option<&str>) -> Option<KeyRef> {
        let text = self.text(node)?;
        let loc = text.loc.clone();
        let parsed = text
            .value
            .trim()
            .strip_suffix(')')
            .and_then(|s| s.split_once('('))
            .map(|(table, cols)| {
                (
                    table.trim().to_string(),
                    cols.split(',')
                        .map(|c| c.trim().to_string())
                        .collect::<Vec<_>>(),
                )
            });
        if let Some(Err(message)) = parsed.as_ref().map(|(_, cols)| {
            cols.iter()
                .try_for_each(|c| crate::shorten::check_identifier(c, "column name"))
        }) {
            self.error(node, message.0);
            return None;
        }
        let Some((table, columns)) =
            parsed.filter(|(t, cols)| !t.is_empty() && cols.iter().all(|c| !c.is_empty()))
        else {
            self.error(
                node,
                "expected `SOURCE.TABLE(COLUMN[, COLUMN])`, e.g. `prod.user_progress(user_id)`",
            );
            return None;
        };
        match parse_table_name(&table, self.sources, on) {
            Ok(name) => Some(KeyRef {
                table: Located::new(name, loc.clone()),
                columns: columns
                    .into_iter()
                    .map(|c| Located::new(c, loc.clone()))
                    .collect(),
            }),
            Err((message, help)) => {
                self.diags
                    .push(Diagnostic::at(&loc, message).with_help(help));
                None
            }
        }
    }

    pub fn source_name(&mut self, node: &Node) -> Option<Located<String>> {
        let text = self.text(node)?;
        if self.sources.contains(&text.value) {
            return Some(text);
        }
        let help = did_you_mean(&text.value, self.sources.iter().map(String::as_str));
        let message = format!(
            "unknown source `{}` (sources: {})",
            text.value,
            self.sources.join(", ")
        );
        self.diags
            .push(Diagnostic::at(&text.loc, message).with_help(help));
        None
    }
}

impl Reader<'_> {
    /// The entries of a mapping, keys as text.
    pub fn mapping<'n>(&mut self, node: &'n Node) -> Option<Vec<(Located<String>, &'n Node)>> {
        match &node.value {
            Value::Map(entries) => Some(
                entries
                    .iter()
                    .map(|(k, v)| {
                        (
                            Located::new(k.scalar_text().unwrap_or_default(), k.loc(self.file)),
                            v,
                        )
                    })
                    .collect(),
            ),
            _ => {
                self.expected(node, "a mapping");
                None
            }
        }
    }

    /// `[{expr: SQL aggregate, min: NUMBER, max: NUMBER}, …]`: each with an expression and
    /// at least one bound.
    pub fn metrics(&mut self, node: &Node) -> Option<Vec<super::spec::Metric>> {
        let Value::Seq(items) = &node.value else {
            self.expected(
                node,
                "a list of metrics (`- expr: avg(score)` with `min`/`max`)",
            );
            return None;
        };
        if items.is_empty() {
            self.expected(node, "at least one metric");
            return None;
        }
        let mut out = Vec::new();
        for item in items {
            let entries = self.mapping(item)?;
            let (mut expr, mut min, mut max) = (None, None, None);
            for (key, value) in entries {
                match key.value.as_str() {
                    "expr" => expr = Some(self.predicate(value)?),
                    "min" => min = Some(self.number(value)?),
                    "max" => max = Some(self.number(value)?),
                    other => {
                        let keys = ["expr", "min", "max"];
                        let help = did_you_mean(other, keys.iter().copied());
                        self.diags.push(
                            Diagnostic::at(&key.loc, format!("unknown metric field `{other}`"))
                                .with_label("expected one of: expr, min, max")
                                .with_help(help),
                        );
                        return None;
                    }
                }
            }
            let Some(expr) = expr else {
                self.expected(
                    item,
                    "a metric with `expr` (a SQL aggregate such as `avg(score)`)",
                );
                return None;
            };
            if min.is_none() && max.is_none() {
                self.expected(item, "`min` or `max` (a metric with no bound cannot fail)");
                return None;
            }
            out.push(super::spec::Metric { expr, min, max });
        }
        Some(out)
    }

    /// A finite number.
    pub fn number(&mut self, node: &Node) -> Option<f64> {
        match node.value {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) if f.is_finite() => Some(f),
            _ => {
                self.expected(node, "a number");
                None
            }
        }
    }

    /// `{target_column: source_column}`.
    pub fn rename(&mut self, node: &Node) -> Option<Vec<(String, String)>> {
        let entries = self.mapping(node)?;
        let mut out = Vec::new();
        for (target, value) in entries {
            out.push((target.value, self.name(value)?.value));
        }
        Some(out)
    }

    /// `{column: 0.01 | "0.1%"}`.
    pub fn tolerances(&mut self, node: &Node) -> Option<Vec<(String, Tolerance)>> {
        let entries = self.mapping(node)?;
        let mut out = Vec::new();
        for (column, value) in entries {
            let tolerance = match &value.value {
                Value::Int(i) if *i >= 0 => Some(Tolerance::Absolute(*i as f64)),
                Value::Float(f) if *f >= 0.0 && f.is_finite() => Some(Tolerance::Absolute(*f)),
                Value::Str(s) => parse_tolerance(s),
                _ => None,
            };
            match tolerance {
                Some(t) => out.push((column.value, t)),
                None => {
                    self.expected(
                        value,
                        "a non-negative number (`0.01`), a percentage (`\"0.1%\"`) or, for \
                         timestamps, a duration (`1s`, `500ms`)",
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    pub fn normalize(&mut self, node: &Node) -> Option<Normalize> {
        let entries = self.mapping(node)?;
        let mut out = Normalize::default();
        for (key, value) in entries {
            let flag = |r: &mut Reader, value: &Node| match value.value {
                Value::Bool(b) => Some(b),
                _ => {
                    r.expected(value, "true or false");
                    None
                }
            };
            if let Some(slot) = out.flag_mut(&key.value) {
                *slot = flag(self, value)?;
                continue;
            }
            match key.value.as_str() {
                "timezone" => {
                    let zone = self.text(value)?;
                    let Ok(parsed) = zone.value.parse::<chrono_tz::Tz>() else {
                        let help = did_you_mean(
                            &zone.value,
                            chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()),
                        );
                        self.diags.push(
                            Diagnostic::at(
                                &zone.loc,
                                format!("unknown time zone `{}`", zone.value),
                            )
                            .with_help(help),
                        );
                        return None;
                    };
                    out.timezone = Some(parsed);
                }
                other => {
                    let keys: Vec<&str> =
                        Normalize::FLAGS.into_iter().chain(["timezone"]).collect();
                    let help = did_you_mean(other, keys.iter().copied());
                    self.diags.push(
                        Diagnostic::at(&key.loc, format!("unknown normalize option `{other}`"))
                            .with_label(format!("expected one of: {}", keys.join(", ")))
                            .with_help(help),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    pub fn algorithm(&mut self, node: &Node) -> Option<Algorithm> {
        match node.as_str().and_then(Algorithm::named) {
            Some(algorithm) => Some(algorithm),
            None => {
                let names: Vec<String> = Algorithm::ALL
                    .iter()
                    .map(|a| format!("`{}`", a.as_str()))
                    .collect();
                let (last, rest) = names.split_last().expect("three algorithms");
                self.expected(node, &format!("{} or {last}", rest.join(", ")));
                None
            }
        }
    }
}

/// `0.01`, `"0.01"`, `"0.1%"`, or a duration with its unit (`1s`, `500ms`, `2m`).
pub fn parse_tolerance(text: &str) -> Option<Tolerance> {
    let text = text.trim();
    let has_unit = text.ends_with(|c: char| c.is_ascii_alphabetic());
    if has_unit {
        return parse_duration(text).map(Tolerance::Duration);
    }
    match text.strip_suffix('%') {
        Some(p) => p
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|p| *p >= 0.0 && p.is_finite())
            .map(|p| Tolerance::Relative(p / 100.0)),
        None => text
            .parse::<f64>()
            .ok()
            .filter(|v| *v >= 0.0 && v.is_finite())
            .map(Tolerance::Absolute),
    }
}

type NameError = (String, Option<String>);

/// Resolves a written table name against the known sources.
pub fn parse_table_name(
    text: &str,
    sources: &[String],
    on: Option<&str>,
) -> Result<TableName, NameError> {
    let parts: Vec<&str> = text.trim().split('.').map(str::trim).collect();
    for part in &parts {
        crate::shorten::check_identifier(part, "name").map_err(|m| (m.0, None))?;
    }
    if parts.iter().any(|p| p.is_empty()) || parts.len() > 3 {
        return Err((
            format!(
                "`{text}` is not a table name: expected `SOURCE.TABLE` or `SOURCE.SCHEMA.TABLE`"
            ),
            None,
        ));
    }
    let is_source = |s: &str| sources.iter().any(|x| x == s);
    let name = |source: &str, schema: Option<&str>, table: &str| TableName {
        source: source.to_string(),
        schema: schema.map(str::to_string),
        table: table.to_string(),
    };
    match (parts.as_slice(), on) {
        ([source, table], _) if is_source(source) => Ok(name(source, None, table)),
        ([source, schema, table], _) if is_source(source) => Ok(name(source, Some(schema), table)),
        ([table], Some(on)) => Ok(name(on, None, table)),
        ([schema, table], Some(on)) => Ok(name(on, Some(schema), table)),
        ([table], None) => Err((
            format!(
                "table `{table}` needs its source: write `SOURCE.{table}` (sources: {}), or set `on:`",
                sources.join(", ")
            ),
            None,
        )),
        ([first, ..], _) => Err((
            format!(
                "unknown source `{first}` in `{text}` (sources: {})",
                sources.join(", ")
            ),
            did_you_mean(first, sources.iter().map(String::as_str)),
        )),
        ([], _) => Err(("empty table name".into(), None)),
    }
}

pub fn parse_count_or_percent(text: &str) -> Option<CountOrPercent> {
    let text = text.trim();
    if let Some(number) = text.strip_suffix('%') {
        let p: f64 = number.trim().parse().ok()?;
        return (p.is_finite() && (0.0..=100.0).contains(&p)).then_some(CountOrPercent::Percent(p));
    }
    text.parse().ok().map(CountOrPercent::Count)
}

/// `90s`, `30m`, `24h`, `7d`, `2w` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        "w" => 604800.0,
        _ => return None,
    };
    let total = number * seconds;
    (total.is_finite() && (0.0..1e12).contains(&total)).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<String> {
        vec!["staging".into(), "prod".into()]
    }

    #[test]
    fn table_names_resolve_against_sources() {
        let s = sources();
        assert_eq!(
            parse_table_name("prod.users", &s, None)
                .unwrap()
                .to_string(),
            "prod.users"
        );
        assert_eq!(
            parse_table_name("staging.analytics.events", &s, None)
                .unwrap()
                .schema
                .as_deref(),
            Some("analytics")
        );
        assert_eq!(
            parse_table_name("users", &s, Some("prod"))
                .unwrap()
                .to_string(),
            "prod.users"
        );
        let (msg, help) = parse_table_name("prdo.users", &s, None).unwrap_err();
        assert!(msg.contains("unknown source `prdo`"));
        assert_eq!(help.as_deref(), Some("did you mean `prod`?"));
        assert!(
            parse_table_name("users", &s, None)
                .unwrap_err()
                .0
                .contains("needs its source")
        );
        assert!(parse_table_name("a..b", &s, None).is_err());
    }

    #[test]
    fn durations_and_thresholds() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7 days"), None);
        assert_eq!(
            parse_count_or_percent("0.5%"),
            Some(CountOrPercent::Percent(0.5))
        );
        assert_eq!(
            parse_count_or_percent("12"),
            Some(CountOrPercent::Count(12))
        );
        assert_eq!(parse_count_or_percent("150%"), None);
        assert_eq!(parse_count_or_percent("-1"), None);
    }
}
