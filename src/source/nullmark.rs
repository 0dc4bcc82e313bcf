//! Marks the NULL fields of a CSV byte stream before arrow-csv sees it.
//!
//! arrow-csv cannot tell a quoted field from an unquoted one, and DataFusion never hands it the
//! configured NULL text. PostgreSQL's COPY CSV rule is the one we keep: an *unquoted* field equal
//! to the NULL text is NULL, a *quoted* field is always its value (so `""` is the empty string
//! and `,,` is NULL with the default `null: ""`). This pass rewrites each unquoted field equal to
//! the NULL text to [`SENTINEL`] and copies everything else byte for byte; the reader then treats
//! only a field that is exactly the sentinel as NULL. A field of the input that already *is* the
//! sentinel would be read as NULL silently, so it is an error instead.

use std::io::{self, BufRead, Read};

/// A lone NUL byte: text exported from a database never holds it (PostgreSQL text cannot).
pub const SENTINEL: u8 = 0;

/// The regular expression, for arrow-csv, that matches the sentinel field and nothing else.
pub const SENTINEL_REGEX: &str = "^\\x00$";

const QUOTE: u8 = b'"';

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first byte of a field; `record_start` when no field of the record began yet.
    FieldStart { record_start: bool },
    /// Inside an unquoted field whose bytes so far are the first `matched` bytes of the NULL
    /// text (held back until we know whether the field is NULL).
    MaybeNull { matched: usize },
    /// Inside an unquoted field that cannot be NULL; `nul` while it is exactly one NUL byte.
    Unquoted { nul: bool },
    /// Inside quotes; `len` content bytes so far, `nul` while the content is exactly one NUL.
    Quoted { len: usize, nul: bool },
    /// A quote inside quotes: either the closing quote or the first half of `""`.
    QuoteInQuoted { len: usize, nul: bool },
}

/// The rewriting state machine; feed it chunks of any size, then [`NullMarker::finish`].
#[derive(Debug)]
pub struct NullMarker {
    delimiter: u8,
    null: Vec<u8>,
    /// The header record passes through untouched: its names are not values.
    in_header: bool,
    state: State,
    /// Lines seen so far (1-based line of the byte being read), for error messages.
    line: u64,
}

/// A field that is exactly the sentinel byte, at this line.
#[derive(Debug, PartialEq, Eq)]
pub struct SentinelField {
    pub line: u64,
}

impl std::fmt::Display for SentinelField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: a field holds a single NUL byte, which crosscheck reserves to mark NULL \
             fields; such a field cannot be read faithfully",
            self.line
        )
    }
}

impl NullMarker {
    pub fn new(delimiter: u8, null: &str, header: bool) -> Self {
        Self {
            delimiter,
            null: null.as_bytes().to_vec(),
            in_header: header,
            state: State::FieldStart { record_start: true },
            line: 1,
        }
    }

