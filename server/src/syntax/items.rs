//! Items (functions, methods, classes, …) around a place in a document: what
//! a prompt names as "the function being edited" and what a selection widens to.

use std::ops::Range;

use ropey::Rope;
use tree_sitter::Node;

use crate::syntax::SyntaxTree;
use crate::syntax::item_rules::{ItemRule, ItemRules, RuleCondition};

/// Signatures longer than this are cut (at a character boundary) and end in `…`.
const MAX_SIGNATURE_BYTES: usize = 1000;

/// Names longer than this are not names a prompt can use; they are dropped.
const MAX_NAME_BYTES: usize = 200;

/// What sort of item a node is, across languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Function,
    /// A function inside a class, impl, trait or interface.
    Method,
    Class,
    Impl,
    Trait,
    Interface,
    Struct,
    Enum,
    Module,
}

impl ItemKind {
    /// Kinds whose functions are methods.
    fn holds_methods(self) -> bool {
        matches!(
            self,
            ItemKind::Class
                | ItemKind::Impl
                | ItemKind::Trait
                | ItemKind::Interface
                | ItemKind::Struct
        )
    }
}

/// A function, class or similar item of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub kind: ItemKind,
    pub name: Option<String>,
    /// The whole item in bytes, including what belongs with it: attributes,
    /// decorators, doc comments directly above, `export`, `const name =`.
    pub range: Range<usize>,
    /// The item's header up to its body, without decorators, as written
    /// (`pub fn parse(input: &str) -> Result<Ast, Error>`, `def load(self, path):`).
    pub signature: String,
}

impl SyntaxTree {
    /// The innermost item whose range contains `range`.
    pub fn enclosing_item(&self, text: &Rope, range: Range<usize>) -> Option<Item> {
        self.enclosing_items(text, range).into_iter().next()
    }

    /// Every item containing `range`, innermost first: the method, then the
    /// impl or class it is in, and so on out to the top level. Whitespace at
    /// the ends of `range` is ignored, so whole selected lines still count as
    /// inside the item they cover.
    pub fn enclosing_items(&self, text: &Rope, range: Range<usize>) -> Vec<Item> {
        let rules = ItemRules::for_language(self.language());
        let query = trim_whitespace(text, clamp_range(text, range));
        // A cursor in a line's indentation counts as on the code it indents.
        let query = if query.is_empty() {
            let code = skip_indentation(text, query.start);
            code..code
        } else {
            query
        };
        let probe = if query.is_empty() {
            query.start
        } else {
            query.end - 1
        };
        let mut items: Vec<Item> = Vec::new();
        let mut last_core_id = None;
        let mut current = self
            .tree()
            .root_node()
            .descendant_for_byte_range(probe, probe);
        while let Some(node) = current {
            current = node.parent();
            let Some(core) = item_core_for(rules, node) else {
                continue;
            };
            // A wrapper and the item inside it are both ancestors of the probe.
            if last_core_id == Some(core.id()) {
                continue;
            }
            let Some(item) = build_item(rules, text, core) else {
                continue;
            };
            if item.range.start <= query.start && query.end <= item.range.end {
                last_core_id = Some(core.id());
                items.push(item);
            }
        }
        items
    }
}

/// The item a node stands for: the node itself, the item a wrapper wraps,
/// or the item an attribute or doc comment leads into.
fn item_core_for<'tree>(rules: &ItemRules, node: Node<'tree>) -> Option<Node<'tree>> {
    if item_kind_of(rules, node).is_some() {
        return Some(node);
    }
    if rules.wrappers.contains(&node.kind()) {
        return wrapped_core(rules, node);
    }
    if rules.leading.contains(&node.kind()) {
        let mut sibling = node.next_sibling();
        while let Some(candidate) = sibling {
            if !rules.leading.contains(&candidate.kind()) {
                let core = item_kind_of(rules, candidate)
                    .map(|_| candidate)
                    .or_else(|| wrapped_core(rules, candidate))?;
                let leading_start = leading_start(rules, outer_node(rules, core));
                return (leading_start <= node.start_byte()).then_some(core);
            }
            sibling = candidate.next_sibling();
        }
    }
    None
}

/// The item inside a wrapper, if the wrapper belongs to it.
fn wrapped_core<'tree>(rules: &ItemRules, wrapper: Node<'tree>) -> Option<Node<'tree>> {
    let mut cursor = wrapper.walk();
    let children: Vec<Node<'tree>> = wrapper.named_children(&mut cursor).collect();
    children.into_iter().find_map(|child| {
        let core = if item_kind_of(rules, child).is_some() {
            child
        } else if rules.wrappers.contains(&child.kind()) {
            wrapped_core(rules, child)?
        } else {
            return None;
        };
        // The wrapper belongs to the item when the item's outer node is the
        // wrapper or encloses it.
        is_ancestor(outer_node(rules, core), wrapper).then_some(core)
    })
}

