//! The GBNF rules of a typed `run` argv ([`CommandShapes`]): the program, then
//! only the options that program (or its subcommand) has, each with a value
//! of its kind, then the operands in order, paths that must exist chosen from
//! the workspace's real entries. Options come before operands (a canonical
//! order every program the policy knows accepts), and every repetition is
//! bounded ([`MAX_OPTIONS_PER_LEVEL`], [`MAX_OPERANDS`]), so no argv runs away.
//!
//! Kept unambiguous where it matters for speed: free words may not start with
//! `-`, so an option literal and an operand never match the same text, and the
//! listed entries leave out names that start with `-`.

use std::fmt::Write as _;

use crate::command_shapes::{
    CommandShapes, MAX_OPERANDS, MAX_OPTIONS_PER_LEVEL, ProgramShape, WordKind, WordsShape,
};
use crate::grammar::literal;

/// A JSON string literal as a GBNF literal.
fn json_literal(text: &str) -> Option<String> {
    serde_json::to_string(text).ok().map(|json| literal(&json))
}

fn kind_rule(kind: WordKind) -> &'static str {
    match kind {
        WordKind::Existing => "existing-path",
        WordKind::Directory => "dir-path",
        WordKind::NewPath => "new-path",
        WordKind::Text => "plain-word",
        WordKind::Number => "number-word",
    }
}

/// `( ws "," ws X )`
fn next(x: &str) -> String {
    format!("ws \",\" ws {x}")
}

/// The rules of one level, named `name` (its options rule is `name-opt`).
/// Returns the sequence that follows the level's first word.
fn level(name: &str, words: &WordsShape, out: &mut String) -> String {
    let mut opts = Vec::new();
    let mut seq = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let options: Vec<String> = words
        .options
        .iter()
        .filter(|o| {
            let fresh = !o.spelling.is_empty() && !seen.contains(&o.spelling.as_str());
            seen.push(&o.spelling);
            fresh
        })
        .filter_map(|o| {
            let spelled = json_literal(&o.spelling)?;
            Some(match o.value {
                None => spelled,
                Some(kind) => format!("{spelled} {}", next(kind_rule(kind))),
            })
        })
        .collect();
    if !options.is_empty() {
        let _ = writeln!(out, "{name}-opt ::= {}", options.join(" | "));
        let most = MAX_OPTIONS_PER_LEVEL.min(options.len());
        opts.push(format!("( {} ){{0,{most}}}", next(&format!("{name}-opt"))));
    }
    for kind in &words.leading {
        seq.push(format!("( {} )", next(kind_rule(*kind))));
    }
    let max = words.max_operands.min(MAX_OPERANDS);
    if let Some(rest) = words.rest.filter(|_| max > 0) {
        let first = kind_rule(words.first.unwrap_or(rest));
        let rest_rule = kind_rule(rest);
        match words.last.filter(|_| max >= 2) {
            // Two or more operands, the last of its own kind (`cp A B DIR`).
            Some(last) => seq.push(format!(
                "( {} ( {} ){{0,{}}} {} )",
                next(first),
                next(rest_rule),
                max - 2,
                next(kind_rule(last))
            )),
            None => seq.push(format!(
                "( {} ( {} ){{0,{}}} )?",
                next(first),
                next(rest_rule),
                max - 1
            )),
        }
    } else if let Some(first) = words.first.filter(|_| max > 0) {
        seq.push(format!("( {} )?", next(kind_rule(first))));
    }
    if words.operands_first {
        seq.extend(opts);
    } else {
        opts.extend(seq);
        seq = opts;
    }
    seq.join(" ")
}

