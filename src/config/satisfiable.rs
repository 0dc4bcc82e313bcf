//! Rules that can never pass, or never check a row, are rejected when the files load
//! (`validate` and `run` alike, exit 2) rather than failing every run or passing without
//! looking: `min` above `max`, a negative `max`, an empty `values` list, a `max_age` of 0
//! (each checked by its type's module under `rule_types/`), and a `where: false` (here).

use super::diagnostic::Diagnostic;
use super::fields::Reader;
use super::rule_types::{RuleInput, RuleTypeDef};
use super::yaml::{Node, Value};

/// Records a diagnostic for every option of the rule that cannot be satisfied: its type's
/// own (`RuleTypeDef::check`), then the predicates common to every rule.
pub fn check(type_def: &RuleTypeDef, f: &RuleInput, r: &mut Reader) {
    (type_def.check)(f, r);
    let rule = f.rule;
    for key in ["where", "source_where", "target_where"] {
        if let Some(node) = f.get(key)
            && matches!(node.value, Value::Bool(false))
        {
            let message = format!(
                "rule `{rule}`: `{key}: false` checks no row, so the rule could never fail"
            );
            unsatisfiable(
                r,
                node,
                message,
                "remove the rule, or give it a real condition",
            );
        }
    }
}

/// Records that `node` can never pass.
pub(super) fn unsatisfiable(r: &mut Reader, node: &Node, message: String, help: &str) {
    let loc = node.loc(r.file);
    r.diags
        .push(Diagnostic::at(&loc, message).with_help(Some(help.to_string())));
}
