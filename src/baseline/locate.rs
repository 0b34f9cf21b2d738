//! Where each key of a YAML document is: an index from key paths (`iam.password_policy.minimum_length`,
//! `regions[1]`, spelled as `serde_path_to_error` spells them) to 1-based line and column.
//!
//! serde's errors know the path of the offending value but the YAML deserializer reports the position
//! of the enclosing node, which for a list item is the wrong line. This index is built from the YAML
//! parser's own event stream (yaml-rust2, with source markers), so every error can point at the exact
//! value, or at the key when the value is missing.
//!
//! The events are pulled one at a time (`Parser::next_token`), never through yaml-rust2's recursive
//! `load`, which has no depth limit and overflows the stack on a deeply nested document: so the same
//! walk can also find where a document nests deeper than the loader accepts ([`deeper_than`]).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Positions by key path. Values win over keys: a path maps to its value's position when it has one.
#[derive(Debug, Default)]
pub struct Positions {
    values: HashMap<String, (usize, usize)>,
    keys: HashMap<String, (usize, usize)>,
}

impl Positions {
    /// Indexes `text`; a document that does not parse yields an empty index (the deserializer reports
    /// the syntax error with its own position).
    pub fn of(text: &str) -> Positions {
        let mut builder = Builder::default();
        walk(text, &mut builder, usize::MAX);
        builder.positions
    }

    /// The position of the value at `path`, else of its key.
    pub fn get(&self, path: &str) -> Option<(usize, usize)> {
        self.values.get(path).or_else(|| self.keys.get(path)).copied()
    }
}

/// Where `text` first nests more than `limit` mappings and sequences deep: the key path of the
/// container that goes too deep, and its position. `None` when it never does (or stops parsing first:
/// the deserializer reports the syntax error).
pub fn deeper_than(text: &str, limit: usize) -> Option<(String, (usize, usize))> {
    match walk(text, &mut Builder::default(), limit) {
        Walked::TooDeep(path, mark) => Some((path, (mark.line(), mark.col() + 1))),
        Walked::End | Walked::SyntaxError(_) => None,
    }
}

/// The key path of the node the parser was reading when `text` stopped parsing (`.`: the document
/// itself); `None` when it parses.
pub fn syntax_error_path(text: &str) -> Option<String> {
    match walk(text, &mut Builder::default(), usize::MAX) {
        Walked::SyntaxError(path) | Walked::TooDeep(path, _) => Some(path),
        Walked::End => None,
    }
}

/// How a walk over a document's events ended.
enum Walked {
    End,
    /// A container deeper than the limit: its path and where it starts.
    TooDeep(String, Marker),
    /// The path of the node being read when the parser gave up.
    SyntaxError(String),
}

/// Feeds `text`'s events to `builder` until the end, a syntax error, or a container deeper than
/// `limit`.
fn walk(text: &str, builder: &mut Builder, limit: usize) -> Walked {
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            // The scanner reads ahead, and refuses flow collections nested more than 255 deep itself.
            Err(error) if error.info() == SCANNER_DEPTH_LIMIT => return Walked::TooDeep(builder.innermost_path(), *error.marker()),
            Err(_) => return Walked::SyntaxError(builder.reading_path()),
        };
        if event == Event::StreamEnd {
            return Walked::End;
        }
        let opens = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
        builder.on_event(event, mark);
        if opens && builder.stack.len() > limit {
            return Walked::TooDeep(builder.innermost_path(), mark);
        }
    }
}

/// yaml-rust2's scanner error for flow collections nested deeper than it counts.
const SCANNER_DEPTH_LIMIT: &str = "recursion limit exceeded";

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

#[derive(Default)]
struct Builder {
    positions: Positions,
    stack: Vec<Frame>,
}

