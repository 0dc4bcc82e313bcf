//! Rule files: `rules:` lists checked against the rule language (`rule_types/`, where each
//! type reads its own fields) and turned into [`RuleSpec`]s, every problem of the file collected.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use super::fields::Reader;
use super::location::{Located, SourceFile};
use super::rule_types::{self, COMMON_FIELDS, RuleInput, RuleTypeDef, all_rule_types};
use super::spec::{CountOrPercent, Defaults, RuleSpec, SqlText};
use super::yaml::{self, Node, Value};

/// What rules need from the project to be read.
pub struct RuleContext<'a> {
    pub sources: &'a [String],
    pub defaults: &'a Defaults,
    /// The `queries/` folder that `query: NAME.sql` refers to.
    pub queries_dir: &'a Path,
}

/// Reads every rule of one file.
/// Every rule name read, valid rule or not, is added to `names` for the duplicate check.
pub fn parse_rule_file(
    file: &Arc<SourceFile>,
    ctx: &RuleContext,
    diags: &mut Diagnostics,
    names: &mut Vec<Located<String>>,
) -> Vec<RuleSpec> {
    let root = match yaml::parse(file) {
        Ok(root) => root,
        Err(d) => {
            diags.push(d);
            return vec![];
        }
    };
    let items = match &root.value {
        Value::Map(entries) => {
            let mut items = None;
            for (key, value) in entries {
                match key.as_str() {
                    Some("rules") => items = Some(value),
                    _ => diags.push(
                        Diagnostic::at(
                            &key.loc(file),
                            format!(
                                "unknown top-level key `{}`",
                                key.scalar_text().unwrap_or_default()
                            ),
                        )
                        .with_help(did_you_mean(key.as_str().unwrap_or(""), ["rules"]))
                        .with_label("a rule file holds one key, `rules:`"),
                    ),
                }
            }
            items
        }
        Value::Null => return vec![],
        _ => None,
    };
    let Some(items) = items else {
        diags.push(Diagnostic::at(
            &root.loc(file),
            "a rule file must be a mapping with a `rules:` list",
        ));
        return vec![];
    };
    match &items.value {
        Value::Seq(items) => items
            .iter()
            .filter_map(|item| parse_rule(item, file, ctx, diags, names))
            .collect(),
        Value::Null => vec![],
        _ => {
            diags.push(Diagnostic::at(
                &items.loc(file),
                format!(
                    "`rules` must be a list of rules, found {}",
                    items.kind_name()
                ),
            ));
            vec![]
        }
    }
}

