//! `-o json`'s one array, written entry by entry as each policy is done, each already
//! indented as an element: the text is exactly `serde_json::to_string_pretty` of the array.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

/// One entry serialized ahead of its place in the array (a run's entries made in parallel).
pub fn entry<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut text = Vec::new();
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut text, Pretty::element()))?;
    String::from_utf8(text).map_err(serde::ser::Error::custom)
}

/// The array on its way out: each entry is written when it is done, so a run holds neither
/// its reports nor their text (on a large account the report alone is 2.8 MB).
pub struct JsonArray<W: Write> {
    out: W,
    entries: usize,
    /// The reader went away (`frugal plan -o json | head`): the rest is not written, and the
    /// run goes on, as `super::super::stdout` does.
    closed: bool,
}

/// The array on stdout.
pub fn to_stdout() -> JsonArray<io::BufWriter<io::Stdout>> {
    JsonArray::new(io::BufWriter::with_capacity(64 * 1024, io::stdout()))
}

impl<W: Write> JsonArray<W> {
    pub fn new(out: W) -> Self {
        JsonArray { out, entries: 0, closed: false }
    }

    /// Writes `value` as the next entry. Err: serde_json refused the value (a bug; the
    /// array is then incomplete, and the run must exit as failed).
    pub fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
        self.separator();
        if self.closed {
            return Ok(());
        }
        match value.serialize(&mut serde_json::Serializer::with_formatter(&mut self.out, Pretty::element())) {
            Err(error) if error.is_io() => {
                self.closed = true;
                Ok(())
            }
            written => written,
        }
    }

    /// Writes an entry made by [`entry`].
    pub fn push_entry(&mut self, text: &str) {
        self.separator();
        self.write(text.as_bytes());
    }

    /// Closes the array, ends the line and flushes.
    pub fn finish(mut self) {
        self.write(if self.entries == 0 { b"[]\n" } else { b"\n]\n" });
        if !self.closed {
            let _ = self.out.flush();
        }
    }

    fn separator(&mut self) {
        self.entries += 1;
        self.write(if self.entries == 1 { b"[\n  " } else { b",\n  " });
    }

    fn write(&mut self, bytes: &[u8]) {
        if !self.closed && self.out.write_all(bytes).is_err() {
            self.closed = true;
        }
    }
}

/// serde_json's `PrettyFormatter` (two spaces a level) from a given level, writing each line
/// break and its indent as one slice: the report of a large account is 100,000 lines, and
/// one write per level of each was half of an audit's calls to `memcpy`.
struct Pretty {
    level: usize,
    has_value: bool,
}

/// A line break and the indent of up to 31 levels.
const BREAK_AND_INDENT: &[u8; 63] = b"\n                                                              ";

fn new_line<W: ?Sized + Write>(writer: &mut W, level: usize) -> io::Result<()> {
    let mut spaces = 2 * level;
    let first = spaces.min(BREAK_AND_INDENT.len() - 1);
    writer.write_all(&BREAK_AND_INDENT[..=first])?;
    spaces -= first;
    while spaces > 0 {
        let more = spaces.min(BREAK_AND_INDENT.len() - 1);
        writer.write_all(&BREAK_AND_INDENT[1..=more])?;
        spaces -= more;
    }
    Ok(())
}

impl Pretty {
    /// At the indent of an element of the top-level array.
    fn element() -> Self {
        Pretty { level: 1, has_value: false }
    }

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            new_line(writer, self.level)?;
        }
        writer.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        new_line(writer, self.level)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.item(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.item(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::{JsonArray, entry};

    /// The array's text, every other entry written by `push_entry` from `entry`'s text.
    fn array(values: &[Value]) -> String {
        let mut out = Vec::new();
        let mut array = JsonArray::new(&mut out);
        for (i, value) in values.iter().enumerate() {
            if i % 2 == 0 {
                array.push(value).expect("serialize");
            } else {
                array.push_entry(&entry(value).expect("serialize"));
            }
        }
        array.finish();
        String::from_utf8(out).expect("UTF-8")
    }

    fn pretty(values: &[Value]) -> String {
        serde_json::to_string_pretty(values).expect("serialize") + "\n"
    }

    #[test]
    fn entries_written_one_by_one_are_the_pretty_printed_array() {
        let values = [json!({"policy": "a", "n": [1, 2], "empty": {}, "none": []}), json!({"policy": "b"}), json!("text")];
        assert_eq!(array(&values), pretty(&values));
        assert_eq!(array(&[]), "[]\n");
    }

    #[test]
    fn nesting_deeper_than_one_slice_of_indent_is_indented_in_full() {
        let mut deep = json!("leaf");
        for level in 0..40 {
            deep = if level % 2 == 0 { json!({"k": deep}) } else { json!([deep, 1]) };
        }
        let values = [deep];
        assert_eq!(array(&values), pretty(&values));
    }

    /// A reader that goes away after `left` bytes, as `head` does.
    struct GoesAway {
        written: Vec<u8>,
        left: usize,
    }

    impl std::io::Write for GoesAway {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = bytes.len().min(self.left);
            self.written.extend_from_slice(&bytes[..n]);
            self.left -= n;
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_reader_that_went_away_ends_the_writing_not_the_run() {
        let mut reader = GoesAway { written: Vec::new(), left: 10 };
        let mut array = JsonArray::new(&mut reader);
        array.push(&json!({"policy": "a", "long": "x".repeat(100)})).expect("a closed pipe is not the value's fault");
        array.push_entry("{}");
        array.push(&json!({"policy": "b"})).expect("nor later");
        array.finish();
        assert_eq!(reader.written, b"[\n  {\n    ");
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from)
        ];
        leaf.prop_recursive(6, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\"\\\\]{0,4}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_entries_are_the_pretty_printed_array(values in prop::collection::vec(value(), 0..4)) {
            prop_assert_eq!(array(&values), pretty(&values));
        }
    }
}
