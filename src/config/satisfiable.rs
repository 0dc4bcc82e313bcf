//! Rules that can never pass, or never check a row, are rejected when the files load
//! (`validate` and `run` alike, exit 2) rather than failing every run or passing without
//! looking: `min` above `max`, a negative `max`, an empty `values` list, a `max_age` of 0,
//! and a `where: false`.

use std::collections::HashMap;

use super::diagnostic::Diagnostic;
use super::fields::{Reader, parse_duration};
use super::yaml::{Node, Value};

/// Records a diagnostic for every option of the rule that cannot be satisfied.
pub fn check(type_name: &str, rule: &str, fields: &HashMap<&str, &Node>, r: &mut Reader) {
    let int = |key: &str| match fields.get(key).map(|n| &n.value) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    };
    if let (Some(min), Some(max), Some(node)) = (int("min"), int("max"), fields.get("max"))
        && min > max
    {
        let message =
            format!("rule `{rule}`: `max` ({max}) is below `min` ({min}), so no count can pass");
        push(r, node, message, "swap them, or widen the range");
    }
    if let (Some(max), Some(node)) = (int("max"), fields.get("max"))
        && max < 0
    {
        let message = format!("rule `{rule}`: `max` is {max}, but no table has fewer than 0 rows");
        push(r, node, message, "a `max` of 0 asks for an empty table");
    }
    if type_name == "accepted_values"
        && let Some(node) = fields.get("values")
        && matches!(&node.value, Value::Seq(items) if items.is_empty())
    {
        let message = format!(
            "rule `{rule}`: `values` is empty, so every non-NULL value would be a violation"
        );
        push(r, node, message, "list the accepted values");
    }
    if type_name == "freshness"
        && let Some(node) = fields.get("max_age")
        && node
            .scalar_text()
            .and_then(|t| parse_duration(&t))
            .is_some_and(|d| d.is_zero())
    {
        let message = format!(
            "rule `{rule}`: a `max_age` of 0 can never pass (the newest value would have to be newer than the clock)"
        );
        push(
            r,
            node,
            message,
            "give the largest acceptable age, such as `24h`",
        );
    }
    for key in ["where", "source_where", "target_where"] {
        if let Some(node) = fields.get(key)
            && matches!(node.value, Value::Bool(false))
        {
            let message = format!(
                "rule `{rule}`: `{key}: false` checks no row, so the rule could never fail"
            );
            push(
                r,
                node,
                message,
                "remove the rule, or give it a real condition",
            );
        }
    }
}

fn push(r: &mut Reader, node: &Node, message: String, help: &str) {
    let loc = node.loc(r.file);
    r.diags
        .push(Diagnostic::at(&loc, message).with_help(Some(help.to_string())));
}
