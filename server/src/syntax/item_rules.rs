//! Which syntax nodes are items (functions, classes, …) in each language, and
//! which neighbouring nodes belong with them. One table per language: adding a
//! language means adding one table here.

use crate::syntax::{ItemKind, Language};

/// How one language's grammar spells items.
pub(crate) struct ItemRules {
    /// Node kinds that are items.
    pub items: &'static [ItemRule],
    /// Nodes that wrap a single item and belong with it: `export`, Python's
    /// decorated definition, `const name = () => …`. A wrapper holding several
    /// items of the same kind (`type ( A struct{}; B struct{} )`) is not one.
    pub wrappers: &'static [&'static str],
    /// Siblings just before an item that belong with it.
    pub leading: &'static [&'static str],
    /// Of the leading kinds, the comments: they belong to the item only when no
    /// blank line separates them from it.
    pub comments: &'static [&'static str],
    /// Children at the start of an item or wrapper that are left out of its
    /// signature.
    pub decorators: &'static [&'static str],
}

/// One node kind that is an item, possibly only in some places.
pub(crate) struct ItemRule {
    pub node_kind: &'static str,
    /// [`ItemKind::Function`] becomes [`ItemKind::Method`] when the nearest
    /// enclosing item is class-like.
    pub item_kind: ItemKind,
    pub condition: RuleCondition,
}

pub(crate) enum RuleCondition {
    Always,
    /// Only under a parent of one of these kinds (an arrow function counts
    /// when it is bound to a name, not when it is a callback argument).
    ParentIs(&'static [&'static str]),
    /// Only when the given field holds a node of one of these kinds (Go's
    /// `type_spec` is a struct or an interface depending on its type).
    FieldIs {
        field: &'static str,
        kinds: &'static [&'static str],
    },
}

impl ItemRules {
    pub fn for_language(language: Language) -> &'static ItemRules {
        match language {
            Language::Rust => &RUST,
            Language::Python => &PYTHON,
            Language::TypeScript | Language::Tsx => &TYPESCRIPT,
            Language::JavaScript => &JAVASCRIPT,
            Language::Go => &GO,
        }
    }
}

const fn rule(node_kind: &'static str, item_kind: ItemKind) -> ItemRule {
    ItemRule {
        node_kind,
        item_kind,
        condition: RuleCondition::Always,
    }
}

const fn rule_under(
    node_kind: &'static str,
    item_kind: ItemKind,
    parents: &'static [&'static str],
) -> ItemRule {
    ItemRule {
        node_kind,
        item_kind,
        condition: RuleCondition::ParentIs(parents),
    }
}

static RUST: ItemRules = ItemRules {
    items: &[
        rule("function_item", ItemKind::Function),
        rule("function_signature_item", ItemKind::Function),
        rule("impl_item", ItemKind::Impl),
        rule("trait_item", ItemKind::Trait),
        rule("struct_item", ItemKind::Struct),
        rule("union_item", ItemKind::Struct),
        rule("enum_item", ItemKind::Enum),
        rule("mod_item", ItemKind::Module),
    ],
    wrappers: &[],
    leading: &["attribute_item", "line_comment", "block_comment"],
    comments: &["line_comment", "block_comment"],
    decorators: &[],
};

static PYTHON: ItemRules = ItemRules {
    items: &[
        rule("function_definition", ItemKind::Function),
        rule("class_definition", ItemKind::Class),
    ],
    wrappers: &["decorated_definition"],
    leading: &["comment"],
    comments: &["comment"],
    decorators: &["decorator", "comment"],
};

/// Where a function or class expression is bound to a name in TypeScript.
const TYPESCRIPT_BINDINGS: &[&str] = &["variable_declarator", "public_field_definition"];

static TYPESCRIPT: ItemRules = ItemRules {
    items: &[
        rule("function_declaration", ItemKind::Function),
        rule("generator_function_declaration", ItemKind::Function),
        rule("function_signature", ItemKind::Function),
        rule_under("arrow_function", ItemKind::Function, TYPESCRIPT_BINDINGS),
        rule_under(
            "function_expression",
            ItemKind::Function,
            TYPESCRIPT_BINDINGS,
        ),
        rule_under(
            "generator_function",
            ItemKind::Function,
            TYPESCRIPT_BINDINGS,
        ),
        rule("method_definition", ItemKind::Method),
        rule("method_signature", ItemKind::Method),
        rule("abstract_method_signature", ItemKind::Method),
        rule("class_declaration", ItemKind::Class),
        rule("abstract_class_declaration", ItemKind::Class),
        rule_under("class", ItemKind::Class, &["variable_declarator"]),
        rule("interface_declaration", ItemKind::Interface),
        rule("enum_declaration", ItemKind::Enum),
        rule("internal_module", ItemKind::Module),
        rule("module", ItemKind::Module),
    ],
    wrappers: &[
        "export_statement",
        "ambient_declaration",
        "expression_statement",
        "lexical_declaration",
        "variable_declaration",
        "variable_declarator",
        "public_field_definition",
    ],
    leading: &["comment", "decorator"],
    comments: &["comment"],
    decorators: &["decorator", "comment"],
};

/// Where a function or class expression is bound to a name in JavaScript.
const JAVASCRIPT_BINDINGS: &[&str] = &["variable_declarator", "field_definition"];

static JAVASCRIPT: ItemRules = ItemRules {
    items: &[
        rule("function_declaration", ItemKind::Function),
        rule("generator_function_declaration", ItemKind::Function),
        rule_under("arrow_function", ItemKind::Function, JAVASCRIPT_BINDINGS),
        rule_under(
            "function_expression",
            ItemKind::Function,
            JAVASCRIPT_BINDINGS,
        ),
        rule_under(
            "generator_function",
            ItemKind::Function,
            JAVASCRIPT_BINDINGS,
        ),
        rule("method_definition", ItemKind::Method),
        rule("class_declaration", ItemKind::Class),
        rule_under("class", ItemKind::Class, &["variable_declarator"]),
    ],
    wrappers: &[
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
        "variable_declarator",
        "field_definition",
    ],
    leading: &["comment", "decorator"],
    comments: &["comment"],
    decorators: &["decorator", "comment"],
};

static GO: ItemRules = ItemRules {
    items: &[
        rule("function_declaration", ItemKind::Function),
        rule("method_declaration", ItemKind::Method),
        ItemRule {
            node_kind: "type_spec",
            item_kind: ItemKind::Struct,
            condition: RuleCondition::FieldIs {
                field: "type",
                kinds: &["struct_type"],
            },
        },
        ItemRule {
            node_kind: "type_spec",
            item_kind: ItemKind::Interface,
            condition: RuleCondition::FieldIs {
                field: "type",
                kinds: &["interface_type"],
            },
        },
    ],
    wrappers: &["type_declaration"],
    leading: &["comment"],
    comments: &["comment"],
    decorators: &["comment"],
};
