//! 1-based line and column numbers for command-line reports.
//!
//! Columns count Unicode scalar values (code points), not bytes or UTF-16 units, which
//! is what a person counting characters expects; SARIF output declares this with
//! `columnKind: unicodeCodePoints`. Editors get positions from the document module.

/// Line start offsets of one text, for repeated offset lookups.
pub struct LineStarts<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineStarts<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|position| position + 1));
        LineStarts { text, starts }
    }

    /// 1-based (line, column) of a byte offset; offsets past the end clamp to the end
    /// and offsets inside a character count as that character.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_index = self.starts.partition_point(|start| *start <= offset) - 1;
        let line_start = self.starts[line_index];
        let column = self.text.get(line_start..).map_or(0, |rest| {
            rest.char_indices()
                .take_while(|(index, _)| line_start + index < offset)
                .count()
        });
        (line_index + 1, column + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_code_points_from_one() {
        let text = "ab\nçé x\n";
        let lines = LineStarts::new(text);
        assert_eq!(lines.line_column(0), (1, 1));
        assert_eq!(lines.line_column(3), (2, 1));
        let x = text.find('x').expect("test fixture");
        assert_eq!(lines.line_column(x), (2, 4));
        assert_eq!(lines.line_column(10_000), (3, 1));
    }
}
