//! Sources in every language for the syntax tests, and helpers to point at
//! places in them by quoting a unique piece of text.

use std::ops::Range;

use ropey::Rope;

use crate::document::{ByteEdit, Point};
use crate::syntax::{Language, SyntaxTree};

pub(crate) const RUST: &str = r#"//! Crate docs.

/// Parses things.
#[derive(Debug)]
pub struct Parser {
    input: String,
}

impl Parser {
    /// Parses the input.
    #[must_use]
    pub fn parse(input: &str) -> Result<Ast, Error> {
        let tokens = lex(input);
        build(tokens)
    }

    fn helper(&self) -> usize {
        self.input.len()
    }
}

#[test]
fn parses_empty_input() {
    assert!(Parser::parse("").is_ok());
}
"#;

pub(crate) const PYTHON: &str = r#"import os

# Loads things.
class Loader(Base):
    """Loads."""

    @staticmethod
    def make():
        return Loader()

    @cached
    def load(self, path):
        data = open(path).read()
        return data


def main():
    Loader().load("x")
"#;

pub(crate) const TYPESCRIPT: &str = r#"import { x } from "y";

/** A server. */
@Injectable()
export class Server implements Runner {
  private port = 8080;

  @Get("/")
  async run(ctx: Context): Promise<void> {
    await this.listen(ctx);
  }

  stop(): void {
    this.port = 0;
  }
}

export const handler = async (req: Request): Promise<Response> => {
  return new Response("ok");
};

interface Runner {
  run(ctx: Context): Promise<void>;
}
"#;

pub(crate) const TSX: &str = r#"type Props = { name: string };

// Greets someone.
export function Greeting({ name }: Props): JSX.Element {
  return <div className="greeting">Hello {name}</div>;
}

export const App = () => {
  return <Greeting name="x" />;
};
"#;

pub(crate) const JAVASCRIPT: &str = r#"const fs = require("fs");

/**
 * Reads a config.
 */
function readConfig(path) {
  return JSON.parse(fs.readFileSync(path, "utf8"));
}

class Store {
  constructor() {
    this.items = [];
  }

  add = (item) => {
    this.items.push(item);
  };
}

export default function main() {
  return <App store={new Store()} />;
}
"#;

pub(crate) const GO: &str = r#"package server

import "context"

// Server serves.
type Server struct {
	port int
}

// Run runs the server.
func (s *Server) Run(ctx context.Context) error {
	return s.listen(ctx)
}

type Runner interface {
	Run(ctx context.Context) error
}

func main() {
	println("hi")
}
"#;

/// A source parsed for a test.
pub(crate) struct Sample {
    pub text: Rope,
    pub tree: SyntaxTree,
}

pub(crate) fn sample(language: Language, source: &str) -> Sample {
    let text = Rope::from_str(source);
    let tree = SyntaxTree::parse(language, &text).expect("sample parses");
    Sample { text, tree }
}

impl Sample {
    /// The offset of `needle`, which must occur exactly once.
    pub fn at(&self, needle: &str) -> usize {
        let source = self.text.to_string();
        let mut matches = source.match_indices(needle);
        let (offset, _) = matches
            .next()
            .unwrap_or_else(|| panic!("{needle:?} not in sample"));
        assert!(matches.next().is_none(), "{needle:?} occurs more than once");
        offset
    }

    /// An empty range at the start of `needle`.
    pub fn cursor(&self, needle: &str) -> Range<usize> {
        let offset = self.at(needle);
        offset..offset
    }

    /// From the start of `from` to the end of `to`.
    pub fn selection(&self, from: &str, to: &str) -> Range<usize> {
        self.at(from)..self.at(to) + to.len()
    }

    pub fn slice(&self, range: Range<usize>) -> String {
        self.text.byte_slice(range).to_string()
    }
}

/// Replaces `range` of `text` with `new_text` and describes the change as
/// the document module would.
pub(crate) fn apply_edit(text: &mut Rope, range: Range<usize>, new_text: &str) -> ByteEdit {
    let point_at = |text: &Rope, offset: usize| {
        let row = text.byte_to_line(offset);
        Point {
            row,
            column: offset - text.line_to_byte(row),
        }
    };
    let start_point = point_at(text, range.start);
    let old_end_point = point_at(text, range.end);
    let start_char = text.byte_to_char(range.start);
    text.remove(start_char..text.byte_to_char(range.end));
    text.insert(start_char, new_text);
    let new_end = range.start + new_text.len();
    ByteEdit {
        start: range.start,
        old_end: range.end,
        new_end,
        start_point,
        old_end_point,
        new_end_point: point_at(text, new_end),
        new_text: new_text.to_owned(),
    }
}
