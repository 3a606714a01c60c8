//! Turning what the user selected into the region an agent is asked to
//! rewrite: whole lines, and whole items when the selection cuts one.

use std::ops::Range;

use ropey::Rope;

use crate::syntax::SyntaxTree;
use crate::syntax::items::{clamp_range, trim_whitespace};

impl SyntaxTree {
    /// The region to delegate for a selection.
    ///
    /// - An empty selection (a cursor) widens to the innermost item around it.
    /// - A selection that cuts through an item boundary (it starts strictly
    ///   inside an item and ends after it, or ends strictly inside one and
    ///   starts before it) widens to the smallest item covering all of it, or,
    ///   at the top level, to the union of the items it cuts.
    /// - A selection inside one item's body, or between items, stays as it is.
    ///
    /// Items include their attributes, decorators and doc comments, and the
    /// result always covers whole lines: from the start of the first line to
    /// after the last line's line break (or the end of the document).
    pub fn widen_selection(&self, text: &Rope, range: Range<usize>) -> Range<usize> {
        let selection = clamp_range(text, range);
        let trimmed = trim_whitespace(text, selection.clone());
        let widened = if selection.is_empty() {
            self.enclosing_item(text, selection.clone())
                .map_or(selection.clone(), |item| item.range)
        } else if trimmed.is_empty() {
            selection.clone()
        } else {
            self.widen_cut_items(text, trimmed)
        };
        whole_lines(
            text,
            selection.start.min(widened.start)..selection.end.max(widened.end),
        )
    }

    fn widen_cut_items(&self, text: &Rope, selection: Range<usize>) -> Range<usize> {
        let cut_at_start = self
            .enclosing_items(text, selection.start..selection.start)
            .into_iter()
            .filter(|item| item.range.start < selection.start && selection.start < item.range.end)
            .filter(|item| item.range.end < selection.end);
        let cut_at_end = self
            .enclosing_items(text, selection.end - 1..selection.end - 1)
            .into_iter()
            .filter(|item| item.range.start < selection.end && selection.end < item.range.end)
            .filter(|item| selection.start < item.range.start);
        let cut_items: Vec<Range<usize>> = cut_at_start
            .chain(cut_at_end)
            .map(|item| item.range)
            .collect();
        if cut_items.is_empty() {
            return selection;
        }
        if let Some(covering) = self.enclosing_item(text, selection.clone()) {
            return covering.range;
        }
        cut_items.into_iter().fold(selection, |union, item| {
            union.start.min(item.start)..union.end.max(item.end)
        })
    }
}

/// `range` grown to whole lines. A non-empty range that already ends at the
/// start of a line does not take in that next line.
fn whole_lines(text: &Rope, range: Range<usize>) -> Range<usize> {
    let length = text.len_bytes();
    let line_of = |offset: usize| text.try_byte_to_line(offset.min(length)).unwrap_or(0);
    let line_start = |line: usize| text.try_line_to_byte(line).unwrap_or(length);
    let start = line_start(line_of(range.start));
    let end_line = line_of(range.end);
    let end = if range.end > range.start && line_start(end_line) == range.end {
        range.end
    } else {
        line_start(end_line + 1)
    };
    start..end
}

#[cfg(test)]
mod tests {
    use std::ops::Range;

    use crate::syntax::Language;
    use crate::syntax::test_fixture::{self, Sample, sample};

    #[track_caller]
    fn check(sample: &Sample, selection: Range<usize>, expected: &str) {
        let widened = sample.tree.widen_selection(&sample.text, selection);
        assert_eq!(sample.slice(widened), expected);
    }

    #[test]
    fn rust_cursor_in_method_body_takes_the_method_with_doc_and_attribute() {
        let rust = sample(Language::Rust, test_fixture::RUST);
        check(
            &rust,
            rust.cursor("build(tokens)"),
            "    /// Parses the input.
    #[must_use]
    pub fn parse(input: &str) -> Result<Ast, Error> {
        let tokens = lex(input);
        build(tokens)
    }
",
        );
    }

    #[test]
    fn rust_cursor_in_test_takes_the_test_attribute() {
        let rust = sample(Language::Rust, test_fixture::RUST);
        check(
            &rust,
            rust.cursor("is_ok()"),
            "#[test]\nfn parses_empty_input() {\n    assert!(Parser::parse(\"\").is_ok());\n}\n",
        );
    }

    #[test]
    fn rust_selection_across_two_methods_takes_the_impl() {
        let rust = sample(Language::Rust, test_fixture::RUST);
        let widened = rust
            .tree
            .widen_selection(&rust.text, rust.selection("tokens = lex", "self.input"));
        let impl_start = rust.at("impl Parser");
        assert_eq!(widened, impl_start..rust.at("#[test]") - 1);
    }

    #[test]
    fn rust_selection_inside_a_body_only_grows_to_whole_lines() {
        let rust = sample(Language::Rust, test_fixture::RUST);
        check(
            &rust,
            rust.selection("lex(", "build"),
            "        let tokens = lex(input);\n        build(tokens)\n",
        );
    }

    #[test]
    fn rust_selection_outside_items_only_grows_to_whole_lines() {
        let rust = sample(Language::Rust, test_fixture::RUST);
        check(&rust, rust.cursor("Crate docs"), "//! Crate docs.\n");
    }

    #[test]
    fn selection_from_top_level_into_a_function_takes_that_function() {
        let go = sample(Language::Go, test_fixture::GO);
        check(
            &go,
            go.selection("import", "return s.listen"),
            "import \"context\"

// Server serves.
type Server struct {
	port int
}

// Run runs the server.
func (s *Server) Run(ctx context.Context) error {
	return s.listen(ctx)
}
",
        );
    }

