//! Compiles the committed, generated `src/parser.c` into the crate, so building
//! Director needs a C compiler but never the tree-sitter CLI.

fn main() {
    let source_directory = std::path::Path::new("src");
    let parser_path = source_directory.join("parser.c");
    cc::Build::new()
        .std("c11")
        .include(source_directory)
        .file(&parser_path)
        .warnings(false)
        .compile("tree-sitter-requirements");
    println!("cargo:rerun-if-changed={}", parser_path.display());
    println!("cargo:rerun-if-changed=src/tree_sitter/parser.h");
}