fn parse_rule(
    node: &Node,
    file: &Arc<SourceFile>,
    ctx: &RuleContext,
    diags: &mut Diagnostics,
    names: &mut Vec<Located<String>>,
) -> Option<RuleSpec> {
    let Value::Map(entries) = &node.value else {
        diags.push(Diagnostic::at(
            &node.loc(file),
            format!(
                "expected a rule (a mapping with `name` and `type`), found {}",
                node.kind_name()
            ),
        ));
        return None;
    };
    let mut fields: HashMap<&str, &Node> = HashMap::new();
    let mut keys = Vec::new();
    for (key, value) in entries {
        match key.as_str() {
            Some(k) => {
                fields.insert(k, value);
                keys.push((k, key));
            }
            None => diags.push(Diagnostic::at(&key.loc(file), "field names must be text")),
        }
    }
    let before = diags.len();
    let mut r = Reader {
        file,
        diags,
        sources: ctx.sources,
    };
    let name = fields.get("name").and_then(|n| r.text(n));
    names.extend(name.clone());
    let rule_name = name
        .as_ref()
        .map(|n| n.value.clone())
        .unwrap_or_else(|| "<unnamed>".into());
    let type_def = match fields.get("type") {
        Some(t) => resolve_type(t, &mut r),
        None => None,
    };
    for required in ["name", "type"] {
        if !fields.contains_key(required) {
            let message = format!("rule `{rule_name}` is missing the field `{required}`");
            r.diags.push(Diagnostic::at(&node.loc(file), message));
        }
    }
    let type_def = type_def?;
    let misspelled = check_field_names(&keys, type_def, &mut r);
    // A required field that a misspelled key was suggested for is already reported.
    for f in type_def
        .fields
        .iter()
        .filter(|f| f.required && !fields.contains_key(f.name) && !misspelled.contains(&f.name))
    {
        let message = format!(
            "rule `{rule_name}` of type `{}` is missing the field `{}`",
            type_def.name, f.name
        );
        r.diags.push(
            Diagnostic::at(&node.loc(file), message)
                .with_help(Some(format!("`{}`: {}", f.name, f.doc))),
        );
    }
    if let Some(reason) = type_def.rowless {
        for key in ["where", "source_where", "target_where"] {
            if let Some((_, node)) = keys.iter().find(|(k, _)| *k == key) {
                let message = format!(
                    "field `{key}` does not apply to `{}` rules ({reason})",
                    type_def.name
                );
                r.error(node, message);
            }
        }
    }
    let on = fields
        .get("on")
        .and_then(|n| r.source_name(n))
        .map(|s| s.value);
    let input = RuleInput {
        rule: &rule_name,
        fields: &fields,
        on: on.as_deref(),
        ctx,
    };
    let kind = (type_def.parse)(&input, &mut r);
    super::satisfiable::check(type_def, &input, &mut r);
    let common = read_common(&fields, type_def, ctx, &mut r);
    if r.diags.len() > before {
        return None;
    }
    let (severity, tags, source_where, target_where, max_violations, sample, description) = common;
    Some(RuleSpec {
        name: name?,
        type_name: type_def.name,
        kind: kind?,
        description,
        severity,
        tags,
        source_where,
        target_where,
        max_violations,
        sample,
        file: file.display.clone(),
        loc: node.loc(file),
    })
}

fn resolve_type(node: &Node, r: &mut Reader) -> Option<&'static RuleTypeDef> {
    let text = r.text(node)?;
    if let Some(def) = rule_types::rule_type(&text.value) {
        return Some(def);
    }
    let help = did_you_mean(&text.value, rule_types::all_type_names());
    let names: Vec<_> = all_rule_types().map(|t| t.name).collect();
    r.diags.push(
        Diagnostic::at(&text.loc, format!("unknown rule type `{}`", text.value))
            .with_label(format!("expected one of: {}", names.join(", ")))
            .with_help(help),
    );
    None
}

/// Reports fields that do not belong to the rule type; returns the fields suggested instead.
fn check_field_names(
    keys: &[(&str, &Node)],
    type_def: &RuleTypeDef,
    r: &mut Reader,
) -> Vec<&'static str> {
    let mut suggested = Vec::new();
    for (key, node) in keys {
        if rule_types::field(type_def, key).is_some() {
            continue;
        }
        let owner = all_rule_types().find(|t| t.fields.iter().any(|f| f.name == *key));
        let allowed = COMMON_FIELDS.iter().chain(type_def.fields).map(|f| f.name);
        let near = super::diagnostic::closest(key, allowed.clone());
        suggested.extend(near);
        let diagnostic = match owner {
            Some(owner) => Diagnostic::at(
                &node.loc(r.file),
                format!("field `{key}` does not apply to `{}` rules", type_def.name),
            )
            .with_label(format!("`{key}` belongs to `{}` rules", owner.name)),
            None => Diagnostic::at(
                &node.loc(r.file),
                format!("unknown field `{key}` in a `{}` rule", type_def.name),
            )
            .with_help(did_you_mean(key, allowed.clone())),
        };
        let expected: Vec<_> = allowed.collect();
        let diagnostic = if diagnostic.label.is_none() {
            diagnostic.with_label(format!("expected one of: {}", expected.join(", ")))
        } else {
            diagnostic
        };
        r.diags.push(diagnostic);
    }
    suggested
}

type Common = (
    super::spec::Severity,
    Vec<String>,
    Option<SqlText>,
    Option<SqlText>,
    CountOrPercent,
    usize,
    Option<String>,
);