fn join(parent: &str, key: &str) -> String {
    if parent == "." {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl Builder {
    /// The path of the node that starts now (a value, not a mapping key).
    fn next_path(&mut self) -> String {
        match self.stack.last_mut() {
            None => ".".to_string(),
            Some(Frame::Map { path, key }) => join(path, &key.take().unwrap_or_default()),
            Some(Frame::Seq { path, next }) => {
                *next += 1;
                format!("{path}[{}]", *next - 1)
            }
        }
    }

    /// The path of the innermost open container (`.` outside any).
    fn innermost_path(&self) -> String {
        match self.stack.last() {
            Some(Frame::Map { path, .. } | Frame::Seq { path, .. }) => path.clone(),
            None => ".".to_string(),
        }
    }

    /// The path of the node being read: the value of the pending key, the innermost container's
    /// next item, or the container itself.
    fn reading_path(&self) -> String {
        match self.stack.last() {
            Some(Frame::Map { path, key: Some(key) }) => join(path, key),
            Some(Frame::Seq { path, next }) => format!("{path}[{next}]"),
            _ => self.innermost_path(),
        }
    }

    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let at = (mark.line(), mark.col() + 1);
        match event {
            Event::Scalar(value, ..) if self.expects_key() => {
                if let Some(Frame::Map { path, key }) = self.stack.last_mut() {
                    self.positions.keys.entry(join(path, &value)).or_insert(at);
                    *key = Some(value);
                }
            }
            Event::Scalar(..) | Event::Alias(_) => {
                let path = self.next_path();
                self.positions.values.insert(path, at);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let path = self.next_path();
                // A block container's start marker sits past its first entry: its key says more.
                if !self.positions.keys.contains_key(&path) {
                    self.positions.values.insert(path.clone(), at);
                }
                let frame = if matches!(event, Event::MappingStart(..)) {
                    Frame::Map { path, key: None }
                } else {
                    Frame::Seq { path, next: 0 }
                };
                self.stack.push(frame);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Positions;

    #[test]
    fn values_keys_and_list_items_are_located() {
        let text = "version: 1\nregions:\n  - us-east-1\n  - us-east-9\niam:\n  password_policy:\n    minimum_length: 4\nflow: [a, b]\n";
        let positions = Positions::of(text);
        assert_eq!(positions.get("version"), Some((1, 10)));
        assert_eq!(positions.get("regions[1]"), Some((4, 5)));
        assert_eq!(positions.get("iam.password_policy.minimum_length"), Some((7, 21)));
        assert_eq!(positions.get("iam.password_policy"), Some((6, 3)));
        assert_eq!(positions.get("flow[1]"), Some((8, 11)));
        assert_eq!(positions.get("missing"), None);
    }

    #[test]
    fn a_document_nested_deeper_than_the_limit_is_found_without_recursion() {
        let deep: String = (0..3_000).map(|depth| format!("{}k:\n", " ".repeat(depth))).collect();
        let text = format!("version: 1\nvpc:\n{}", deep.lines().map(|l| format!("  {l}\n")).collect::<String>());
        let (path, (line, _)) = super::deeper_than(&text, 64).expect("too deep");
        assert!(path.starts_with("vpc.k.k.k"), "{path}");
        assert_eq!(line, 66, "the 65th container: the root mapping, `vpc`'s, then 63 levels of `k`, from line 3");
        assert_eq!(super::deeper_than("version: 1\nregions: [us-east-1]\n", 64), None);
    }

    #[test]
    fn a_syntax_error_is_placed_at_the_key_being_read() {
        assert_eq!(super::syntax_error_path("version: 1\niam:\n  password_policy: {minimum_length: 14\n").as_deref(), Some("iam.password_policy"), "the flow mapping left open");
        assert_eq!(super::syntax_error_path("version: 1\nregions: [us-east-1, \"x\n").as_deref(), Some("regions[1]"));
        assert_eq!(super::syntax_error_path("%bad\n").as_deref(), Some("."));
        assert_eq!(super::syntax_error_path("version: 1\n"), None);
    }
}
