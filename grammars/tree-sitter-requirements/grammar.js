/**
 * @file Requirement statements: EARS clauses, RFC 2119 modals, requirement
 * references and `@spec` trace tags, one statement per line.
 *
 * The grammar must accept any prose without ERROR nodes, because editors inject
 * it into every Markdown paragraph and list item of a spec. A line with a modal
 * is an `ears_statement`; any other line is a `sentence`. Clause keywords are
 * contextual: `when` is a keyword only where an EARS clause may start.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

// Lexical precedence of `@spec` tag IDs over plain words, which also match them.
const PREC = {
  tag_reference: 1,
};

// Characters that end a word; `.:;!?_` may also sit inside one (`e.g`, `snake_case`).
const WORD_CORE = '[^\\s,()\\[\\]*_.:;!?`]';
const WORD_JOINER = '[.:;!?_]';

export default grammar({
  name: 'requirements',

  word: $ => $.text,

  // Whitespace and Markdown emphasis markers (`**WHEN**`) carry no meaning here.
  extras: _ => [/[ \t\f\v\r\u00a0\ufeff]+/, /[*_]+/],

  conflicts: $ => [
    // A line starting with a clause keyword is an EARS statement only if a modal
    // follows; otherwise it is a sentence. The parser keeps both until it knows.
    [$.sentence, $.subject],
    [$.precondition, $._clause_keyword_as_text],
    [$.trigger, $._clause_keyword_as_text],
    [$.unwanted, $._clause_keyword_as_text],
    // `SHALL NOT` or `SHALL` followed by the word "not"; dynamic precedence picks.
    [$.modal],
    // A comma after a tag's ID separates IDs only if another ID follows.
    [$.spec_tag],
  ],

  rules: {
    source_file: $ => seq(
      optional($._line),
      repeat(seq($._newline, optional($._line))),
    ),

    _newline: _ => /\n/,

    _line: $ => choice($.ears_statement, $.sentence),

    // Plain prose: a line without a modal.
    sentence: $ => repeat1(choice($._word, $._clause_keyword_as_text, ',')),

    // [WHERE …,] [WHILE …,]* [WHEN …, | IF … THEN] [subject] MODAL [response]
    // Prose words also match modals when no modal is expected, so the sentence
    // reading of a line always survives; this precedence prefers the EARS reading.
    ears_statement: $ => prec.dynamic(1, seq(
      repeat(choice($.precondition, $.trigger, $.unwanted)),
      optional($.subject),
      $.modal,
      optional($.response),
    )),

    precondition: $ => prec.right(seq(
      field('keyword', choice($.where, $.while)),
      field('condition', $.condition),
      optional($._clause_end),
    )),

    trigger: $ => prec.right(seq(
      field('keyword', $.when),
      field('condition', $.condition),
      optional($._clause_end),
    )),

    unwanted: $ => prec.right(seq(
      field('keyword', $.if),
      field('condition', $.condition),
      optional($._clause_end),
    )),

    // A clause ends at its comma, at THEN (Kiro's `WHEN … THEN`), or at both.
    _clause_end: $ => choice(
      seq(',', optional($.then)),
      $.then,
    ),

    condition: $ => prec.right(repeat1($._word)),

    subject: $ => repeat1(choice($._word, ',')),

    response: $ => repeat1(choice(
      $._word,
      ',',
      $.modal,
      alias(choice($._not, $._continue, $._to), $.text),
    )),

    where: _ => /where/i,
    while: _ => /while/i,
    when: _ => /when/i,
    if: _ => /if/i,
    then: _ => /then/i,

    _clause_keyword_as_text: $ => alias(
      choice($.where, $.while, $.when, $.if),
      $.text,
    ),

    // EARS makes lowercase `shall`/`must` normative; the other RFC 2119 words
    // count only in capitals, so prose "may" stays prose. The words are keywords,
    // so `MUST notify` is not `MUST NOT`; `SHALL continue working` parses both ways
    // and keeps the reading where `continue` is prose, the only one without errors.
    modal: $ => choice(
      prec.dynamic(1, seq($._shall, $._continue, $._to)),
      prec.dynamic(1, seq($._shall, $._not)),
      $._shall,
      prec.dynamic(1, seq($._must, $._not)),
      $._must,
      prec.dynamic(1, seq($._should, $._not)),
      $._should,
      'MAY',
      'REQUIRED',
      'RECOMMENDED',
      'OPTIONAL',
    ),

    _shall: _ => /shall/i,
    _must: _ => /must/i,
    _should: _ => 'SHOULD',
    _not: _ => /not/i,
    _continue: _ => /continue/i,
    _to: _ => /to/i,

    _word: $ => choice(
      $.text,
      $.requirement_reference,
      $.spec_tag,
      $._punctuation,
      alias($._code_span, $.text),
      alias($._group_with_commas, $.text),
    ),

    // `REQ-12`, `AUTH-003.1`, `FR-001`, Kiro's `1.2`, qualified `login#LOGIN-003`.
    // Only a whole word is a reference: it wins a tie with `text` by coming first,
    // and `text` wins when longer (`REQ-12abc`). `text` never ends with `.`, so a
    // sentence-final `REQ-12.` is still a reference.
    requirement_reference: _ => token(seq(
      optional(/[a-z0-9][a-z0-9._\/-]*#/),
      choice(
        /[A-Z][A-Z0-9]*([-_][A-Z0-9]+)*[-_][0-9]+[a-z]?(\.[0-9]+)*/,
        /[0-9]+(\.[0-9]+)+/,
      ),
    )),

    text: _ => token(new RegExp(`${WORD_CORE}+(${WORD_JOINER}+${WORD_CORE}+)*`)),

    _punctuation: _ => /[.:;!?()\[\]]+|`/,

    _code_span: _ => /`[^`\n]+`/,

    // A parenthesis or bracket holding a comma is one word, so that its comma does
    // not end an EARS clause: `WHEN a (b, c) happens, …`.
    _group_with_commas: _ => token(choice(
      /\([^()\n]*,[^()\n]*\)/,
      /\[[^\[\]\n]*,[^\[\]\n]*\]/,
    )),

    // `@spec AUTH-003`, `@spec(test) AUTH-003.2`, `@spec a#AUTH-003@1f9c2a7b`,
    // `@spec-begin AUTH-003` (SPEC-FORMATS §3.2). IDs stop at the first word with
    // no digit, `#`, `-` or `~`: "@spec AUTH-1 hashes passwords". A bare `@spec`
    // ("see @spec tags") is a tag without targets, and a malformed role or pin is
    // prose, so no spelling of a tag is an ERROR.
    spec_tag: $ => seq(
      choice('@spec', '@spec-begin', '@spec-end'),
      optional(field('role', $.role)),
      repeat(seq(optional(','), $.spec_target)),
    ),

    // `(impl)`, `(test)` or `(doc)`, right after `@spec`.
    role: _ => token.immediate(/\((impl|test|doc)\)/),

    spec_target: $ => seq(
      field('reference', alias($._tag_reference, $.requirement_reference)),
      optional(field('fingerprint', $.fingerprint)),
    ),

    _tag_reference: _ => token(prec(
      PREC.tag_reference,
      /[A-Za-z0-9][A-Za-z_\/.]*[0-9#~-]([A-Za-z0-9_\/#~-]|\.[A-Za-z0-9_\/#~-])*/,
    )),

    // `@` and the 8 hex digits of the requirement's fingerprint, right after an ID.
    fingerprint: _ => token.immediate(prec(PREC.tag_reference, /@[0-9a-f]{8}/)),
  },
});
