//! `required_keys`: settings that must exist with a value (a config source's `entries`).

use super::{RuleInput, RuleTypeDef, Shape, no_check, req};
use crate::config::fields::Reader;
use crate::config::location::Located;
use crate::config::spec::RuleKind;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "required_keys",
    aliases: &[],
    doc: "Keys missing from a table of settings (a `config` or `environment` source's \
          `entries`, or any table with `key` and `value` columns), or present with an empty \
          or NULL value in every row.",
    fields: &[
        req(
            "table",
            Shape::Table,
            "The settings: a table with `key` and `value` columns.",
        ),
        req(
            "keys",
            Shape::Values,
            "The keys that must be set (`DATABASE_URL`, `database.replicas[0].host`).",
        ),
    ],
    rowless: None,
    parse,
    check: no_check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let table = f.table(r, "table")?;
    let keys_node = f.get("keys")?;
    let keys = r.words(keys_node)?;
    if keys.is_empty() {
        r.error(keys_node, "expected at least one key");
        return None;
    }
    let columns = ["key", "value"]
        .map(|c| Located {
            value: c.to_string(),
            loc: table.loc.clone(),
        })
        .to_vec();
    Some(RuleKind::RequiredKeys {
        table,
        keys,
        columns,
    })
}
