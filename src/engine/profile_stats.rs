//! The statistics of a column profile, by what the column's values are: the aggregates
//! `profile_match` compares on two sides and a checkpoint records of one table.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};

/// What a column's values are, which decides the statistics it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `float`: binary floating point on either side, whose sums depend on the order added.
    Number {
        float: bool,
    },
    Text,
    Time,
    Bool,
    /// Scalars of different kinds on the two sides (a number exported as text).
    Mixed,
    /// Lists, structs, bytes, intervals: only their nulls are counted.
    Other,
}

pub fn kind_of(data_type: &DataType) -> Kind {
    use DataType::*;
    match data_type {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Decimal128(..)
        | Decimal256(..) => Kind::Number { float: false },
        Float16 | Float32 | Float64 => Kind::Number { float: true },
        Utf8 | LargeUtf8 | Utf8View => Kind::Text,
        Date32 | Date64 | Timestamp(..) => Kind::Time,
        Boolean => Kind::Bool,
        Dictionary(_, values) => kind_of(values),
        _ => Kind::Other,
    }
}

/// The kind a column is profiled as when its two sides are `s` and `t`.
pub fn shared_kind(s: Kind, t: Kind) -> Kind {
    match (s, t) {
        (Kind::Number { float: a }, Kind::Number { float: b }) => Kind::Number { float: a || b },
        (Kind::Other, _) | (_, Kind::Other) => Kind::Other,
        (a, b) if a == b => a,
        _ => Kind::Mixed,
    }
}

/// One statistic of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    Nulls,
    Distinct,
    Trues,
    Min,
    Max,
    Sum,
    Mean,
    MinLength,
    MaxLength,
    Earliest,
    Latest,
}

impl Stat {
    pub fn of(kind: Kind) -> &'static [Stat] {
        use Stat::*;
        match kind {
            Kind::Number { .. } => &[Nulls, Distinct, Min, Max, Sum, Mean],
            Kind::Text => &[Nulls, Distinct, MinLength, MaxLength],
            Kind::Time => &[Nulls, Distinct, Earliest, Latest],
            Kind::Bool => &[Nulls, Distinct, Trues],
            Kind::Mixed => &[Nulls, Distinct],
            Kind::Other => &[Nulls],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stat::Nulls => "nulls",
            Stat::Distinct => "distinct",
            Stat::Trues => "trues",
            Stat::Min => "min",
            Stat::Max => "max",
            Stat::Sum => "sum",
            Stat::Mean => "mean",
            Stat::MinLength => "min_length",
            Stat::MaxLength => "max_length",
            Stat::Earliest => "earliest",
            Stat::Latest => "latest",
        }
    }

    /// A statistic that is one of the column's values or computed from them (masked for a
    /// sensitive column, compared within the column's tolerance); the others are counts.
    pub fn is_value(self) -> bool {
        matches!(
            self,
            Stat::Min | Stat::Max | Stat::Sum | Stat::Mean | Stat::Earliest | Stat::Latest
        )
    }

    /// The aggregate over column `c` (quoted) whose type on this side is `data_type`.
    pub fn sql(self, c: &str, data_type: &DataType) -> String {
        match self {
            Stat::Nulls => format!("count(*) - count({c})"),
            // `+ 0.0` makes `-0` the `0` it equals, as every engine's own count does.
            Stat::Distinct if data_type.is_floating() => format!("count(DISTINCT {c} + 0.0)"),
            Stat::Distinct => format!("count(DISTINCT {c})"),
            Stat::Trues => format!("count(CASE WHEN {c} THEN 1 END)"),
            Stat::Min | Stat::Earliest => format!("min({c})"),
            Stat::Max | Stat::Latest => format!("max({c})"),
            // Integers summed as decimals: exact in every engine, and no overflow.
            Stat::Sum if data_type.is_integer() => format!("sum(CAST({c} AS DECIMAL(38, 0)))"),
            Stat::Sum => format!("sum({c})"),
            Stat::Mean => format!("avg(CAST({c} AS DOUBLE))"),
            Stat::MinLength => format!("min(character_length({c}))"),
            Stat::MaxLength => format!("max(character_length({c}))"),
        }
    }
}

/// A time statistic as UTC microseconds (naive times as they are), for comparing instants
/// whatever zone or unit each side returned them in.
pub fn micros(array: &ArrayRef) -> Option<ArrayRef> {
    let utc = match array.data_type() {
        DataType::Timestamp(_, Some(_)) => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        _ => DataType::Timestamp(TimeUnit::Microsecond, None),
    };
    cast(array, &utc).ok()
}

/// Where a checkpoint records a time statistic's microseconds, next to its text.
pub fn utc_micros_key(stat: Stat) -> String {
    format!("{}_utc_micros", stat.name())
}
