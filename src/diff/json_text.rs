//! JSON by meaning, for a database's `jsonb` column against the text another tool wrote for
//! it (a `json` column keeps its exact text, spaces included, and compares as that text):
//! pandas' `json.dumps` escapes non-ASCII (`"Zo\u00eb"`) and, through psycopg's floats,
//! writes `1.50` as `1.5`; other writers drop the spaces or reorder keys. Each value becomes
//! one canonical text — keys sorted (the last of duplicate keys wins, as in `jsonb`),
//! strings with their escapes decoded, numbers by exact value (`canonical_number`, never
//! through a float, so no digit is forgiven), no spaces. Text that is no JSON stays as it is.

use super::compare::canonical_number;

/// Nesting deeper than this is not read (it would only cost stack): compared as text.
const MAX_DEPTH: usize = 128;

/// The canonical form of a JSON text, or `None` when it is no JSON.
pub fn canonical(text: &str) -> Option<String> {
    let mut parser = Parser { text, at: 0 };
    let value = parser.value(0)?;
    parser.skip_spaces();
    (parser.at == text.len()).then_some(value)
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_spaces();
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    fn value(&mut self, depth: usize) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_spaces();
        match self.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => Some(quoted(&self.string()?)),
            b'-' | b'0'..=b'9' => self.number(),
            _ => ["true", "false", "null"].into_iter().find_map(|word| {
                self.text[self.at..].starts_with(word).then(|| {
                    self.at += word.len();
                    word.to_string()
                })
            }),
        }
    }

    fn object(&mut self, depth: usize) -> Option<String> {
        self.eat(b'{')?;
        let mut members = std::collections::BTreeMap::new();
        if self.eat(b'}').is_none() {
            loop {
                self.skip_spaces();
                let key = self.string()?;
                self.eat(b':')?;
                members.insert(key, self.value(depth + 1)?);
                if self.eat(b',').is_none() {
                    self.eat(b'}')?;
                    break;
                }
            }
        }
        let members: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("{}:{v}", quoted(k)))
            .collect();
        Some(format!("{{{}}}", members.join(",")))
    }

    fn array(&mut self, depth: usize) -> Option<String> {
        self.eat(b'[')?;
        let mut items = Vec::new();
        if self.eat(b']').is_none() {
            loop {
                items.push(self.value(depth + 1)?);
                if self.eat(b',').is_none() {
                    self.eat(b']')?;
                    break;
                }
            }
        }
        Some(format!("[{}]", items.join(",")))
    }

    fn number(&mut self) -> Option<String> {
        let start = self.at;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.at += 1;
        }
        canonical_number(&self.text[start..self.at])
    }

    /// A string's decoded text (the parser stands on its opening quote).
    fn string(&mut self) -> Option<String> {
        if self.peek()? != b'"' {
            return None;
        }
        self.at += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.at..];
            let end = rest.find(['"', '\\'])?;
            if rest[..end].chars().any(|c| c < ' ') {
                return None;
            }
            out.push_str(&rest[..end]);
            self.at += end + 1;
            if rest.as_bytes()[end] == b'"' {
                return Some(out);
            }
            out.push(self.escape()?);
        }
    }

    /// The character of an escape after its backslash.
    fn escape(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        Some(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4()?;
                if !(0xD800..0xDC00).contains(&high) {
                    return char::from_u32(high);
                }
                // A surrogate pair: `\ud83d\ude00`.
                if !self.text[self.at..].starts_with("\\u") {
                    return None;
                }
                self.at += 2;
                let low = self.hex4()?;
                if !(0xDC00..0xE000).contains(&low) {
                    return None;
                }
                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.at..self.at + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.at += 4;
        u32::from_str_radix(digits, 16).ok()
    }
}

/// A string as JSON writes it, escaping only what must be.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_json_written_differently() {
        let same = [
            (r#"{"name": "Zoë"}"#, r#"{"name":"Zo\u00eb"}"#),
            (r#"{"n": 1.50}"#, r#"{"n":1.5}"#),
            (
                r#"{"a": [true, null], "b": 1}"#,
                r#"{ "b" : 1e0, "a" : [ true , null ] }"#,
            ),
            (r#"{"a": 1, "a": 2}"#, r#"{"a": 2}"#),
            (r#""\ud83d\ude00 \/""#, r#""😀 /""#),
            ("[]", " [ ] "),
        ];
        for (a, b) in same {
            assert_eq!(canonical(a), canonical(b), "{a} = {b}");
            assert!(canonical(a).is_some(), "{a}");
        }
    }

    #[test]
    fn different_json_and_no_json() {
        let different = [
            (
                "12345678901234567890.123456789",
                "12345678901234567890.123456788",
            ),
            (r#"{"a": 1}"#, r#"{"A": 1}"#),
            ("[1, 2]", "[2, 1]"),
            (r#""1""#, "1"),
        ];
        for (a, b) in different {
            assert_ne!(canonical(a), canonical(b), "{a} ≠ {b}");
        }
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\"}",
            "\"\\x\"",
            "\"\u{1}\"",
            "tru",
            "1 2",
            "\"\\ud800\"",
            &deep,
        ] {
            assert_eq!(canonical(bad), None, "{bad:.20}");
        }
    }
}
