//! The row hash PostgreSQL computes for the checksum diff, and why no set of changes can cancel
//! out in a bucket digest except by a 64-bit collision.
//!
//! A bucket's digest is `count(*)` and the exact `sum` (numeric, no overflow) of its rows'
//! 64-bit hashes. A key appears at most once per side in a bucket whose digest is trusted
//! (buckets with duplicated keys are always read), so the sums of two sides agree only if
//! `Σ (R(k, source row) − R(k, target row))` over the keys `k` is 0. That fails to happen by
//! chance only with probability about 2⁻⁶⁴ when, for every key whose row changed, the target's
//! row hash is a fresh random value: independent of the source's, and of every other key's.
//! (An exact sum has no XOR's pairwise cancellation, and no linear relation holds between
//! independent values.) The row hash below is built for exactly that.
//!
//! `k` is the key as an int8 (an integer key as is, another key through its own 64-bit hash).
//! Each column `c` gets the seed `k # C_c`, one constant per column, and the row hash is the
//! XOR of:
//! * each column hashed directly by its type's own 64-bit seeded hash where that hash is sound
//!   (`Direct`: `hashtextextended(v, k # C_c)`…), or, for a NULL, a seeded hash of the key with
//!   a constant `N_c` of the column's own, and
//! * one `hash_record_extended(ROW(others…, k), k)` over the values without a sound direct hash
//!   (numerics, timestamps… through their send form), or, when there are none, a seeded hash of
//!   the key alone with the constant `K`.
//!
//! Why that is random where it must be:
//! * Another key `k'`: every hash in its row has a seed (or input) that differs from `k`'s, so
//!   its row hash is independent of `k`'s. Seeds of two keys could only coincide if `k # k'`
//!   equalled `C_c # C_d` or the like: the constants carry distinct tags in bits 47–59, so
//!   the XOR of two of them is never a sign extension, and no two keys within ±2⁴⁶ can alias
//!   (for larger or hashed keys it takes one specific 64-bit difference).
//! * The same key, another row: some column changed, and its new hash is a fresh value: a
//!   seeded hash of another value, or NULL's hash, which is a different function. The one
//!   exception, floats hash 0 as the seed itself, is harmless because it is the only one: a
//!   change between 0 and any other value still brings one fresh hash.
//! * A value moved to the neighbouring column: the two columns' seeds differ, so both hashes
//!   are fresh. Inside the record, `hash_record_extended` combines element hashes as
//!   `31·h + e`, so a move there changes the hash unless `30·(a − b) ≡ 0 mod 2⁶⁴`.
//! * NULL ↔ `''`: NULL hashes as the key's hash under `N_c`, `''` as the text hash; inside
//!   the record NULL hashes as 0 and the key as its last element keeps an all-NULL record's
//!   hash a random function of the key.
//! * A key changed while the row stays: every seed changed.
//!
//! PostgreSQL's own hash functions are not all fit for this, so some values are hashed through
//! another form (see `HashAs`): `int8`, timestamps, `time` and `interval` hash by folding 64 bits
//! into 32 (distinct values collide by construction: an `int8` is hashed with its high half in
//! the seed, which makes the fold injective, the others through their send form), `numeric`
//! ignores the sign (5 and -5 hash alike) and hashes NaN like ±Infinity and 0 like the seed,
//! enums hash their type's OID (different in every database), `citext` hashes lower-cased,
//! `json` and `xml` have no hash at all. Those are hashed as their binary send form (exactly
//! what the decoder reads) or their text. Hashing directly instead of through a record saves
//! forming and taking apart one tuple per row: a third of the digest's cost.

/// The hashing scheme's version, for anything that stores row hashes.
pub const SCHEME_VERSION: u32 = 5;

/// A type whose own seeded 64-bit hash PostgreSQL can call directly and is sound: every value
/// hashes to a fresh value for each seed (floats excepted for 0, see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direct {
    Int2,
    Int4,
    /// Hashed with its high half in the seed: `hashint8extended` folds the halves together.
    Int8,
    Float4,
    Float8,
    Bool,
    Text,
    Uuid,
}

impl Direct {
    /// The value as an element of a record (a key hash): the types whose record hash is
    /// unsound go through their send form, as `HashAs::Send` does.
    fn in_record(self, expr: &str) -> String {
        match self {
            Direct::Int8 => format!("int8send({expr})"),
            // `+ 0` turns -0 into 0, which PostgreSQL and the join count as equal.
            Direct::Float4 => format!("float4send(({expr}) + 0::float4)"),
            Direct::Float8 => format!("float8send(({expr}) + 0::float8)"),
            _ => expr.to_string(),
        }
    }

