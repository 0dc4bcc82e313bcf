//! The DataFusion session every layer plans in: how it is configured (memory limit, joins
//! that spill), the view of one source's tables, table references, and DataFusion's error text.

use datafusion::common::TableReference;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::memory;
use crate::config::TableName;

/// DataFusion's error text without backtraces and repeated wrapping.
pub fn error_text(e: &DataFusionError) -> String {
    let mut text = e.strip_backtrace();
    // Context layers ("… caused by …") repeat what the innermost error says.
    if let Some(i) = text.rfind("caused by") {
        text = text[i + "caused by".len()..].to_string();
    }
    let mut text = text.trim();
    let prefixes = [
        "Error during planning: ",
        "Arrow error: ",
        "External error: ",
        "Execution error: ",
        "Schema error: ",
        "Csv error: ",
        "Json error: ",
        "Parquet error: ",
        "Parser error: ",
        "Object Store error: ",
        "Io error: ",
        "IO error: ",
    ];
    while let Some(rest) = prefixes.iter().find_map(|p| text.strip_prefix(p)) {
        text = rest.trim();
    }
    memory::spill_context(
        text.replace(" records, found ", " fields, found ")
            .replace(" records at line ", " fields at line ")
            .replace("Expected ", "expected "),
    )
}

/// A session configured for crosscheck: `target_partitions` from the machine.
pub fn new_session() -> SessionContext {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_default_catalog_and_schema("crosscheck", "public");
    // Joins that can spill: a hash join holds its build side in memory whatever the limit.
    config.options_mut().optimizer.prefer_hash_join = false;
    // Planning errors say where in the SQL they are (see `engine::sql_position`).
    config.options_mut().sql_parser.collect_spans = true;
    // Bounded memory: sorts and aggregates spill to the temporary folder past the limit.
    let pool = memory::pool_size(memory::memory_limit());
    let config = memory::fit(config, pool);
    let mut ctx = match memory::runtime(pool) {
        Ok(runtime) => SessionContext::new_with_config_rt(config, runtime),
        Err(_) => SessionContext::new_with_config(config),
    };
    // Registering functions on a fresh session cannot clash with anything.
    if let Err(e) = super::json::register(&mut ctx) {
        unreachable!("the JSON functions could not be registered: {e}");
    }
    ctx.register_udf(super::row_hash::udf());
    ctx
}

/// A view of `ctx` in which unqualified table names resolve to the tables of `source`.
pub fn session_on(ctx: &SessionContext, source: &str) -> SessionContext {
    let mut state = ctx.state();
    state.config_mut().options_mut().catalog.default_schema = source.to_string();
    SessionContext::new_with_state(state)
}

/// The DataFusion reference of a table named in a rule: `source.schema.table` or `source.table`.
pub fn reference(name: &TableName) -> TableReference {
    match &name.schema {
        Some(schema) => {
            TableReference::full(name.source.clone(), schema.clone(), name.table.clone())
        }
        None => TableReference::partial(name.source.clone(), name.table.clone()),
    }
}