fn is_ancestor(ancestor: Node<'_>, node: Node<'_>) -> bool {
    let mut current = Some(node);
    while let Some(candidate) = current {
        if candidate.id() == ancestor.id() {
            return true;
        }
        current = candidate.parent();
    }
    false
}

/// The rule kind of a node, before telling methods from functions.
fn item_kind_of(rules: &ItemRules, node: Node<'_>) -> Option<ItemKind> {
    if !node.is_named() {
        // Keywords such as `class` share their spelling with node kinds.
        return None;
    }
    rules
        .items
        .iter()
        .find(|rule| rule.node_kind == node.kind() && rule_applies(rule, node))
        .map(|rule| rule.item_kind)
}

fn rule_applies(rule: &ItemRule, node: Node<'_>) -> bool {
    match rule.condition {
        RuleCondition::Always => true,
        RuleCondition::ParentIs(parents) => node
            .parent()
            .is_some_and(|parent| parents.contains(&parent.kind())),
        RuleCondition::FieldIs { field, kinds } => node
            .child_by_field_name(field)
            .is_some_and(|child| kinds.contains(&child.kind())),
    }
}

/// The outermost wrapper that belongs to the item (or the item itself).
fn outer_node<'tree>(rules: &ItemRules, core: Node<'tree>) -> Node<'tree> {
    let mut outer = core;
    while let Some(parent) = outer.parent() {
        if !rules.wrappers.contains(&parent.kind()) {
            break;
        }
        let mut cursor = parent.walk();
        let has_same_kind_sibling = parent
            .named_children(&mut cursor)
            .any(|child| child.id() != outer.id() && child.kind() == outer.kind());
        if has_same_kind_sibling {
            break;
        }
        outer = parent;
    }
    outer
}

/// Where the item starts once attributes, decorators and doc comments just
/// above it are counted.
fn leading_start(rules: &ItemRules, outer: Node<'_>) -> usize {
    let mut start = outer.start_byte();
    let mut start_row = outer.start_position().row;
    let mut previous = outer.prev_sibling();
    while let Some(sibling) = previous {
        if !rules.leading.contains(&sibling.kind()) {
            break;
        }
        if rules.comments.contains(&sibling.kind()) {
            let separated_by_blank_line = sibling.end_position().row + 1 < start_row;
            // `//!` and `/*!` document the enclosing module, not the next item.
            let is_inner_doc = sibling.child_by_field_name("inner").is_some();
            let trails_previous_code = sibling.prev_sibling().is_some_and(|before| {
                !rules.leading.contains(&before.kind())
                    && before.end_position().row == sibling.start_position().row
            });
            if separated_by_blank_line || is_inner_doc || trails_previous_code {
                break;
            }
        }
        start = sibling.start_byte();
        start_row = sibling.start_position().row;
        previous = sibling.prev_sibling();
    }
    start
}

fn build_item(rules: &ItemRules, text: &Rope, core: Node<'_>) -> Option<Item> {
    let rule_kind = item_kind_of(rules, core)?;
    let inside_class_like = enclosing_item_kind(rules, core).is_some_and(ItemKind::holds_methods);
    let kind = if rule_kind == ItemKind::Function && inside_class_like {
        ItemKind::Method
    } else {
        rule_kind
    };
    let outer = outer_node(rules, core);
    let length = text.len_bytes();
    let name = item_name(core)
        .and_then(|name_node| slice_text(text, name_node.byte_range()))
        .filter(|name| name.len() <= MAX_NAME_BYTES);
    Some(Item {
        kind,
        name,
        range: leading_start(rules, outer).min(length)..outer.end_byte().min(length),
        signature: signature(rules, text, core, outer),
    })
}

/// The kind of the nearest item around `node`, to tell methods from functions.
fn enclosing_item_kind(rules: &ItemRules, node: Node<'_>) -> Option<ItemKind> {
    let mut current = node.parent();
    while let Some(ancestor) = current {
        if let Some(kind) = item_kind_of(rules, ancestor) {
            return Some(kind);
        }
        current = ancestor.parent();
    }
    None
}