    #[test]
    fn python_cursor_takes_the_decorated_method() {
        let python = sample(Language::Python, test_fixture::PYTHON);
        check(
            &python,
            python.cursor("return data"),
            "    @cached\n    def load(self, path):\n        data = open(path).read()\n        return data\n",
        );
    }

    #[test]
    fn python_selection_across_methods_takes_the_class_and_its_comment() {
        let python = sample(Language::Python, test_fixture::PYTHON);
        let widened = python
            .tree
            .widen_selection(&python.text, python.selection("Loader()\n", "data ="));
        assert!(
            python
                .slice(widened.clone())
                .starts_with("# Loads things.\nclass Loader(Base):\n")
        );
        assert!(python.slice(widened).ends_with("        return data\n"));
    }

    #[test]
    fn python_selection_outside_items() {
        let python = sample(Language::Python, test_fixture::PYTHON);
        check(&python, python.cursor("os"), "import os\n");
    }

    #[test]
    fn typescript_cursor_takes_the_decorated_method() {
        let typescript = sample(Language::TypeScript, test_fixture::TYPESCRIPT);
        check(
            &typescript,
            typescript.cursor("this.listen"),
            "  @Get(\"/\")\n  async run(ctx: Context): Promise<void> {\n    await this.listen(ctx);\n  }\n",
        );
    }

    #[test]
    fn typescript_selection_across_methods_takes_the_decorated_class_and_its_doc() {
        let typescript = sample(Language::TypeScript, test_fixture::TYPESCRIPT);
        let widened = typescript
            .tree
            .widen_selection(&typescript.text, typescript.selection("listen", "port = 0"));
        let class_text = typescript.slice(widened);
        assert!(
            class_text.starts_with("/** A server. */\n@Injectable()\nexport class Server"),
            "{class_text}"
        );
        assert!(
            class_text.ends_with("    this.port = 0;\n  }\n}\n"),
            "{class_text}"
        );
    }

    #[test]
    fn typescript_selection_outside_items() {
        let typescript = sample(Language::TypeScript, test_fixture::TYPESCRIPT);
        check(
            &typescript,
            typescript.cursor("import"),
            "import { x } from \"y\";\n",
        );
    }

    #[test]
    fn tsx_cursor_takes_the_exported_arrow_component() {
        let tsx = sample(Language::Tsx, test_fixture::TSX);
        check(
            &tsx,
            tsx.cursor("<Greeting"),
            "export const App = () => {\n  return <Greeting name=\"x\" />;\n};\n",
        );
    }

    #[test]
    fn tsx_cursor_takes_the_component_and_its_comment() {
        let tsx = sample(Language::Tsx, test_fixture::TSX);
        let widened = tsx.tree.widen_selection(&tsx.text, tsx.cursor("Hello"));
        assert!(
            tsx.slice(widened)
                .starts_with("// Greets someone.\nexport function Greeting")
        );
    }

    #[test]
    fn tsx_selection_from_type_into_component_takes_the_component() {
        let tsx = sample(Language::Tsx, test_fixture::TSX);
        let widened = tsx
            .tree
            .widen_selection(&tsx.text, tsx.selection("name: string", "return <div"));
        assert_eq!(widened.start, 0);
        assert_eq!(widened.end, tsx.at("export const App") - 1);
    }

    #[test]
    fn javascript_cursor_takes_the_constructor() {
        let javascript = sample(Language::JavaScript, test_fixture::JAVASCRIPT);
        check(
            &javascript,
            javascript.cursor("this.items = []"),
            "  constructor() {\n    this.items = [];\n  }\n",
        );
    }

    #[test]
    fn javascript_selection_across_class_members_takes_the_class() {
        let javascript = sample(Language::JavaScript, test_fixture::JAVASCRIPT);
        let widened = javascript
            .tree
            .widen_selection(&javascript.text, javascript.selection("[];", "push"));
        assert!(javascript.slice(widened).starts_with("class Store {\n"));
    }

    #[test]
    fn javascript_selection_outside_items() {
        let javascript = sample(Language::JavaScript, test_fixture::JAVASCRIPT);
        check(
            &javascript,
            javascript.selection("fs =", "require"),
            "const fs = require(\"fs\");\n",
        );
    }

    #[test]
    fn go_cursor_takes_the_method_and_its_doc_comment() {
        let go = sample(Language::Go, test_fixture::GO);
        check(
            &go,
            go.cursor("return s.listen"),
            "// Run runs the server.\nfunc (s *Server) Run(ctx context.Context) error {\n\treturn s.listen(ctx)\n}\n",
        );
    }

    #[test]
    fn go_selection_outside_items() {
        let go = sample(Language::Go, test_fixture::GO);
        check(&go, go.cursor("package"), "package server\n");
    }

    #[test]
    fn last_line_without_line_break_ends_at_document_end() {
        let go = sample(
            Language::Go,
            "package main\n\nfunc main() {\n\tprintln(\"hi\")\n}",
        );
        check(
            &go,
            go.cursor("println"),
            "func main() {\n\tprintln(\"hi\")\n}",
        );
    }

    #[test]
    fn selection_ending_at_a_line_start_does_not_take_the_next_line() {
        let go = sample(Language::Go, test_fixture::GO);
        let selection = go.at("package")..go.at("import");
        check(&go, selection, "package server\n\n");
    }

    #[test]
    fn out_of_range_and_reversed_selections_are_clamped() {
        let go = sample(Language::Go, test_fixture::GO);
        let length = go.text.len_bytes();
        assert_eq!(
            go.tree.widen_selection(&go.text, length + 10..length + 20),
            length..length
        );
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = go.at("import")..go.at("package");
        check(&go, reversed, "package server\n\n");
    }
}
