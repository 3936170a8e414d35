//! A small GBNF recognizer, enough for the grammar leash generates: rules on
//! one line each, literals, character classes (ranges, negation, escapes),
//! grouping, alternation, `?`, `*`, `+`, `{m}`, `{m,n}`, `{m,}`, rule
//! references. It computes every end position reachable from a start
//! position (memoized per rule and position), so it needs no backtracking
//! heuristics; the generated grammar has no left recursion.
//!
//! This is a test oracle, not llama.cpp: the llama backend's tests exercise
//! the same grammar with the real sampler.

use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone)]
enum Atom {
    Literal(Vec<char>),
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Rule(String),
    Group(Alternatives),
}

#[derive(Debug, Clone)]
struct Item {
    atom: Atom,
    min: usize,
    max: Option<usize>,
}

type Sequence = Vec<Item>;
type Alternatives = Vec<Sequence>;

#[derive(Debug)]
pub struct Grammar {
    rules: HashMap<String, Alternatives>,
}

struct Cursor<'a> {
    chars: Vec<char>,
    at: usize,
    line: &'a str,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }
    fn bump(&mut self) -> char {
        let c = self.chars[self.at];
        self.at += 1;
        c
    }
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.at += 1;
        }
    }
    fn fail(&self, what: &str) -> ! {
        panic!("gbnf: {what} at column {} of: {}", self.at, self.line)
    }
    fn escape(&mut self) -> char {
        match self.bump() {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'x' => self.hex(2),
            'u' => self.hex(4),
            'U' => self.hex(8),
            other => other,
        }
    }
    fn hex(&mut self, digits: usize) -> char {
        let text: String = (0..digits).map(|_| self.bump()).collect();
        char::from_u32(u32::from_str_radix(&text, 16).unwrap()).unwrap()
    }
    fn char_in_class(&mut self) -> char {
        match self.bump() {
            '\\' => self.escape(),
            c => c,
        }
    }
    fn number(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some('0'..='9')) {
            self.at += 1;
        }
        self.chars[start..self.at]
            .iter()
            .collect::<String>()
            .parse()
            .unwrap()
    }

    fn alternatives(&mut self, in_group: bool) -> Alternatives {
        let mut alternatives = vec![self.sequence()];
        loop {
            self.skip_blanks();
            match self.peek() {
                Some('|') => {
                    self.at += 1;
                    alternatives.push(self.sequence());
                }
                Some(')') if in_group => return alternatives,
                None if !in_group => return alternatives,
                _ => self.fail("expected | or end"),
            }
        }
    }

    fn sequence(&mut self) -> Sequence {
        let mut items = Vec::new();
        loop {
            self.skip_blanks();
            let atom = match self.peek() {
                None | Some('|' | ')') => return items,
                Some('"') => {
                    self.at += 1;
                    let mut text = Vec::new();
                    loop {
                        match self.bump() {
                            '"' => break,
                            '\\' => text.push(self.escape()),
                            c => text.push(c),
                        }
                    }
                    Atom::Literal(text)
                }
                Some('[') => {
                    self.at += 1;
                    let negated = self.peek() == Some('^');
                    if negated {
                        self.at += 1;
                    }
                    let mut ranges = Vec::new();
                    while self.peek() != Some(']') {
                        let low = self.char_in_class();
                        let high = if self.peek() == Some('-')
                            && self.chars.get(self.at + 1) != Some(&']')
                        {
                            self.at += 1;
                            self.char_in_class()
                        } else {
                            low
                        };
                        ranges.push((low, high));
                    }
                    self.at += 1;
                    Atom::Class { negated, ranges }
                }
                Some('(') => {
                    self.at += 1;
                    let inner = self.alternatives(true);
                    self.at += 1; // ')'
                    Atom::Group(inner)
                }
                Some(c) if c.is_ascii_alphanumeric() || c == '-' => {
                    let start = self.at;
                    while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '-') {
                        self.at += 1;
                    }
                    Atom::Rule(self.chars[start..self.at].iter().collect())
                }
                Some(_) => self.fail("unexpected character"),
            };
            let (min, max) = match self.peek() {
                Some('?') => {
                    self.at += 1;
                    (0, Some(1))
                }
                Some('*') => {
                    self.at += 1;
                    (0, None)
                }
                Some('+') => {
                    self.at += 1;
                    (1, None)
                }
                Some('{') => {
                    self.at += 1;
                    let min = self.number();
                    let max = match self.bump() {
                        '}' => Some(min),
                        ',' if self.peek() == Some('}') => {
                            self.at += 1;
                            None
                        }
                        ',' => {
                            let max = self.number();
                            assert_eq!(self.bump(), '}');
                            Some(max)
                        }
                        _ => self.fail("bad repetition"),
                    };
                    (min, max)
                }
                _ => (1, Some(1)),
            };
            items.push(Item { atom, min, max });
        }
    }
}