fn program(index: usize, shape: &ProgramShape, out: &mut String) -> Option<String> {
    let name = format!("cmd-{index}");
    let spelled = json_literal(&shape.name)?;
    let own = level(&name, &shape.words, out);
    let mut subs = Vec::new();
    for (i, sub) in shape.subcommands.iter().enumerate() {
        let sub_name = format!("{name}-s{i}");
        let Some(word) = json_literal(&sub.name) else {
            continue;
        };
        let words = level(&sub_name, &sub.words, out);
        let _ = writeln!(out, "{sub_name} ::= {word} {words}");
        subs.push(sub_name);
    }
    let tail = if subs.is_empty() {
        String::new()
    } else {
        let _ = writeln!(out, "{name}-sub ::= {}", subs.join(" | "));
        format!("( {} )?", next(&format!("{name}-sub")))
    };
    let parts: Vec<&str> = [spelled.as_str(), own.as_str(), tail.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
    let _ = writeln!(out, "{name} ::= {}", parts.join(" "));
    Some(name)
}

/// A rule choosing one of `entries` (JSON strings), `.` when there are none.
fn choice(rule: &str, entries: &[String], out: &mut String) {
    let mut alternatives: Vec<String> = Vec::new();
    for entry in entries {
        if entry.is_empty() || entry.starts_with('-') {
            continue;
        }
        if let Some(lit) = json_literal(entry)
            && !alternatives.contains(&lit)
        {
            alternatives.push(lit);
        }
    }
    if alternatives.is_empty() {
        alternatives.extend(json_literal("."));
    }
    let _ = writeln!(out, "{rule} ::= {}", alternatives.join(" | "));
}

/// The typed `argv` rule and everything it uses. The shared `char`, `ws` and
/// `escape` rules come from the caller.
pub(crate) fn typed_rules(shapes: &CommandShapes, out: &mut String) {
    let mut commands = Vec::new();
    let mut body = String::new();
    for (i, shape) in shapes.programs.iter().enumerate() {
        if let Some(name) = program(i, shape, &mut body) {
            commands.push(name);
        }
    }
    let _ = writeln!(out, "argv ::= \"[\" ws command ws \"]\"");
    let _ = writeln!(out, "command ::= {}", commands.join(" | "));
    out.push_str(&body);
    out.push_str(&typed_path_rules(shapes));
    let _ = writeln!(
        out,
        "number-word ::= \"\\\"\" [-+]? [0-9]{{1,9}} [a-zA-Z%]? \"\\\"\""
    );
}

/// The inside of a JSON string (without its quotes) as a GBNF literal, for
/// names that are only part of a string (`dir` "/" `name`).
fn json_inner_literal(text: &str) -> Option<String> {
    let json = serde_json::to_string(text).ok()?;
    let inner = json.strip_prefix('"')?.strip_suffix('"')?;
    Some(literal(inner))
}

/// `rule ::= a | b | …` of the insides of JSON strings; `false` (and no rule)
/// when there is nothing to choose from.
fn inner_choice<'a>(rule: &str, names: impl Iterator<Item = &'a str>, out: &mut String) -> bool {
    let mut alternatives: Vec<String> = Vec::new();
    for name in names {
        if name.is_empty() || name.starts_with('-') {
            continue;
        }
        if let Some(lit) = json_inner_literal(name)
            && !alternatives.contains(&lit)
        {
            alternatives.push(lit);
        }
    }
    if alternatives.is_empty() {
        return false;
    }
    let _ = writeln!(out, "{rule} ::= {}", alternatives.join(" | "));
    true
}

