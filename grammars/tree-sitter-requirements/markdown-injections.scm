; For the Markdown grammar, not this one (so it lives outside queries/, which
; `tree-sitter test` checks against this grammar). Injects `requirements` into
; Markdown paragraphs, which includes the paragraphs
; of list items. Append these patterns to the Markdown (block) grammar's
; injections.scm; in Neovim, put them in after/queries/markdown/injections.scm
; under a first line `; extends`. They sit beside the usual `markdown_inline`
; injection of the same `inline` nodes, so both highlight.

((paragraph
  (inline) @injection.content)
  (#set! injection.language "requirements"))
