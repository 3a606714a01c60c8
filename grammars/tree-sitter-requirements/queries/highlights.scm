; Highlights for requirement statements. Capture names follow the ones Neovim,
; Helix and Zed themes know. Keywords are only nodes inside EARS statements: the
; same words in plain prose parse as `text`.

[
  (where)
  (while)
  (when)
  (if)
  (then)
] @keyword

(modal) @keyword.modifier

(requirement_reference) @label

[
  "@spec"
  "@spec-begin"
  "@spec-end"
] @comment.note

(role) @attribute

(fingerprint) @constant