/// The last component of a relative path (`a/b.txt` → `b.txt`).
fn base_name(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

/// `new-path`: a path that may not exist yet is an existing entry, a name the
/// person used, or the base name of either under an existing or named
/// directory (`archive/old-notes.txt`): never a name the model made up.
fn new_path_rules(shapes: &CommandShapes, out: &mut String) {
    // Existing directories (a move or copy into one), not existing files: a
    // file is written over only when the person named it.
    let whole = shapes
        .directories
        .iter()
        .chain(&shapes.named)
        .map(String::as_str);
    let has_whole = inner_choice("new-path-whole", whole, out);
    // A named path is a directory when its base name has no extension
    // (`archive`, `projects/2026`), so `notes.txt/x` is never offered.
    let named_dirs = shapes.named.iter().filter(|n| !base_name(n).contains('.'));
    let dirs = shapes
        .directories
        .iter()
        .chain(named_dirs)
        .map(String::as_str)
        .filter(|d| *d != ".");
    let has_dirs = inner_choice("new-path-dir", dirs, out);
    // Only file names go under a directory (`archive/old-notes.txt`): a
    // directory's name under another (`docs/docs`) is never what was meant.
    let bases = shapes
        .named
        .iter()
        .chain(&shapes.existing)
        .map(|p| base_name(p))
        .filter(|b| *b != "." && b.contains('.'))
        .filter(|b| !shapes.directories.iter().any(|d| base_name(d) == *b));
    let has_bases = inner_choice("new-path-base", bases, out);
    let joined = if has_dirs && has_bases {
        " | new-path-dir \"/\" new-path-base"
    } else {
        ""
    };
    // Nothing at all to choose from still leaves `.` (as `existing-path`).
    if !has_whole {
        let _ = writeln!(out, "new-path-whole ::= \".\"");
    }
    let _ = writeln!(
        out,
        "new-path ::= \"\\\"\" ( new-path-whole{joined} ) \"\\\"\""
    );
}

/// `existing-path`, `dir-path`, `new-path` and `plain-word`: also used by
/// the file actions and `cwd` in a typed grammar.
pub(crate) fn typed_path_rules(shapes: &CommandShapes) -> String {
    let mut out = String::new();
    choice("existing-path", &shapes.existing, &mut out);
    choice("dir-path", &shapes.directories, &mut out);
    new_path_rules(shapes, &mut out);
    out.push_str("plain-word ::= \"\\\"\" word-start char{0,200} \"\\\"\"\n");
    out.push_str("word-start ::= [^-\"\\\\\\x00-\\x1F] | \"\\\\\" escape\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command_shapes::{OptionShape, SubcommandShape};

    fn ls() -> ProgramShape {
        ProgramShape {
            name: "ls".into(),
            words: WordsShape {
                options: vec![
                    OptionShape {
                        spelling: "-l".into(),
                        value: None,
                    },
                    OptionShape {
                        spelling: "--width".into(),
                        value: Some(WordKind::Number),
                    },
                ],
                rest: Some(WordKind::Existing),
                max_operands: 100,
                ..WordsShape::default()
            },
            subcommands: vec![],
        }
    }

    #[test]
    fn options_and_operands_are_bounded_and_typed() {
        let mut out = String::new();
        typed_rules(
            &CommandShapes {
                programs: vec![ls()],
                existing: vec![".".into(), "-rf".into(), "a b.txt".into()],
                directories: vec![],
                named: vec![],
                read_only: false,
                actions_required: false,
            },
            &mut out,
        );
        assert!(
            out.contains(r#"cmd-0-opt ::= "\"-l\"" | "\"--width\"" ws "," ws number-word"#),
            "{out}"
        );
        assert!(out.contains("{0,2}"), "{out}");
        assert!(
            out.contains(&format!("{{0,{}}}", MAX_OPERANDS - 1)),
            "{out}"
        );
        assert!(
            out.contains(r#"existing-path ::= "\".\"" | "\"a b.txt\"""#),
            "{out}"
        );
        assert!(
            !out.contains("-rf"),
            "names starting with - are left out: {out}"
        );
        assert!(out.contains(r#"dir-path ::= "\".\"""#), "{out}");
    }

    #[test]
    fn subcommands_follow_the_program_options() {
        let mut out = String::new();
        let git = ProgramShape {
            name: "git".into(),
            words: WordsShape::default(),
            subcommands: vec![SubcommandShape {
                name: "log".into(),
                words: WordsShape {
                    options: vec![OptionShape {
                        spelling: "-n".into(),
                        value: Some(WordKind::Number),
                    }],
                    ..WordsShape::default()
                },
            }],
        };
        typed_rules(
            &CommandShapes {
                programs: vec![git],
                ..CommandShapes::default()
            },
            &mut out,
        );
        assert!(
            out.contains(r#"cmd-0-s0 ::= "\"log\"" ( ws "," ws cmd-0-s0-opt ){0,1}"#),
            "{out}"
        );
        assert!(
            out.contains(r#"cmd-0 ::= "\"git\"" ( ws "," ws cmd-0-sub )?"#),
            "{out}"
        );
    }
}