/// The node holding an item's name: its `name` field, the type of a Rust
/// impl, or the variable or field a function expression is bound to.
fn item_name(core: Node<'_>) -> Option<Node<'_>> {
    core.child_by_field_name("name")
        .or_else(|| {
            (core.kind() == "impl_item")
                .then(|| core.child_by_field_name("type"))
                .flatten()
        })
        .or_else(|| {
            let parent = core.parent()?;
            parent
                .child_by_field_name("name")
                .or_else(|| parent.child_by_field_name("property"))
        })
}

fn signature(rules: &ItemRules, text: &Rope, core: Node<'_>, outer: Node<'_>) -> String {
    let mut cursor = outer.walk();
    let start = outer
        .children(&mut cursor)
        .find(|child| !rules.decorators.contains(&child.kind()))
        .map_or(outer.start_byte(), |child| child.start_byte());
    let end = body_start(core).unwrap_or(core.end_byte()).max(start);
    let header = slice_text(text, start..end).unwrap_or_default();
    let header = header.trim_end();
    if header.len() <= MAX_SIGNATURE_BYTES {
        return header.to_owned();
    }
    let mut cut = MAX_SIGNATURE_BYTES;
    while !header.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &header[..cut])
}

/// Where the body starts: the `body` field, or for Go types the `{` of the
/// struct or interface.
fn body_start(core: Node<'_>) -> Option<usize> {
    if let Some(body) = core.child_by_field_name("body") {
        return Some(body.start_byte());
    }
    let type_node = core.child_by_field_name("type")?;
    let mut cursor = type_node.walk();
    let brace = type_node
        .children(&mut cursor)
        .find(|child| matches!(child.kind(), "{" | "field_declaration_list"));
    brace.map(|brace| brace.start_byte())
}

fn slice_text(text: &Rope, range: Range<usize>) -> Option<String> {
    text.get_byte_slice(range).map(String::from)
}

/// The first offset at or after `offset` that is not a space or a tab.
fn skip_indentation(text: &Rope, offset: usize) -> usize {
    let mut offset = offset;
    while text
        .get_byte(offset)
        .is_some_and(|byte| byte == b' ' || byte == b'\t')
    {
        offset += 1;
    }
    offset
}

/// `range` with its ends inside the text and in order.
pub(crate) fn clamp_range(text: &Rope, range: Range<usize>) -> Range<usize> {
    let length = text.len_bytes();
    let start = range.start.min(length);
    let end = range.end.min(length);
    start.min(end)..start.max(end)
}

