//! `schema_match`: column lists and constraints of two tables or two sources compared
//! (the comparison itself is `engine/schema.rs`).

use crate::engine::error::RuleResult;
use async_trait::async_trait;

use super::{Compiled, RuleType, wrong_kind};
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableOrSource, TableRef};
use crate::engine::compile::{CompiledRule, Plan};
use crate::engine::measure::MeasureContext;
use crate::engine::outcome::Measure;

pub struct SchemaMatch;

#[async_trait]
impl RuleType for SchemaMatch {
    /// The sides that are tables (a whole source needs no check).
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::SchemaMatch { source, target, .. } => [source, target]
                .into_iter()
                .filter_map(|side| match side {
                    TableOrSource::Table(t) => Some((t, &[][..])),
                    TableOrSource::Source(_) => None,
                })
                .collect(),
            _ => vec![],
        }
    }

    /// Both sides, tables or sources.
    fn tables(&self, kind: &RuleKind) -> Vec<String> {
        match kind {
            RuleKind::SchemaMatch { source, target, .. } => [source, target]
                .iter()
                .map(|s| match s {
                    TableOrSource::Table(t) => t.value.to_string(),
                    TableOrSource::Source(s) => s.value.clone(),
                })
                .collect(),
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::SchemaMatch {
            source,
            target,
            ignore,
        } = &spec.kind
        else {
            unreachable!("{}", wrong_kind("schema_match", spec))
        };
        Compiled::new(Plan::Schema {
            source: source.clone(),
            target: target.clone(),
            ignore: ignore.clone(),
        })
    }

    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        let Plan::Schema {
            source,
            target,
            ignore,
        } = &rule.plan
        else {
            return Err(wrong_kind("schema_match", &rule.spec));
        };
        crate::engine::schema::schema_match(m.ctx, source, target, ignore).await
    }
}