fn read_common(
    fields: &HashMap<&str, &Node>,
    type_def: &RuleTypeDef,
    ctx: &RuleContext,
    r: &mut Reader,
) -> Common {
    let severity = fields
        .get("severity")
        .and_then(|n| r.severity(n))
        .unwrap_or(ctx.defaults.severity);
    let tags = fields
        .get("tags")
        .and_then(|n| r.words(n))
        .unwrap_or_default();
    let both = fields.get("where").and_then(|n| r.predicate(n));
    let source_where = fields
        .get("source_where")
        .and_then(|n| r.predicate(n))
        .or_else(|| both.clone());
    let target_where = fields
        .get("target_where")
        .and_then(|n| r.predicate(n))
        .or(both);
    let max_violations = fields
        .get("max_violations")
        .and_then(|n| r.count_or_percent(n))
        .unwrap_or(CountOrPercent::Count(0));
    let sample = fields
        .get("sample")
        .and_then(|n| r.count(n))
        .map(|n| n as usize)
        .unwrap_or(ctx.defaults.sample);
    let description = fields
        .get("description")
        .and_then(|n| r.text(n))
        .map(|t| t.value.trim().to_string());
    let _ = type_def;
    (
        severity,
        tags,
        source_where,
        target_where,
        max_violations,
        sample,
        description,
    )
}

/// Rules read from `yaml` as if from `rules/test.yaml` of a project with the sources `prod`
/// and `staging`: for the unit tests of the layers that take rules.
#[cfg(test)]
pub(crate) fn parse_for_test(yaml: &str) -> (Vec<RuleSpec>, Diagnostics) {
    let file = Arc::new(SourceFile {
        display: "rules/test.yaml".into(),
        path: "rules/test.yaml".into(),
        text: yaml.into(),
    });
    let sources = ["prod".to_string(), "staging".to_string()];
    let defaults = Defaults::default();
    let ctx = RuleContext {
        sources: &sources,
        defaults: &defaults,
        queries_dir: Path::new("queries"),
    };
    let mut diags = Diagnostics::default();
    let rules = parse_rule_file(&file, &ctx, &mut diags, &mut Vec::new());
    (rules, diags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::spec::RuleKind;

    #[test]
    fn a_rule_of_every_common_type_is_read_with_its_fields() {
        let (rules, diags) = parse_for_test(
            "rules:
  - {name: a, type: row_count, table: prod.users, min: 1, max: 10}
  - {name: b, type: not_null, table: prod.users, columns: [id, email], severity: warn}
  - {name: c, type: foreign_key, child: prod.orders(user_id), parent: staging.users(id)}
  - {name: d, type: accepted_values, table: prod.users, column: kind, values: [x, 2]}
",
        );
        assert!(diags.is_empty(), "{diags}");
        let names: Vec<&str> = rules.iter().map(|r| r.name.value.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert!(matches!(
            rules[0].kind,
            RuleKind::RowCount {
                min: Some(1),
                max: Some(10),
                ..
            }
        ));
        assert_eq!(rules[1].severity, crate::config::Severity::Warn);
        let RuleKind::ForeignKey { child, parent } = &rules[2].kind else {
            panic!("{:?}", rules[2].kind)
        };
        assert_eq!(
            (child.table.source.as_str(), child.table.table.as_str()),
            ("prod", "orders")
        );
        assert_eq!(parent.table.source, "staging");
        assert_eq!(parent.columns[0].value, "id");
    }

    #[test]
    fn problems_name_the_file_line_and_what_was_expected() {
        let (rules, diags) = parse_for_test(
            "rules:
  - {name: a, type: row_count, table: prod.users, min: 5, max: 1}
  - {name: b, type: not_nul, table: prod.users, columns: [id]}
  - {name: c, type: row_count, table: nowhere.users}
  - {name: d, type: accepted_values, table: prod.users, column: kind, values: []}
",
        );
        let text = diags.to_string();
        assert!(rules.len() < 4, "{text}");
        for expected in [
            "rules/test.yaml:2",
            "min",
            "rules/test.yaml:3",
            "not_null",
            "nowhere",
            ":5",
        ] {
            assert!(
                text.contains(expected),
                "`{expected}` missing from:\n{text}"
            );
        }
    }
}
