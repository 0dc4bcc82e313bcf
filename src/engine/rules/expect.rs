//! `expect`: a row predicate (the condition not known to hold) counted in its table's
//! shared scan.

use async_trait::async_trait;

use super::{Compiled, RuleType, wrong_kind};
use crate::config::SqlText;
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{Plan, scan};

pub struct Expect;

#[async_trait]
impl RuleType for Expect {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::Expect { table, .. } => vec![(table, &[])],
            _ => vec![],
        }
    }

    fn sql_text<'a>(&self, kind: &'a RuleKind) -> Option<&'a SqlText> {
        match kind {
            RuleKind::Expect { condition, .. } => Some(condition),
            _ => None,
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::Expect { table, condition } = &spec.kind else {
            unreachable!("{}", wrong_kind("expect", spec))
        };
        // NULL counts as false: a row passes only when the condition is known to hold.
        // `IS NOT TRUE` rather than `NOT coalesce(…, false)`, the same rows: DataFusion keeps
        // where in the condition a planning error is through it, not through NOT.
        let violation = format!("({}) IS NOT TRUE", condition.text);
        Compiled::new(Plan::RowPredicate {
            scan: scan(spec, table),
            violation,
        })
        .sampling(table)
    }
}
