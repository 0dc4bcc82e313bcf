//! Where in the rule file a planning error points. DataFusion says where in the SQL it
//! planned the trouble is (a column, function or table it does not know, a syntax error);
//! the SQL it planned is the rule's compiled query, which holds the user's SQL verbatim, so
//! the place is found in the user's text and from there in the YAML.

use datafusion::error::DataFusionError;

use crate::config::SqlText;
use crate::config::location::Loc;
use crate::kernel::sqlgen::strip_semicolons;

/// The place in the rule file of what `e` (from planning `compiled`) complains about, when
/// DataFusion gave one and it lies in SQL the user wrote in one of `texts`.
pub fn located(e: &DataFusionError, compiled: &str, texts: &[&SqlText]) -> Option<Loc> {
    let span = e.diagnostic()?.span?;
    let (line, column) = (span.start.line as usize, span.start.column as usize);
    let start = byte_offset(compiled, line, column)?;
    let len = if span.end.line == span.start.line {
        (span.end.column as usize).saturating_sub(column)
    } else {
        1
    };
    texts.iter().find_map(|text| {
        let written = strip_semicolons(&text.text);
        let lead = text.text.find(written)?;
        // The compiled query may hold the text more than once (a count and a sample).
        let at = compiled
            .match_indices(written)
            .map(|(at, _)| at)
            .find(|at| (*at..*at + written.len().max(1)).contains(&start))?;
        let (line, column) = line_column(&text.text, lead + start - at);
        text.loc_at(line, column, len)
    })
}

/// The byte offset of 1-based `line` and character `column` in `text`.
fn byte_offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let mut offset = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line {
            let within = l
                .char_indices()
                .map(|(b, _)| b)
                .chain(std::iter::once(l.len()))
                .nth(column.checked_sub(1)?)?;
            return Some(offset + within);
        }
        offset += l.len() + 1;
    }
    None
}

/// The 1-based line and character column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_positions_agree() {
        let text = "select a,\n  é.b from t";
        for (offset, _) in text.char_indices() {
            let (line, column) = line_column(text, offset);
            assert_eq!(byte_offset(text, line, column), Some(offset));
        }
        assert_eq!(line_column(text, text.find("b from").unwrap()), (2, 5));
        assert_eq!(byte_offset(text, 3, 1), None);
    }
}
