//! A YAML document as a tree in which every node knows its line and column.
//!
//! Rule files are read into this tree first and checked field by field afterwards
//! (`fields.rs`), so an error can point at the exact key or value, suggest the near miss
//! for an unknown field, and report every problem of a file rather than the first.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::diagnostic::Diagnostic;
use super::location::{Loc, SourceFile};

/// A YAML value with its position (filled in by [`parse`]).
#[derive(Clone, Debug)]
pub struct Node {
    pub value: Value,
    pub line: usize,
    pub column: usize,
    pub len: usize,
}

#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// What the value is, in the words an error message uses.
    pub fn kind_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "true/false",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar as text, the way it was written (numbers and booleans included).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn loc(&self, file: &Arc<SourceFile>) -> Loc {
        Loc {
            file: file.clone(),
            line: self.line,
            column: self.column,
            len: self.len,
        }
    }
}

/// Deserialised through `Spanned` so each node records where it starts.
impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<RawValue>::deserialize(deserializer)?;
        let location = spanned.referenced;
        let len = match &spanned.value.0 {
            Value::Str(s) => s.chars().count().max(1),
            Value::Int(i) => i.to_string().len(),
            Value::Float(f) => f.to_string().len(),
            Value::Bool(b) => b.to_string().len(),
            _ => 1,
        };
        Ok(Node {
            value: spanned.value.0,
            line: location.line() as usize,
            column: location.column() as usize,
            len,
        })
    }
}

struct RawValue(Value);

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor).map(RawValue)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        i128::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        // Keys are read as text, so `on:` and `null:` stay field names, not a boolean or null.
        while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
            let value = map.next_value::<Node>()?;
            let node = Node {
                len: key.value.0.chars().count().max(1),
                line: key.referenced.line() as usize,
                column: key.referenced.column() as usize,
                value: Value::Str(key.value.0),
            };
            entries.push((node, value));
        }
        Ok(Value::Map(entries))
    }
}

/// A mapping key as text, whatever YAML would make of it as a value.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(KeyText)
    }
}

/// Parses a whole file; a syntax error becomes a diagnostic at its position.
pub fn parse(file: &Arc<SourceFile>) -> Result<Node, Diagnostic> {
    if file.text.trim().is_empty() {
        return Ok(Node {
            value: Value::Null,
            line: 1,
            column: 1,
            len: 1,
        });
    }
    // YAML 1.2 booleans only: `on:`, `yes` and `no` stay text; a `null:` key stays a word.
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.null_as_string = true;
    // An alias bomb ("billion laughs") stops after a few thousand replayed nodes instead of
    // being expanded: a rule file reuses an anchor for a handful of fields, not millions.
    options.alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    // Each level of nesting is a recursive call: the limit keeps the stack small (a rule
    // file needs about five levels).
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    // The replay limit bounds the work; many rules merging one `<<: *defaults` is fine.
    budget.enforce_alias_anchor_ratio = false;
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options::<Node>(&file.text, options).map_err(|err| {
        let message = err.without_snippet().to_string();
        let message = strip_location_suffix(&message);
        let message = limit_message(&message).unwrap_or(message);
        match err.location() {
            Some(l) if l.line() > 0 => Diagnostic::at(
                &Loc {
                    file: file.clone(),
                    line: l.line() as usize,
                    column: l.column() as usize,
                    len: 1,
                },
                format!("invalid YAML: {message}"),
            ),
            _ => Diagnostic::plain(format!("{}: invalid YAML: {message}", file.display)),
        }
    })
}

/// Deepest nesting of lists and mappings accepted.
const MAX_DEPTH: usize = 32;

/// Nodes that aliases (`*name`) may replay in one file.
const MAX_REPLAYED_EVENTS: usize = 10_000;

