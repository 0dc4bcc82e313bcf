//! `schema_match` between two sources counts a change made on a partitioned table once, on
//! that table: PostgreSQL hands it down to every partition (a column's type or default, a
//! dropped column, an index created or dropped on the parent), so the same difference shows
//! on each partition too, and counting it there would make the count grow with the number of
//! partitions. A partition's difference that its parent does not have (a default set on one
//! partition, an index only it has) is its own and stays. Pure: runs on the differences
//! `engine::schema` found per table.

use serde_json::Value;

use super::schema::Difference;
use crate::source::schema_facts::{RelationKind, TableFacts};

/// The differences found on one table present in both sources, with what tells whether they
/// were inherited.
pub struct TableDiffs<'a> {
    pub name: &'a str,
    pub source_kind: Option<&'a RelationKind>,
    pub target_kind: Option<&'a RelationKind>,
    pub source_facts: Option<&'a TableFacts>,
    pub target_facts: Option<&'a TableFacts>,
    pub diffs: Vec<Difference>,
}

impl TableDiffs<'_> {
    /// The parent when the table is a partition of the same table on both sides.
    fn parent(&self) -> Option<&str> {
        match (self.source_kind, self.target_kind) {
            (
                Some(RelationKind::Partition { parent: s }),
                Some(RelationKind::Partition { parent: t }),
            ) if s == t => Some(s),
            _ => None,
        }
    }

    /// What a difference is regardless of the table it is on: the object within the table
    /// (an attached index as its parent index), what differs, and the two sides, except for
    /// indexes and sequences, whose texts name the table itself.
    fn key(&self, d: &Difference) -> Key {
        let object = d[0].as_str().unwrap_or_default();
        let within = object
            .strip_prefix(self.name)
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(if object == self.name { "" } else { object });
        let what = d[1].as_str().unwrap_or_default().to_string();
        if what.contains("index") {
            let parent_index = [self.source_facts, self.target_facts]
                .into_iter()
                .flatten()
                .find_map(|f| f.index_parents.get(within));
            let within = parent_index.map_or(within, String::as_str);
            return (within.to_string(), what, Value::Null, Value::Null);
        }
        if what.starts_with("sequence") {
            return (within.to_string(), what, Value::Null, Value::Null);
        }
        (within.to_string(), what, d[2].clone(), d[3].clone())
    }
}

/// A difference as [`TableDiffs::key`] sees it.
type Key = (String, String, Value, Value);

/// Drops from each partition the differences its partitioned table has too.
pub fn drop_inherited(tables: &mut [TableDiffs]) {
    let keys_of = |tables: &[TableDiffs], name: &str| -> Vec<Key> {
        tables
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.diffs.iter().map(|d| t.key(d)).collect())
            .unwrap_or_default()
    };
    let inherited: Vec<Vec<Key>> = tables
        .iter()
        .map(|t| t.parent().map(|p| keys_of(tables, p)).unwrap_or_default())
        .collect();
    for (table, parent_keys) in tables.iter_mut().zip(inherited) {
        if parent_keys.is_empty() {
            continue;
        }
        let diffs = std::mem::take(&mut table.diffs);
        table.diffs = diffs
            .into_iter()
            .filter(|d| !parent_keys.contains(&table.key(d)))
            .collect();
    }
}

/// Whether a table present on one side only is a partition of a table also present on that
/// side only: it went (or came) with its partitioned table, which is the difference.
pub fn absent_with_parent(kind: Option<&RelationKind>, one_sided: &[&String]) -> bool {
    matches!(kind, Some(RelationKind::Partition { parent }) if one_sided.contains(&parent))
}

/// Whether a partition missing on a side of files is held by its parent's export there:
/// files have no partitions (as they have no indexes), so that is no difference.
pub fn exported_with_parent(
    kind: Option<&RelationKind>,
    other_tables: &[String],
    other_is_database: bool,
) -> bool {
    !other_is_database
        && matches!(kind, Some(RelationKind::Partition { parent }) if other_tables.contains(parent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::schema::{difference, text};

    fn partition() -> RelationKind {
        RelationKind::Partition {
            parent: "payment".into(),
        }
    }

    /// A table of the same kind on both sides, with no facts of its own.
    fn table<'a>(name: &'a str, kind: &'a RelationKind, diffs: Vec<Difference>) -> TableDiffs<'a> {
        TableDiffs {
            name,
            source_kind: Some(kind),
            target_kind: Some(kind),
            source_facts: None,
            target_facts: None,
            diffs,
        }
    }

    #[test]
    fn a_partition_keeps_only_its_own_differences() {
        let parent_kind = RelationKind::PartitionedTable;
        let p = partition();
        let source_facts = TableFacts {
            index_parents: [(
                "p1_customer_idx".to_string(),
                "payment_customer".to_string(),
            )]
            .into(),
            ..Default::default()
        };
        let type_change =
            |object: &str| difference(object, "type differs", text("text"), text("varchar(40)"));
        let mut tables = [
            table(
                "payment",
                &parent_kind,
                vec![
                    type_change("payment.note"),
                    difference(
                        "payment.payment_customer",
                        "index missing in target",
                        text("CREATE INDEX ON ONLY payment USING btree (customer_id)"),
                        Value::Null,
                    ),
                ],
            ),
            TableDiffs {
                name: "p1",
                source_kind: Some(&p),
                target_kind: Some(&p),
                source_facts: Some(&source_facts),
                target_facts: None,
                diffs: vec![
                    type_change("p1.note"),
                    difference(
                        "p1.p1_customer_idx",
                        "index missing in target",
                        text("CREATE INDEX ON p1 USING btree (customer_id)"),
                        Value::Null,
                    ),
                    difference("p1.amount", "default differs", text("0"), text("5")),
                ],
            },
        ];
        drop_inherited(&mut tables);
        assert_eq!(tables[0].diffs.len(), 2, "the parent keeps its differences");
        assert_eq!(
            tables[1].diffs,
            [difference(
                "p1.amount",
                "default differs",
                text("0"),
                text("5")
            )],
            "only the partition's own default is left"
        );
    }

    #[test]
    fn a_partition_whose_parent_differs_between_the_sides_keeps_everything() {
        let parent_kind = RelationKind::PartitionedTable;
        let p = partition();
        let mut tables = [
            table(
                "payment",
                &parent_kind,
                vec![difference(
                    "payment.note",
                    "type differs",
                    text("a"),
                    text("b"),
                )],
            ),
            TableDiffs {
                name: "p1",
                source_kind: Some(&p),
                target_kind: Some(&RelationKind::Table),
                source_facts: None,
                target_facts: None,
                diffs: vec![difference("p1.note", "type differs", text("a"), text("b"))],
            },
        ];
        drop_inherited(&mut tables);
        assert_eq!(
            tables[1].diffs.len(),
            1,
            "a detached partition is its own table"
        );
    }

    #[test]
    fn a_partition_goes_with_its_parent() {
        let payment = "payment".to_string();
        let other = "other".to_string();
        assert!(absent_with_parent(Some(&partition()), &[&payment]));
        assert!(!absent_with_parent(Some(&partition()), &[&other]));
        assert!(!absent_with_parent(Some(&RelationKind::Table), &[&payment]));
        assert!(!absent_with_parent(None, &[&payment]));
        let export = ["payment".to_string()];
        assert!(exported_with_parent(Some(&partition()), &export, false));
        assert!(!exported_with_parent(Some(&partition()), &export, true));
        assert!(!exported_with_parent(Some(&partition()), &[], false));
    }
}