    /// Rewrites `input` onto the end of `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), SentinelField> {
        out.reserve(input.len() + input.len() / 8);
        let mut i = 0;
        while i < input.len() {
            // Runs of plain bytes are copied at once: most of a file is inside such runs.
            if let Some(n) = self.plain_run(&input[i..]) {
                out.extend_from_slice(&input[i..i + n]);
                i += n;
                continue;
            }
            self.step(input[i], out)?;
            i += 1;
        }
        Ok(())
    }

    /// How many leading bytes of `rest` can be copied as they are without changing the state
    /// (`None` when the next byte needs [`NullMarker::step`]).
    fn plain_run(&mut self, rest: &[u8]) -> Option<usize> {
        let delimiter = self.delimiter;
        let n = match self.state {
            State::Unquoted { nul: false } => rest
                .iter()
                .position(|&b| b == delimiter || b == b'\n' || b == b'\r')
                .unwrap_or(rest.len()),
            // Past its first content byte a quoted field can no longer be the sentinel.
            State::Quoted { len, .. } if len > 0 => {
                rest.iter().position(|&b| b == QUOTE).unwrap_or(rest.len())
            }
            _ => 0,
        };
        if n == 0 {
            return None;
        }
        if let State::Quoted { len, .. } = self.state {
            let newlines = rest[..n].iter().filter(|&&b| b == b'\n').count();
            self.line += newlines as u64;
            self.state = State::Quoted {
                len: len + n,
                nul: false,
            };
        }
        Some(n)
    }

    fn step(&mut self, b: u8, out: &mut Vec<u8>) -> Result<(), SentinelField> {
        let terminator = b == b'\n' || b == b'\r';
        let ends_field = terminator || b == self.delimiter;
        self.state = match self.state {
            State::FieldStart { record_start } => {
                if b == QUOTE {
                    out.push(b);
                    State::Quoted { len: 0, nul: false }
                } else if ends_field {
                    // An empty line is no record at all: leave it for the reader to skip.
                    let empty_line = record_start && terminator;
                    if !empty_line && !self.in_header && self.null.is_empty() {
                        out.push(SENTINEL);
                    }
                    self.end_field(b, out)
                } else {
                    self.start_unquoted(b, out)
                }
            }
            State::MaybeNull { matched } => {
                if ends_field {
                    if matched == self.null.len() && !self.in_header {
                        out.push(SENTINEL);
                    } else {
                        out.extend_from_slice(&self.null[..matched]);
                    }
                    self.end_field(b, out)
                } else if self.null.get(matched) == Some(&b) {
                    State::MaybeNull {
                        matched: matched + 1,
                    }
                } else {
                    out.extend_from_slice(&self.null[..matched]);
                    out.push(b);
                    State::Unquoted { nul: false }
                }
            }
            State::Unquoted { nul } => {
                if ends_field {
                    if nul && !self.in_header {
                        return Err(SentinelField { line: self.line });
                    }
                    self.end_field(b, out)
                } else {
                    out.push(b);
                    State::Unquoted { nul: false }
                }
            }
            State::Quoted { len, nul } => {
                out.push(b);
                if b == QUOTE {
                    State::QuoteInQuoted { len, nul }
                } else {
                    State::Quoted {
                        len: len + 1,
                        nul: len == 0 && b == SENTINEL,
                    }
                }
            }
            State::QuoteInQuoted { len, nul } => {
                if b == QUOTE {
                    // `""` inside quotes: one quote of content.
                    out.push(b);
                    State::Quoted {
                        len: len + 1,
                        nul: false,
                    }
                } else if ends_field {
                    if nul && !self.in_header {
                        return Err(SentinelField { line: self.line });
                    }
                    self.end_field(b, out)
                } else {
                    // Text after the closing quote belongs to the same (non-NULL) field.
                    out.push(b);
                    State::Unquoted { nul: false }
                }
            }
        };
        // Counted after the byte is judged, so a field ended by a line break errs on its line.
        if b == b'\n' {
            self.line += 1;
        }
        Ok(())
    }

    fn start_unquoted(&mut self, b: u8, out: &mut Vec<u8>) -> State {
        if !self.in_header && self.null.first() == Some(&b) {
            State::MaybeNull { matched: 1 }
        } else {
            out.push(b);
            State::Unquoted {
                nul: b == SENTINEL && !self.in_header,
            }
        }
    }

    /// Writes the byte that ended a field and says what comes next.
    fn end_field(&mut self, b: u8, out: &mut Vec<u8>) -> State {
        out.push(b);
        if b == self.delimiter {
            State::FieldStart {
                record_start: false,
            }
        } else {
            self.in_header = false;
            State::FieldStart { record_start: true }
        }
    }

    /// Ends the input: a last record without a line break still has its last field judged.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), SentinelField> {
        let in_header = self.in_header;
        match self.state {
            State::FieldStart {
                record_start: false,
            } if !in_header && self.null.is_empty() => out.push(SENTINEL),
            State::MaybeNull { matched } => {
                if matched == self.null.len() && !in_header {
                    out.push(SENTINEL);
                } else {
                    out.extend_from_slice(&self.null[..matched]);
                }
            }
            State::Unquoted { nul: true } | State::QuoteInQuoted { nul: true, .. }
                if !in_header =>
            {
                return Err(SentinelField { line: self.line });
            }
            _ => {}
        }
        self.state = State::FieldStart { record_start: true };
        Ok(())
    }
}

/// A reader that yields the marked bytes of another reader, and counts the bytes it read.
pub struct MarkedReader<R> {
    inner: R,
    marker: NullMarker,
    raw: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    done: bool,
    /// Bytes read from `inner` so far.
    pub bytes_read: u64,
}

/// Bytes read from the file at a time.
const CHUNK: usize = 256 * 1024;

