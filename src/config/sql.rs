//! Syntax checks of SQL written in rules, before anything reaches an engine or a database:
//! a query must be exactly one SELECT, WITH or VALUES; a predicate exactly one expression.

use datafusion::sql::sqlparser::ast::{SetExpr, Statement};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// Why rule SQL was rejected before planning, worded for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

impl From<String> for Rejected {
    fn from(text: String) -> Self {
        Rejected(text)
    }
}

impl From<&str> for Rejected {
    fn from(text: &str) -> Self {
        Rejected(text.to_string())
    }
}

/// Most operators one SQL text of a rule may hold. A chain such as `a + a + … + a` parses
/// into a tree as deep as it is long, which the SQL planner walks recursively: 2,000 terms
/// overflowed its stack (an abort, not an error) in a dev build. No rule needs hundreds.
pub const MAX_OPERATORS: usize = 500;

/// Rejects SQL whose expressions could be deeper than the planner can walk. Counted on
/// tokens, without building the tree.
fn check_size(sql: &str) -> Result<(), String> {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        // The parser reports the syntax error, with its position.
        return Ok(());
    };
    let operators = tokens.iter().filter(|t| is_operator(t)).count();
    if operators > MAX_OPERATORS {
        return Err(format!(
            "the SQL holds {operators} operators; rule SQL is limited to {MAX_OPERATORS} \
             (split the check into several rules)"
        ));
    }
    Ok(())
}

/// Every token but names, literals and punctuation counts: a binary or unary operator
/// (`+`, `=`, `->`, `::`, `AND`, …) may add a level to the tree; over-counting is harmless.
fn is_operator(token: &Token) -> bool {
    match token {
        Token::Word(w) => matches!(
            w.value.to_ascii_uppercase().as_str(),
            "AND" | "OR" | "NOT" | "IS" | "LIKE" | "ILIKE" | "BETWEEN"
        ),
        Token::EOF
        | Token::Number(..)
        | Token::Char(_)
        | Token::Whitespace(_)
        | Token::Comma
        | Token::LParen
        | Token::RParen
        | Token::Period
        | Token::SemiColon
        | Token::LBracket
        | Token::RBracket
        | Token::LBrace
        | Token::RBrace
        | Token::Placeholder(_)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::TripleSingleQuotedString(_)
        | Token::TripleDoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
        | Token::TripleSingleQuotedByteStringLiteral(_)
        | Token::TripleDoubleQuotedByteStringLiteral(_)
        | Token::SingleQuotedRawStringLiteral(_)
        | Token::DoubleQuotedRawStringLiteral(_)
        | Token::TripleSingleQuotedRawStringLiteral(_)
        | Token::TripleDoubleQuotedRawStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::QuoteDelimitedStringLiteral(_)
        | Token::NationalQuoteDelimitedStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_) => false,
        _ => true,
    }
}

/// Checks that `sql` is one read-only query.
pub fn check_query(sql: &str) -> Result<(), Rejected> {
    check_size(sql)?;
    let statements =
        Parser::parse_sql(&GenericDialect {}, sql).map_err(|e| format!("invalid SQL: {e}"))?;
    match statements.as_slice() {
        [] => Err(Rejected::from("the query is empty")),
        [Statement::Query(query)] => match query.body.as_ref() {
            SetExpr::Select(select) if select.into.is_some() => Err(Rejected::from(
                "rule SQL must only read: SELECT ... INTO is not allowed",
            )),
            _ => Ok(()),
        },
        [other] => Err(Rejected(format!(
            "rule SQL must be one query (SELECT, WITH or VALUES), found {}",
            statement_keyword(other)
        ))),
        many => Err(Rejected(format!(
            "rule SQL must be one query, found {} statements",
            many.len()
        ))),
    }
}

/// Checks that `sql` is one expression (a `where` or `condition`), nothing after it.
pub fn check_predicate(sql: &str) -> Result<(), Rejected> {
    if sql.trim().is_empty() {
        return Err(Rejected::from("the expression is empty"));
    }
    check_size(sql)?;
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(|e| format!("invalid SQL: {e}"))?;
    parser
        .parse_expr()
        .map_err(|e| format!("invalid SQL expression: {e}"))?;
    match parser.peek_token().token {
        Token::EOF => Ok(()),
        other => Err(Rejected(format!(
            "unexpected `{other}` after the expression (one SQL expression is expected)"
        ))),
    }
}

/// Whether an expression calls a window function (`lag(x) OVER (ORDER BY id)`): such a
/// condition is computed over the rows before they are counted, not inside the count.
pub fn has_window_function(sql: &str) -> bool {
    let dialect = GenericDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        return false;
    };
    tokens
        .iter()
        .any(|t| matches!(t, Token::Word(w) if w.keyword == Keyword::OVER))
}

fn statement_keyword(statement: &Statement) -> String {
    let text = statement.to_string();
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some(a), Some(b)) if matches!(a, "CREATE" | "DROP" | "ALTER" | "TRUNCATE") => {
            format!("{a} {b}")
        }
        (Some(a), _) => a.to_string(),
        _ => "an empty statement".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_functions_are_told_by_their_over_not_by_text_in_quotes() {
        assert!(has_window_function("x >= lag(x) OVER (ORDER BY id)"));
        assert!(has_window_function("row_number() over w = 1"));
        assert!(!has_window_function("note <> 'game over (again)'"));
        assert!(!has_window_function("\"over\" > 1"));
    }

    #[test]
    fn operator_chains_deeper_than_the_planner_can_walk_are_refused() {
        let chain = |n: usize| vec!["1"; n].join(" + ");
        assert_eq!(
            check_predicate(&format!("id = {}", chain(MAX_OPERATORS))),
            Ok(())
        );
        let err = check_predicate(&format!("id = {}", chain(MAX_OPERATORS + 1)))
            .unwrap_err()
            .0;
        assert!(err.contains("501 operators"), "{err}");
        let ors = vec!["id = 1"; 300].join(" OR ");
        assert!(check_query(&format!("SELECT * FROM t WHERE {ors}")).is_err());
        let arrows = vec!["'k'"; 600].join(" -> ");
        assert!(check_predicate(&format!("j -> {arrows} IS NULL")).is_err());
        assert!(
            check_query(&format!(
                "SELECT * FROM t WHERE id IN ({})",
                vec!["1"; 5000].join(", ")
            ))
            .is_ok()
        );
    }

    #[test]
    fn accepts_queries() {
        for q in [
            "SELECT 1",
            "with a as (select 1) select * from a",
            "VALUES (1), (2)",
            "select * from prod.users;",
        ] {
            assert_eq!(check_query(q), Ok(()), "{q}");
        }
    }

    #[test]
    fn rejects_writes_and_several_statements() {
        assert!(
            check_query("DELETE FROM prod.users")
                .unwrap_err()
                .0
                .contains("found DELETE")
        );
        assert!(
            check_query("drop table x")
                .unwrap_err()
                .0
                .contains("DROP TABLE")
        );
        assert!(
            check_query("select 1; delete from t")
                .unwrap_err()
                .0
                .contains("2 statements")
        );
        assert!(check_query("select * into t2 from t").is_err());
        assert!(
            check_query("selec 1")
                .unwrap_err()
                .0
                .starts_with("invalid SQL")
        );
    }

    #[test]
    fn predicates_are_one_expression() {
        assert_eq!(check_predicate("score between 0 and 100"), Ok(()));
        assert!(check_predicate("1=1; delete from t").is_err());
        assert!(check_predicate("a = ").is_err());
        assert!(check_predicate("").is_err());
    }
}
