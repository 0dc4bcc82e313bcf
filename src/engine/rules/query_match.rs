//! `query_match`: one query run on two sources, the results compared as `diff` compares
//! tables.

use crate::engine::error::RuleResult;
use async_trait::async_trait;

use super::{Compiled, RuleType, wrong_kind};
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{CompiledRule, Plan, source_where, target_where};
use crate::engine::measure::MeasureContext;
use crate::engine::outcome::Measure;
use crate::kernel::sqlgen::strip_semicolons;

pub struct QueryMatch;

#[async_trait]
impl RuleType for QueryMatch {
    /// The query's tables are the user's SQL, planned rather than checked by name.
    fn names<'a>(&self, _kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        vec![]
    }

    /// The two sources.
    fn tables(&self, kind: &RuleKind) -> Vec<String> {
        match kind {
            RuleKind::QueryMatch { source, target, .. } => {
                vec![source.value.clone(), target.value.clone()]
            }
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::QueryMatch {
            query,
            source,
            target,
            options,
        } = &spec.kind
        else {
            unreachable!("{}", wrong_kind("query_match", spec))
        };
        let sql = strip_semicolons(&query.text).to_string();
        // `where` limits the result rows compared, on each side.
        let filtered = |w: &Option<String>| match w {
            Some(w) => format!("SELECT * FROM ({sql}) AS result WHERE ({w})"),
            None => sql.clone(),
        };
        let (source_sql, target_sql) =
            (filtered(&source_where(spec)), filtered(&target_where(spec)));
        let side = |s: &str, sql: &String| crate::diff::Side::Query {
            source: s.to_string(),
            sql: sql.clone(),
        };
        Compiled::new(Plan::Diff {
            source: side(source, &source_sql),
            target: side(target, &target_sql),
            options: options.clone(),
        })
    }

    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        super::diff::measure_diff(m, rule).await
    }
}