impl<R: Read> MarkedReader<R> {
    pub fn new(inner: R, marker: NullMarker) -> Self {
        Self {
            inner,
            marker,
            raw: vec![0; CHUNK],
            out: Vec::with_capacity(CHUNK + CHUNK / 8),
            pos: 0,
            done: false,
            bytes_read: 0,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.pos = 0;
        while self.out.is_empty() && !self.done {
            let n = loop {
                match self.inner.read(&mut self.raw) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            let result = if n == 0 {
                // End of input: read returning 0 ends the stream, so a shrinking file cannot spin.
                self.done = true;
                self.marker.finish(&mut self.out)
            } else {
                self.bytes_read += n as u64;
                self.marker.feed(&self.raw[..n], &mut self.out)
            };
            result.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        }
        Ok(())
    }
}

impl<R: Read> Read for MarkedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for MarkedReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.out.len() {
            self.refill()?;
        }
        Ok(&self.out[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(input: &str, null: &str, header: bool) -> Result<String, SentinelField> {
        let mut marker = NullMarker::new(b',', null, header);
        let mut out = Vec::new();
        marker.feed(input.as_bytes(), &mut out)?;
        marker.finish(&mut out)?;
        Ok(String::from_utf8(out)
            .expect("utf-8 stays utf-8")
            .replace('\0', "<N>"))
    }

    /// The same input fed one byte at a time gives the same output.
    fn mark_bytewise(input: &str, null: &str, header: bool) -> String {
        let mut marker = NullMarker::new(b',', null, header);
        let mut out = Vec::new();
        for b in input.as_bytes() {
            marker.feed(&[*b], &mut out).expect("no sentinel");
        }
        marker.finish(&mut out).expect("no sentinel");
        String::from_utf8(out).expect("utf-8").replace('\0', "<N>")
    }

    #[test]
    fn unquoted_empty_is_null_quoted_empty_is_text() {
        let input = "a,b,c\n1,,\"\"\n,\"x,y\",\n";
        let want = "a,b,c\n1,<N>,\"\"\n<N>,\"x,y\",<N>\n";
        assert_eq!(mark(input, "", true).as_deref(), Ok(want));
        assert_eq!(mark_bytewise(input, "", true), want);
    }

    #[test]
    fn backslash_n_null() {
        let input = "a,b\n\\N,\"\\N\"\n\\Nx,\n\\\n";
        let want = "a,b\n<N>,\"\\N\"\n\\Nx,\n\\\n";
        assert_eq!(mark(input, "\\N", true).as_deref(), Ok(want));
        assert_eq!(mark_bytewise(input, "\\N", true), want);
        // Without a line break at the end, the last field is still judged.
        assert_eq!(mark("a\n\\N", "\\N", true).as_deref(), Ok("a\n<N>"));
        assert_eq!(mark("a\n\\", "\\N", true).as_deref(), Ok("a\n\\"));
    }

    #[test]
    fn header_empty_lines_and_crlf_untouched() {
        let input = "a,,c\r\n1,,3\r\n\r\n4,5,\r\n";
        let want = "a,,c\r\n1,<N>,3\r\n\r\n4,5,<N>\r\n";
        assert_eq!(mark(input, "", true).as_deref(), Ok(want));
        assert_eq!(mark_bytewise(input, "", true), want);
        assert_eq!(mark(",x\n", "", false).as_deref(), Ok("<N>,x\n"));
        assert_eq!(mark("1,", "", false).as_deref(), Ok("1,<N>"));
    }

    #[test]
    fn quotes_and_newlines_inside_quotes() {
        let input = "a,b\n\"l1\nl2\",\"say \"\"hi\"\"\"\n\"\"\"\",x\n";
        assert_eq!(mark(input, "", true).as_deref(), Ok(input));
        assert_eq!(mark_bytewise(input, "", true), input);
    }

    #[test]
    fn a_sentinel_field_is_an_error_with_its_line() {
        assert_eq!(
            mark("a,b\n1,\0\n", "", true),
            Err(SentinelField { line: 2 })
        );
        assert_eq!(
            mark("a\nx\n\"\0\"\n", "", true),
            Err(SentinelField { line: 3 })
        );
        assert_eq!(mark("a\n\0", "", true), Err(SentinelField { line: 2 }));
        // NUL inside longer text is ordinary text.
        assert_eq!(mark("a\nx\0y\n", "", true).as_deref(), Ok("a\nx<N>y\n"));
    }
}
