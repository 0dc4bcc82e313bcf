//! `--select` / `--exclude`: rule name globs and `tag:WORD`.

use crate::config::RuleSpec;
use crate::kernel::mask::glob;

fn matches(rule: &RuleSpec, pattern: &str) -> bool {
    match pattern.strip_prefix("tag:") {
        Some(tag) => rule.tags.iter().any(|t| t == tag),
        None => glob(pattern, &rule.name.value),
    }
}

/// The rules picked by `select` (all when empty) and not by `exclude`, in file order.
pub fn select<'a>(
    rules: &'a [RuleSpec],
    select: &[String],
    exclude: &[String],
) -> Vec<&'a RuleSpec> {
    rules
        .iter()
        .filter(|r| select.is_empty() || select.iter().any(|p| matches(r, p)))
        .filter(|r| !exclude.iter().any(|p| matches(r, p)))
        .collect()
}
