//! `accepted_values`: a row predicate counted in its table's shared scan.

use async_trait::async_trait;

use super::{Compiled, RuleType, wrong_kind};
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{Plan, scan};
use crate::kernel::sqlgen::{ident, in_list};

pub struct AcceptedValues;

#[async_trait]
impl RuleType for AcceptedValues {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::AcceptedValues { table, column, .. } => {
                vec![(table, std::slice::from_ref(column))]
            }
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::AcceptedValues {
            table,
            column,
            values,
        } = &spec.kind
        else {
            unreachable!("{}", wrong_kind("accepted_values", spec))
        };
        let violation = format!(
            "{} IS NOT NULL AND NOT ({})",
            ident(column),
            in_list(column, values)
        );
        Compiled::new(Plan::RowPredicate {
            scan: scan(spec, table),
            violation,
        })
        .sampling(table)
    }
}