impl Grammar {
    pub fn parse(text: &str) -> Grammar {
        let mut rules = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, body) = line
                .split_once("::=")
                .unwrap_or_else(|| panic!("no ::= in {line}"));
            let mut cursor = Cursor {
                chars: body.chars().collect(),
                at: 0,
                line,
            };
            let alternatives = cursor.alternatives(false);
            assert!(
                rules
                    .insert(name.trim().to_string(), alternatives)
                    .is_none(),
                "duplicate rule {name}"
            );
        }
        let grammar = Grammar { rules };
        grammar.check_references();
        grammar
    }

    fn check_references(&self) {
        fn walk(grammar: &Grammar, alternatives: &Alternatives) {
            for item in alternatives.iter().flatten() {
                match &item.atom {
                    Atom::Rule(name) => {
                        assert!(grammar.rules.contains_key(name), "undefined rule {name}")
                    }
                    Atom::Group(inner) => walk(grammar, inner),
                    Atom::Literal(_) | Atom::Class { .. } => {}
                }
            }
        }
        for alternatives in self.rules.values() {
            walk(self, alternatives);
        }
    }

    /// Whether `root` matches the whole input.
    pub fn accepts(&self, input: &str) -> bool {
        let chars: Vec<char> = input.chars().collect();
        let mut matcher = Matcher {
            grammar: self,
            input: &chars,
            memo: HashMap::new(),
        };
        matcher.rule("root", 0).contains(&chars.len())
    }
}

struct Matcher<'g> {
    grammar: &'g Grammar,
    input: &'g [char],
    memo: HashMap<(String, usize), BTreeSet<usize>>,
}

impl Matcher<'_> {
    fn rule(&mut self, name: &str, at: usize) -> BTreeSet<usize> {
        let key = (name.to_string(), at);
        if let Some(ends) = self.memo.get(&key) {
            return ends.clone();
        }
        let alternatives = self.grammar.rules[name].clone();
        let ends = self.alternatives(&alternatives, at);
        self.memo.insert(key, ends.clone());
        ends
    }

    fn alternatives(&mut self, alternatives: &Alternatives, at: usize) -> BTreeSet<usize> {
        let mut ends = BTreeSet::new();
        for sequence in alternatives {
            let mut frontier = BTreeSet::from([at]);
            for item in sequence {
                let mut next = BTreeSet::new();
                for position in frontier {
                    next.extend(self.item(item, position));
                }
                frontier = next;
                if frontier.is_empty() {
                    break;
                }
            }
            ends.extend(frontier);
        }
        ends
    }

    fn item(&mut self, item: &Item, at: usize) -> BTreeSet<usize> {
        let mut ends = BTreeSet::new();
        if item.min == 0 {
            ends.insert(at);
        }
        let mut frontier = BTreeSet::from([at]);
        let limit = item.max.unwrap_or(self.input.len() + 1);
        for count in 1..=limit {
            let mut next = BTreeSet::new();
            for position in &frontier {
                next.extend(self.atom(&item.atom, *position));
            }
            if next.is_empty() {
                break;
            }
            if count >= item.min {
                ends.extend(next.iter().copied());
                if next == frontier {
                    break; // only empty matches: no progress possible
                }
            }
            frontier = next;
        }
        ends
    }

    fn atom(&mut self, atom: &Atom, at: usize) -> BTreeSet<usize> {
        match atom {
            Atom::Literal(text) => {
                let end = at + text.len();
                if end <= self.input.len() && self.input[at..end] == text[..] {
                    BTreeSet::from([end])
                } else {
                    BTreeSet::new()
                }
            }
            Atom::Class { negated, ranges } => match self.input.get(at) {
                Some(c) if ranges.iter().any(|(low, high)| low <= c && c <= high) != *negated => {
                    BTreeSet::from([at + 1])
                }
                _ => BTreeSet::new(),
            },
            Atom::Rule(name) => self.rule(name, at),
            Atom::Group(inner) => self.alternatives(inner, at),
        }
    }
}

#[test]
fn matcher_understands_the_constructs_it_claims() {
    let grammar = Grammar::parse(
        "root ::= \"a\" [0-9]{2,3} ( \"x\" | \"y\" )* [^\\x00-\\x1F\"]? tail\ntail ::= \"\\n\"{0,2}",
    );
    assert!(grammar.accepts("a12"));
    assert!(grammar.accepts("a123xyx!\n\n"));
    assert!(!grammar.accepts("a1"));
    assert!(!grammar.accepts("a12345"));
    assert!(!grammar.accepts("a12\"\n"));
    assert!(!grammar.accepts("a12\n\n\n"));
}