    /// The call hashing `value` with `seed` (both int8 expressions but `value`).
    fn call(self, value: &str, seed: &str) -> String {
        match self {
            Direct::Int2 => format!("hashint2extended({value}, {seed})"),
            Direct::Int4 => format!("hashint4extended({value}, {seed})"),
            Direct::Int8 => int8_hash(value, seed),
            Direct::Float4 => format!("hashfloat4extended({value}, {seed})"),
            Direct::Float8 => format!("hashfloat8extended({value}, {seed})"),
            Direct::Bool => format!("hashint4extended(({value})::int4, {seed})"),
            // Bytewise, as the join compares: under a nondeterministic collation (ICU's
            // case-insensitive ones) the text hash hashes the sort key, 'A' like 'a'.
            Direct::Text => format!("hashtextextended(({value}) COLLATE \"C\", {seed})"),
            Direct::Uuid => format!("uuid_hash_extended({value}, {seed})"),
        }
    }
}

/// `hashint8extended` with the value's high half XORed into the seed: values that differ in
/// their high halves get different seeds, and values that share it fold to different 32 bits.
fn int8_hash(value: &str, seed: &str) -> String {
    format!("hashint8extended({value}, ({seed}) # (({value}) >> 32))")
}

/// One value of a row as it enters the row hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Element {
    /// Hashed by the type's own function with the column's seed.
    Direct(Direct, String),
    /// An element of the row's record (`hash_record_extended`).
    Record(String),
}

/// How a value is turned into something PostgreSQL hashes with its full width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAs {
    /// The type's own hash is sound and callable: see `Direct`.
    Direct(Direct),
    /// The type's own hash is sound inside a record: date, and types read as text.
    Native,
    /// Through the named binary send function (`timestamp_send(x)`): timestamps, `time`,
    /// `interval` fields, `bpchar` with its padding.
    Send(&'static str),
    /// `numeric_send(trim_scale(x))`: the sign, NaN and ±Infinity kept, 5.0 and 5.00 alike.
    Numeric,
    /// `numeric_send(x)` for a `numeric(p, s)` compared with a column of the same scale: every
    /// value already has that scale, so equal values send alike without `trim_scale`.
    NumericFixedScale,
    /// Through its text (`x::text`): enums, `citext`, `json`, `jsonb`, `xml`, `name`, `"char"`,
    /// arrays.
    Text,
}

impl HashAs {
    /// For a column of base type `type_name` (`pg_type.typname`), `typtype` (`e` for enums),
    /// selected as text (`cast`) or in its own type.
    pub fn of(type_name: &str, typtype: &str, cast: bool) -> HashAs {
        if cast {
            return HashAs::Direct(Direct::Text);
        }
        match type_name {
            "int2" => HashAs::Direct(Direct::Int2),
            "int4" => HashAs::Direct(Direct::Int4),
            "bool" => HashAs::Direct(Direct::Bool),
            "uuid" => HashAs::Direct(Direct::Uuid),
            "text" | "varchar" => HashAs::Direct(Direct::Text),
            "int8" => HashAs::Direct(Direct::Int8),
            "float4" => HashAs::Direct(Direct::Float4),
            "float8" => HashAs::Direct(Direct::Float8),
            "timestamp" => HashAs::Send("timestamp_send"),
            "timestamptz" => HashAs::Send("timestamptz_send"),
            "time" => HashAs::Send("time_send"),
            "interval" => HashAs::Send("interval_send"),
            "bpchar" => HashAs::Send("bpcharsend"),
            "numeric" => HashAs::Numeric,
            "citext" | "json" | "jsonb" | "xml" | "name" | "char" => HashAs::Text,
            _ if typtype == "e" => HashAs::Text,
            array if array.starts_with('_') => HashAs::Text,
            _ => HashAs::Native,
        }
    }

    /// The expression PostgreSQL hashes for the value `expr` inside a record (key hashes).
    pub fn wrap(self, expr: &str) -> String {
        match self {
            HashAs::Direct(direct) => direct.in_record(expr),
            HashAs::Native => expr.to_string(),
            HashAs::Send(function) => format!("{function}({expr})"),
            HashAs::Numeric => format!("numeric_send(trim_scale({expr}))"),
            HashAs::NumericFixedScale => format!("numeric_send({expr})"),
            HashAs::Text => format!("({expr})::text"),
        }
    }

    /// The value `expr` as an element of the row hash: hashed directly where a sound direct
    /// hash exists (floats too: their own hash takes -0 as 0 and every NaN alike), else in
    /// the record in its `wrap` form.
    pub fn element(self, expr: &str) -> Element {
        match self {
            HashAs::Direct(direct) => Element::Direct(direct, expr.to_string()),
            // Its text with the padding (a cast to text trims it), as `text` values hash.
            HashAs::Send("bpcharsend") => {
                Element::Direct(Direct::Text, format!("textin(bpcharout({expr}))"))
            }
            HashAs::Text => Element::Direct(Direct::Text, self.wrap(expr)),
            _ => Element::Record(self.wrap(expr)),
        }
    }
}

