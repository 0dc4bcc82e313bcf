//! `sql`: the rows a query returns are its violations.

use std::path::Path;

use super::{RuleInput, RuleTypeDef, Shape, opt};
use crate::config::diagnostic::{Diagnostic, did_you_mean};
use crate::config::fields::Reader;
use crate::config::spec::{RuleKind, SqlText};

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "sql",
    aliases: &[],
    doc: "Rows the query returns.",
    fields: &[
        opt(
            "sql",
            Shape::Query,
            "The query, inline (give `sql` or `query`).",
        ),
        opt(
            "query",
            Shape::QueryFile,
            "A file under queries/ holding the query.",
        ),
        opt(
            "out_of",
            Shape::Query,
            "A query returning one number, what a percentage `max_violations` is of (`SELECT count(*) FROM prod.users`).",
        ),
    ],
    rowless: None,
    parse,
    check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let out_of = match f.get("out_of") {
        Some(n) => Some(r.query(n)?),
        None => None,
    };
    Some(RuleKind::Sql {
        query: query_of_rule(f, r)?,
        on: f.on.map(str::to_string),
        out_of,
    })
}

/// Every row a `sql` rule returns is a violation, so a percentage of them allows nothing:
/// a percentage needs the number it is of.
fn check(f: &RuleInput, r: &mut Reader) {
    use crate::config::yaml::Value;
    let Some(max) = f.get("max_violations") else {
        return;
    };
    let percent = matches!(&max.value, Value::Str(s) if s.trim_end().ends_with('%'));
    if percent && f.get("out_of").is_none() {
        r.diags.push(
            Diagnostic::at(
                &max.loc(r.file),
                format!(
                    "rule `{}`: a percentage `max_violations` on a `sql` rule needs `out_of`, the \
                     number it is a percentage of (every row the query returns is a violation)",
                    f.rule
                ),
            )
            .with_help(Some(
                "add e.g. `out_of: SELECT count(*) FROM prod.users`, or give a count".into(),
            )),
        );
    }
}

/// The query of a `sql` or `query_match` rule: inline `sql:` or a `query:` file under
/// queries/.
pub(super) fn query_of_rule(f: &RuleInput, r: &mut Reader) -> Option<SqlText> {
    let queries_dir = f.ctx.queries_dir;
    match (f.get("sql"), f.get("query")) {
        (Some(inline), None) => r.query(inline),
        (None, Some(file_node)) => {
            let name = r.text(file_node)?;
            let path = queries_dir.join(&name.value);
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    let available = list_queries(queries_dir);
                    let help = did_you_mean(&name.value, available.iter().map(String::as_str));
                    let message = format!(
                        "cannot read query file `{}`: {}",
                        path.display(),
                        crate::filesystem::io_reason(&e)
                    );
                    r.diags
                        .push(Diagnostic::at(&name.loc, message).with_help(help));
                    return None;
                }
            };
            if let Err(message) = crate::config::sql::check_query(&text) {
                r.error(file_node, format!("{}: {message}", path.display()));
                return None;
            }
            Some(SqlText {
                text,
                loc: name.loc,
                file: Some(path),
            })
        }
        (Some(_), Some(q)) => {
            r.error(q, "give either `sql` or `query`, not both");
            None
        }
        (None, None) => {
            r.diags.push(Diagnostic::plain(
                "a `sql` rule needs `sql:` (inline) or `query:` (a file under queries/)",
            ));
            None
        }
    }
}

fn list_queries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    crate::filesystem::walk_files(dir, &mut |path| {
        if let Ok(rel) = path.strip_prefix(dir) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    });
    out
}
