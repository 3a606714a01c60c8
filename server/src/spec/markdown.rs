//! Markdown block structure from tree-sitter: where fenced code blocks are (every
//! recognizer skips them) and whether the parser had to recover from broken input.

use std::ops::Range;

/// What the line recognizers need from the block grammar.
#[derive(Clone, Debug, Default)]
pub struct MarkdownBlocks {
    /// Byte ranges of fenced code blocks, in order. Indented code is not skipped:
    /// deeply indented list items in agent output would otherwise vanish.
    pub code_blocks: Vec<Range<usize>>,
    /// Ranges tree-sitter could not parse; reported, then read line by line anyway.
    pub error_ranges: Vec<Range<usize>>,
}

impl MarkdownBlocks {
    /// Whether the byte offset lies inside a code block.
    pub fn in_code_block(&self, offset: usize) -> bool {
        let index = self
            .code_blocks
            .partition_point(|block| block.end <= offset);
        self.code_blocks
            .get(index)
            .is_some_and(|block| block.start <= offset)
    }
}

/// Parses `text` with the tree-sitter Markdown block grammar.
pub fn markdown_blocks(text: &str) -> MarkdownBlocks {
    let mut parser = tree_sitter::Parser::new();
    let mut blocks = MarkdownBlocks::default();
    if parser
        .set_language(&tree_sitter_md::LANGUAGE.into())
        .is_err()
    {
        return blocks;
    }
    let Some(tree) = parser.parse(text, None) else {
        return blocks;
    };
    let mut cursor = tree.walk();
    let mut descend = true;
    loop {
        let node = cursor.node();
        let mut enter_children = descend;
        if descend {
            match node.kind() {
                "fenced_code_block" => {
                    blocks.code_blocks.push(node.byte_range());
                    enter_children = false;
                }
                _ if node.is_error() || node.is_missing() => {
                    blocks.error_ranges.push(node.byte_range());
                    enter_children = false;
                }
                _ => {}
            }
        }
        if enter_children && cursor.goto_first_child() {
            descend = true;
            continue;
        }
        if cursor.goto_next_sibling() {
            descend = true;
            continue;
        }
        loop {
            if !cursor.goto_parent() {
                return blocks;
            }
            if cursor.goto_next_sibling() {
                descend = true;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fenced_code_blocks() {
        let text = "# T\n\n```md\n### Requirement: hidden\n```\n\n### Requirement: shown\n";
        let blocks = markdown_blocks(text);
        assert!(blocks.in_code_block(text.find("hidden").expect("test fixture")));
        assert!(!blocks.in_code_block(text.find("shown").expect("test fixture")));
    }
}
