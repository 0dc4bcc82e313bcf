//! The row hash PostgreSQL computes for the checksum diff, and why no set of changes can cancel
//! out in a bucket digest except by a 64-bit collision.
//!
//! A bucket's digest is `count(*)` and the exact `sum` (numeric, no overflow) of its rows'
//! 64-bit hashes. Each row's hash is `hash_record_extended(ROW(values…, key), key)`: the key (an
//! integer key as is, other keys through their own 64-bit hash) is both the seed of every
//! element hash and the record's last element, so:
//! * every element hash depends on the key through the seed, so the hashes of two rows with
//!   different keys behave as independent random values: swapping values between rows, moving a
//!   value to another row, or updating any number of rows to one value changes the sum except
//!   with probability about 2⁻⁶⁴ (an exact sum has no XOR's pairwise cancellation, and no
//!   linear relation holds between independent values);
//! * within one row, `hash_record_extended` combines element hashes as `31·h + e`, so a value
//!   moved to the neighbouring column changes the hash unless `30·(a − b) ≡ 0 mod 2⁶⁴`
//!   (probability 2⁻⁶³); NULL hashes as 0 and `''` does not, so NULL ↔ '' is a change;
//! * NULL elements hash as 0 whatever the seed, so a row whose values are all NULL would hash as
//!   0 for any key: the key as the last element (never NULL) keeps such a row's hash, and a
//!   table compared on its key alone, a random function of the key. Its element hash is
//!   `hashint8extended(k, k)`, which folds `k` to 32 bits, but its seed is the whole key, so two
//!   keys never hash alike by construction. (A separate `# hash(key)` costs one more call.)
//! * no element is hashed by a function that returns its seed for some value (the native
//!   float hash does for 0, numeric's for NaN): with the key 0 as the seed such a value would
//!   hash like NULL. Floats and numerics go through their send form.
//!
//! PostgreSQL's own hash functions are not all fit for this, so some values are hashed through
//! another form (see `HashAs`): `int8`, timestamps, `time` and `interval` hash by folding 64 bits
//! into 32 (distinct values collide by construction), `numeric` ignores the sign (5 and -5 hash
//! alike) and hashes NaN like ±Infinity, floats hash 0 as the seed itself (-0 like 0, as the join
//! compares them), enums hash their type's OID (different in every database), `citext` hashes
//! lower-cased, `json` and `xml` have no hash at all. Those are hashed as their binary send form
//! (exactly what the decoder reads) or their text.

/// The hashing scheme's version, for anything that stores row hashes.
pub const SCHEME_VERSION: u32 = 4;

/// How a value is turned into something PostgreSQL hashes with its full width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAs {
    /// The type's own hash is sound: 32-bit values, text, bytea, uuid, bool, date.
    Native,
    /// Through the named binary send function (`int8send(x)`): 64-bit values, floats, `bpchar`
    /// with its padding, interval fields.
    Send(&'static str),
    /// `numeric_send(trim_scale(x))`: the sign, NaN and ±Infinity kept, 5.0 and 5.00 alike.
    Numeric,
    /// `numeric_send(x)` for a `numeric(p, s)` compared with a column of the same scale: every
    /// value already has that scale, so equal values send alike without `trim_scale`.
    NumericFixedScale,
    /// Through its text (`x::text`): enums, `citext`, `json`, `jsonb`, `xml`, arrays.
    Text,
}

impl HashAs {
    /// For a column of base type `type_name` (`pg_type.typname`), `typtype` (`e` for enums),
    /// selected as text (`cast`) or in its own type.
    pub fn of(type_name: &str, typtype: &str, cast: bool) -> HashAs {
        if cast {
            return HashAs::Native;
        }
        match type_name {
            "int8" => HashAs::Send("int8send"),
            "float4" => HashAs::Send("float4send"),
            "float8" => HashAs::Send("float8send"),
            "timestamp" => HashAs::Send("timestamp_send"),
            "timestamptz" => HashAs::Send("timestamptz_send"),
            "time" => HashAs::Send("time_send"),
            "interval" => HashAs::Send("interval_send"),
            "bpchar" => HashAs::Send("bpcharsend"),
            "numeric" => HashAs::Numeric,
            "citext" | "json" | "jsonb" | "xml" => HashAs::Text,
            _ if typtype == "e" => HashAs::Text,
            array if array.starts_with('_') => HashAs::Text,
            _ => HashAs::Native,
        }
    }

    /// The expression PostgreSQL hashes for the value `expr`.
    pub fn wrap(self, expr: &str) -> String {
        match self {
            HashAs::Native => expr.to_string(),
            // `+ 0` turns -0 into 0, which PostgreSQL and the join count as equal.
            HashAs::Send(f @ "float8send") => format!("{f}(({expr}) + 0::float8)"),
            HashAs::Send(f @ "float4send") => format!("{f}(({expr}) + 0::float4)"),
            HashAs::Send(function) => format!("{function}({expr})"),
            HashAs::Numeric => format!("numeric_send(trim_scale({expr}))"),
            HashAs::NumericFixedScale => format!("numeric_send({expr})"),
            HashAs::Text => format!("({expr})::text"),
        }
    }
}

/// The hash of one row: its values and then its key as elements, the key as the seed. `key` is
/// an int8 expression (the key, or the hash of a key of another type or of several parts). See
/// the module comment for why this cannot cancel out in a sum.
pub fn row_hash(values: &[String], key: &str) -> String {
    format!(
        "hash_record_extended(ROW({}), {key})",
        values
            .iter()
            .map(String::as_str)
            .chain([key])
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The 64-bit hash of a key of several parts (or of a non-integer one), used as a row's seed
/// and for hash buckets. Each part is given already in a form that hashes with its full width.
pub fn key_hash(parts: &[String]) -> String {
    format!("hash_record_extended(ROW({}), 0)", parts.join(", "))
}

/// The digest of a bucket's rows: the exact sum of their hashes, as text. Summed as numeric,
/// so no overflow wraps around and nothing cancels pairwise as XOR would.
pub fn digest_sum(row_hash: &str) -> String {
    format!("sum({row_hash})::text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_native_hashes_are_avoided() {
        assert_eq!(HashAs::of("int8", "b", false).wrap("x"), "int8send(x)");
        assert_eq!(
            HashAs::of("numeric", "b", false).wrap("x"),
            "numeric_send(trim_scale(x))"
        );
        assert_eq!(HashAs::of("mood", "e", false).wrap("x"), "(x)::text");
        assert_eq!(HashAs::of("_int4", "b", false).wrap("x"), "(x)::text");
        assert_eq!(HashAs::of("int4", "b", false).wrap("x"), "x");
        // Selected as text already: text hashes soundly.
        assert_eq!(HashAs::of("inet", "b", true).wrap("x::text"), "x::text");
    }
}
