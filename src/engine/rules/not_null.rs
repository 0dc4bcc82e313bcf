//! `not_null`: a row predicate counted in its table's shared scan.

use async_trait::async_trait;

use super::{Compiled, RuleType, wrong_kind};
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{Plan, column_names, scan};
use crate::kernel::sqlgen::ident;

pub struct NotNull;

#[async_trait]
impl RuleType for NotNull {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::NotNull { table, columns } => vec![(table, columns)],
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::NotNull { table, columns } = &spec.kind else {
            unreachable!("{}", wrong_kind("not_null", spec))
        };
        let violation = column_names(columns)
            .iter()
            .map(|c| format!("{} IS NULL", ident(c)))
            .collect::<Vec<_>>()
            .join(" OR ");
        Compiled::new(Plan::RowPredicate {
            scan: scan(spec, table),
            violation,
        })
        .sampling(table)
    }
}
