//! The languages Director can parse, and how an editor or a path names them.

use std::path::Path;

/// A source language with a tree-sitter grammar compiled into the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Rust,
    Python,
    TypeScript,
    /// TypeScript with JSX, which needs its own grammar.
    Tsx,
    /// JavaScript, with or without JSX (one grammar covers both).
    JavaScript,
    Go,
}

impl Language {
    /// Every supported language, for tests and capability lists.
    pub const ALL: [Language; 6] = [
        Language::Rust,
        Language::Python,
        Language::TypeScript,
        Language::Tsx,
        Language::JavaScript,
        Language::Go,
    ];

    /// Maps an LSP `languageId` (as sent in `textDocument/didOpen`).
    pub fn from_language_id(language_id: &str) -> Option<Language> {
        match language_id {
            "rust" => Some(Language::Rust),
            "python" => Some(Language::Python),
            "typescript" => Some(Language::TypeScript),
            "typescriptreact" => Some(Language::Tsx),
            "javascript" | "javascriptreact" => Some(Language::JavaScript),
            "go" => Some(Language::Go),
            _ => None,
        }
    }

    /// Guesses the language from a file extension, for files no editor has
    /// opened (headless runs, workspace scans).
    pub fn from_path(path: &Path) -> Option<Language> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "rs" => Some(Language::Rust),
            "py" | "pyi" => Some(Language::Python),
            "ts" | "mts" | "cts" => Some(Language::TypeScript),
            "tsx" => Some(Language::Tsx),
            "js" | "mjs" | "cjs" | "jsx" => Some(Language::JavaScript),
            "go" => Some(Language::Go),
            _ => None,
        }
    }

    /// The human name, as it should appear in a prompt.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::TypeScript => "TypeScript",
            Language::Tsx => "TypeScript (TSX)",
            Language::JavaScript => "JavaScript",
            Language::Go => "Go",
        }
    }

    /// The tree-sitter grammar that parses this language.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_ids_from_lsp_clients_are_recognised() {
        assert_eq!(Language::from_language_id("rust"), Some(Language::Rust));
        assert_eq!(Language::from_language_id("python"), Some(Language::Python));
        assert_eq!(
            Language::from_language_id("typescript"),
            Some(Language::TypeScript)
        );
        assert_eq!(
            Language::from_language_id("typescriptreact"),
            Some(Language::Tsx)
        );
        assert_eq!(
            Language::from_language_id("javascript"),
            Some(Language::JavaScript)
        );
        assert_eq!(
            Language::from_language_id("javascriptreact"),
            Some(Language::JavaScript)
        );
        assert_eq!(Language::from_language_id("go"), Some(Language::Go));
        assert_eq!(Language::from_language_id("markdown"), None);
    }

    #[test]
    fn extensions_map_to_languages() {
        let cases = [
            ("src/lib.rs", Some(Language::Rust)),
            ("app/main.py", Some(Language::Python)),
            ("stubs/os.pyi", Some(Language::Python)),
            ("web/index.ts", Some(Language::TypeScript)),
            ("web/App.tsx", Some(Language::Tsx)),
            ("web/App.jsx", Some(Language::JavaScript)),
            ("web/tool.mjs", Some(Language::JavaScript)),
            ("web/tool.cjs", Some(Language::JavaScript)),
            ("web/OLD.JS", Some(Language::JavaScript)),
            ("cmd/server.go", Some(Language::Go)),
            ("README.md", None),
            ("Makefile", None),
        ];
        for (path, expected) in cases {
            assert_eq!(Language::from_path(Path::new(path)), expected, "{path}");
        }
    }

    #[test]
    fn every_grammar_loads_into_a_parser() {
        for language in Language::ALL {
            let mut parser = tree_sitter::Parser::new();
            parser
                .set_language(&language.grammar())
                .expect("grammar ABI matches the tree-sitter runtime");
        }
    }
}