/// The parser's resource limits in words: its own text is `budget breached: Depth { … }`.
fn limit_message(message: &str) -> Option<String> {
    let limit = if message.starts_with("alias replay")
        || ["Aliases", "AliasAnchorRatio", "RecordedAnchor", "Anchors"]
            .iter()
            .any(|k| message.starts_with(&format!("budget breached: {k}")))
    {
        format!(
            "aliases (`*name`) expand too far: a file may repeat at most \
             {MAX_REPLAYED_EVENTS} values through aliases (is this a YAML alias bomb?)"
        )
    } else if message.starts_with("budget breached: Depth") {
        format!("values are nested more than {MAX_DEPTH} levels deep")
    } else if message.starts_with("budget breached: Nodes") {
        "the file holds more than 250000 values".to_string()
    } else if let Some(breach) = message.strip_prefix("budget breached: ") {
        format!("the file exceeds a parser limit ({breach})")
    } else {
        return None;
    };
    Some(limit)
}

/// serde-saphyr appends " at line X, column Y" to its messages; we show the position ourselves.
fn strip_location_suffix(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message);
    match first_line.rfind(" at line ") {
        Some(i) => first_line[..i].to_string(),
        None => first_line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            display: "t.yaml".into(),
            path: "t.yaml".into(),
            text: text.into(),
        })
    }

    #[test]
    fn nested_nodes_know_their_positions() {
        let f = file("rules:\n  - name: a\n    columns: [x, y]\n");
        let root = parse(&f).unwrap();
        let Value::Map(entries) = &root.value else {
            panic!("not a map")
        };
        let (key, rules) = &entries[0];
        assert_eq!((key.line, key.column), (1, 1));
        let Value::Seq(items) = &rules.value else {
            panic!("not a seq")
        };
        let Value::Map(rule) = &items[0].value else {
            panic!("not a map")
        };
        assert_eq!((rule[0].1.line, rule[0].1.column), (2, 11));
        let Value::Seq(cols) = &rule[1].1.value else {
            panic!("not a seq")
        };
        assert_eq!((cols[1].line, cols[1].column), (3, 18));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let f = file("rules:\n  - name: a\n   bad: [\n");
        let d = parse(&f).unwrap_err();
        assert!(d.loc.is_some(), "{d:?}");
        assert!(d.message.starts_with("invalid YAML"));
    }

    #[test]
    fn alias_bombs_are_rejected_not_expanded() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        text.push_str("rules: *a9\n");
        let started = std::time::Instant::now();
        let d = parse(&file(&text)).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert!(d.message.contains("alias bomb"), "{}", d.message);
        // One anchor reused by many rules is the same attack, flat.
        let flat = format!(
            "x: &x {{name: a, type: row_count}}\nrules: [{}]\n",
            vec!["*x"; 4000].join(",")
        );
        let d = parse(&file(&flat)).unwrap_err();
        assert!(d.message.contains("alias bomb"), "{}", d.message);
        let deep = format!("rules: {}{}\n", "[".repeat(100), "]".repeat(100));
        let d = parse(&file(&deep)).unwrap_err();
        assert!(d.message.contains("nested more than"), "{}", d.message);
        // Ordinary reuse of an anchor still works, by many rules too.
        let ok = format!(
            "d: &d {{severity: warn}}\nrules:\n{}",
            "  - {<<: *d, name: a}\n".repeat(500)
        );
        assert!(parse(&file(&ok)).is_ok(), "{:?}", parse(&file(&ok)).err());
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let f = file("a: 1\na: 2\n");
        assert!(parse(&f).is_err());
    }

    #[test]
    fn keys_are_text() {
        let f = file("on: prod\nnull: x\ny: 1\nv: [yes, no, on]\n");
        let Value::Map(m) = parse(&f).unwrap().value else {
            panic!()
        };
        let keys: Vec<_> = m
            .iter()
            .map(|(k, _)| k.as_str().unwrap().to_string())
            .collect();
        assert_eq!(keys, ["on", "null", "y", "v"]);
        let Value::Seq(values) = &m[3].1.value else {
            panic!()
        };
        assert!(
            values.iter().all(|v| v.as_str().is_some()),
            "YAML 1.1 booleans stay text"
        );
    }

    #[test]
    fn scalars_keep_their_types() {
        let f = file("a: 5\nb: \"5%\"\nc: 0.5\nd: true\ne: ~\n");
        let Value::Map(m) = parse(&f).unwrap().value else {
            panic!()
        };
        let kinds: Vec<_> = m.iter().map(|(_, v)| v.kind_name()).collect();
        assert_eq!(
            kinds,
            ["a number", "a string", "a number", "true/false", "null"]
        );
    }
}