/// `range` without the whitespace at its ends; all-whitespace ranges collapse
/// to an empty range at their end.
pub(crate) fn trim_whitespace(text: &Rope, range: Range<usize>) -> Range<usize> {
    let is_space = |offset: usize| {
        text.get_byte(offset)
            .is_some_and(|byte| byte.is_ascii_whitespace())
    };
    let mut start = range.start;
    let mut end = range.end;
    while start < end && is_space(start) {
        start += 1;
    }
    while end > start && is_space(end - 1) {
        end -= 1;
    }
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Language;
    use crate::syntax::test_fixture::{self, sample};

    /// Every item around the cursor at `needle`, innermost first, one per line.
    #[track_caller]
    fn check(language: Language, source: &str, needle: &str, expected: &str) {
        let sample = sample(language, source);
        let items = sample
            .tree
            .enclosing_items(&sample.text, sample.cursor(needle));
        let actual: Vec<String> = items
            .iter()
            .map(|item| {
                format!(
                    "{:?} {}: {}",
                    item.kind,
                    item.name.as_deref().unwrap_or("_"),
                    item.signature
                )
            })
            .collect();
        assert_eq!(actual.join("\n"), expected);
    }

    #[test]
    fn rust_method_inside_impl() {
        check(
            Language::Rust,
            test_fixture::RUST,
            "lex(input)",
            "Method parse: pub fn parse(input: &str) -> Result<Ast, Error>\nImpl Parser: impl Parser",
        );
    }

    #[test]
    fn rust_item_range_includes_doc_comment_and_attributes() {
        let sample = sample(Language::Rust, test_fixture::RUST);
        let item = sample
            .tree
            .enclosing_item(&sample.text, sample.cursor("input: String"))
            .expect("struct");
        assert_eq!(item.kind, ItemKind::Struct);
        assert_eq!(item.signature, "pub struct Parser");
        assert!(
            sample
                .slice(item.range)
                .starts_with("/// Parses things.\n#[derive(Debug)]\npub struct")
        );
    }

    #[test]
    fn rust_cursor_on_attribute_finds_the_item_it_decorates() {
        check(
            Language::Rust,
            test_fixture::RUST,
            "test]",
            "Function parses_empty_input: fn parses_empty_input()",
        );
    }

    #[test]
    fn rust_inner_doc_comment_belongs_to_no_item() {
        check(Language::Rust, test_fixture::RUST, "Crate docs", "");
    }

    #[test]
    fn cursor_in_indentation_counts_as_on_the_indented_code() {
        let sample = sample(Language::Rust, test_fixture::RUST);
        let line_start = sample.at("    fn helper");
        let item = sample
            .tree
            .enclosing_item(&sample.text, line_start..line_start)
            .expect("method");
        assert_eq!(item.name.as_deref(), Some("helper"));
    }

    #[test]
    fn python_method_inside_class() {
        check(
            Language::Python,
            test_fixture::PYTHON,
            "open(path)",
            "Method load: def load(self, path):\nClass Loader: class Loader(Base):",
        );
    }

    #[test]
    fn python_cursor_on_decorator_finds_the_method() {
        check(
            Language::Python,
            test_fixture::PYTHON,
            "cached",
            "Method load: def load(self, path):\nClass Loader: class Loader(Base):",
        );
    }

    #[test]
    fn python_top_level_function() {
        check(
            Language::Python,
            test_fixture::PYTHON,
            "Loader().load",
            "Function main: def main():",
        );
    }

    #[test]
    fn typescript_decorated_method_in_exported_class() {
        check(
            Language::TypeScript,
            test_fixture::TYPESCRIPT,
            "this.listen",
            "Method run: async run(ctx: Context): Promise<void>\nClass Server: export class Server implements Runner",
        );
    }

    #[test]
    fn typescript_arrow_function_bound_to_a_name() {
        check(
            Language::TypeScript,
            test_fixture::TYPESCRIPT,
            "new Response",
            "Function handler: export const handler = async (req: Request): Promise<Response> =>",
        );
    }

    #[test]
    fn typescript_interface_method_signature() {
        check(
            Language::TypeScript,
            test_fixture::TYPESCRIPT,
            "run(ctx: Context): Promise<void>;",
            "Method run: run(ctx: Context): Promise<void>\nInterface Runner: interface Runner",
        );
    }

    #[test]
    fn tsx_function_component() {
        check(
            Language::Tsx,
            test_fixture::TSX,
            "Hello",
            "Function Greeting: export function Greeting({ name }: Props): JSX.Element",
        );
    }

    #[test]
    fn tsx_arrow_component() {
        check(
            Language::Tsx,
            test_fixture::TSX,
            "<Greeting",
            "Function App: export const App = () =>",
        );
    }

    #[test]
    fn javascript_class_field_arrow_is_a_method() {
        check(
            Language::JavaScript,
            test_fixture::JAVASCRIPT,
            "push(item)",
            "Method add: add = (item) =>\nClass Store: class Store",
        );
    }

    #[test]
    fn javascript_function_with_jsdoc() {
        let sample = sample(Language::JavaScript, test_fixture::JAVASCRIPT);
        let item = sample
            .tree
            .enclosing_item(&sample.text, sample.cursor("JSON.parse"))
            .expect("function");
        assert_eq!(item.signature, "function readConfig(path)");
        assert!(
            sample
                .slice(item.range)
                .starts_with("/**\n * Reads a config.\n */\nfunction")
        );
    }

    #[test]
    fn javascript_exported_default_function_with_jsx() {
        check(
            Language::JavaScript,
            test_fixture::JAVASCRIPT,
            "<App",
            "Function main: export default function main()",
        );
    }

    #[test]
    fn javascript_callback_arguments_are_not_items() {
        check(
            Language::JavaScript,
            "function outer(xs) {\n  return xs.map((x) => x + 1);\n}\n",
            "x + 1",
            "Function outer: function outer(xs)",
        );
    }

    #[test]
    fn go_method_with_receiver() {
        check(
            Language::Go,
            test_fixture::GO,
            "s.listen",
            "Method Run: func (s *Server) Run(ctx context.Context) error",
        );
    }

    #[test]
    fn go_struct_and_interface_types() {
        check(
            Language::Go,
            test_fixture::GO,
            "port int",
            "Struct Server: type Server struct",
        );
        check(
            Language::Go,
            test_fixture::GO,
            "Run(ctx context.Context) error\n}",
            "Interface Runner: type Runner interface",
        );
    }

    #[test]
    fn selection_of_whole_lines_is_inside_the_item_they_cover() {
        let sample = sample(Language::Go, test_fixture::GO);
        let lines = sample.at("func main")..sample.text.len_bytes();
        let item = sample
            .tree
            .enclosing_item(&sample.text, lines)
            .expect("main");
        assert_eq!(item.name.as_deref(), Some("main"));
    }

    #[test]
    fn long_signatures_are_cut_at_a_character_boundary() {
        let parameters: Vec<String> = (0..300).map(|index| format!("é{index}: u8")).collect();
        let source = format!("fn wide({}) {{\n    body();\n}}\n", parameters.join(", "));
        let sample = sample(Language::Rust, &source);
        let item = sample
            .tree
            .enclosing_item(&sample.text, sample.cursor("body()"))
            .expect("function");
        assert!(item.signature.len() <= MAX_SIGNATURE_BYTES + '…'.len_utf8());
        assert!(item.signature.starts_with("fn wide(é0: u8") && item.signature.ends_with('…'));
    }
}