/// splitmix64: well-spread constants from small numbers, the same on every run and machine.
const fn spread(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A constant with `tag` in bits 47–59 and spread bits below: the XOR of two constants of
/// different tags has a nonzero tag below bit 60, so it is never the XOR of two keys within
/// ±2⁴⁶ (whose bits 46–63 are all alike).
const fn tagged(tag: u64) -> i64 {
    const LOW: u64 = (1 << 47) - 1;
    ((tag << 47) | (spread(tag) & LOW)) as i64
}

/// Tags: columns 1..=2047, their NULL constants 2049..=4095, the key alone 4096.
const NULL_TAG: u64 = 2048;
const KEY_TAG: u64 = 4096;
/// PostgreSQL allows 1,600 columns; more would need more tag bits.
const MAX_COLUMNS: usize = 2047;

fn column_seed(key: &str, column: usize) -> String {
    format!("(({key}) # {})", tagged(column as u64 + 1))
}

/// The hash of one row: the XOR of its direct elements' hashes and the record of the rest (see
/// the module comment for why this cannot cancel out in a sum). `key` is an int8 expression
/// (the key, or the hash of a key of another type or of several parts), cheap to repeat.
pub fn row_hash(values: &[Element], key: &str) -> String {
    assert!(values.len() <= MAX_COLUMNS, "more columns than tags");
    let mut parts = Vec::new();
    let mut record = Vec::new();
    for (column, value) in values.iter().enumerate() {
        match value {
            Element::Direct(direct, expr) => {
                let null = int8_hash(key, &tagged(NULL_TAG + column as u64 + 1).to_string());
                let hash = direct.call(expr, &column_seed(key, column));
                parts.push(format!("coalesce({hash}, {null})"));
            }
            Element::Record(expr) => record.push(expr.as_str()),
        }
    }
    parts.push(if record.is_empty() {
        int8_hash(key, &tagged(KEY_TAG).to_string())
    } else {
        format!(
            "hash_record_extended(ROW({}, {key}), {key})",
            record.join(", ")
        )
    });
    parts.join(" # ")
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

    #[test]
    fn sound_own_hashes_are_called_directly_the_rest_go_in_the_record() {
        let element = |t: &str| HashAs::of(t, "b", false).element("x");
        assert_eq!(element("int4"), Element::Direct(Direct::Int4, "x".into()));
        assert_eq!(element("int8"), Element::Direct(Direct::Int8, "x".into()));
        assert_eq!(
            element("float8"),
            Element::Direct(Direct::Float8, "x".into())
        );
        assert_eq!(
            element("jsonb"),
            Element::Direct(Direct::Text, "(x)::text".into())
        );
        assert_eq!(
            element("timestamptz"),
            Element::Record("timestamptz_send(x)".into())
        );
        assert_eq!(
            element("numeric"),
            Element::Record("numeric_send(trim_scale(x))".into())
        );
        assert_eq!(element("date"), Element::Record("x".into()));
        // Padded as the decoder reads it, and hashed as a `text` column holding the same is.
        assert_eq!(
            element("bpchar"),
            Element::Direct(Direct::Text, "textin(bpcharout(x))".into())
        );
    }

    #[test]
    fn a_row_without_record_elements_hashes_its_key() {
        let row = row_hash(&[Element::Direct(Direct::Text, "a".into())], "k");
        assert!(
            row.starts_with("coalesce(hashtextextended((a) COLLATE \"C\", ((k) # "),
            "{row}"
        );
        assert!(row.contains(" # hashint8extended(k, ("), "{row}");
        assert!(!row.contains("hash_record_extended"), "{row}");
        let row = row_hash(&[Element::Record("d".into())], "k");
        assert_eq!(row, "hash_record_extended(ROW(d, k), k)");
    }

    /// No two constants XOR to a value two keys within ±2⁴⁶ can have as their XOR (bits 46–63
    /// all alike), so no two such keys ever share a seed.
    #[test]
    fn no_two_seed_constants_alias_for_keys_within_2_pow_46() {
        let mut constants: Vec<i64> = vec![0]; // the record's seed is the key itself
        for column in 0..1600u64 {
            constants.push(tagged(column + 1));
            constants.push(tagged(NULL_TAG + column + 1));
        }
        constants.push(tagged(KEY_TAG));
        let high = |x: i64| (x as u64) >> 46;
        for (i, a) in constants.iter().enumerate() {
            for b in &constants[i + 1..] {
                let xor = high(a ^ b);
                assert!(xor != 0 && xor != (1 << 18) - 1, "{a:#x} {b:#x}");
            }
        }
    }
}
