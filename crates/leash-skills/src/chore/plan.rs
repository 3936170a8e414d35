//! From a request to the typed actions that could carry it out: the request
//! is cut into clauses ("make a folder called x and move y into it"), each
//! clause's verb ([`super::verbs`]) is paired with its operands
//! ([`super::operands`]) in every way their types allow (a move's source
//! exists and is named before its destination; a new folder does not exist
//! yet). Each clause then has a few valid candidates; the model picks one
//! when there is more than one.

use std::path::{Path, PathBuf};

use leash_llm::{Action, FileWrite, Transfer};

use super::operands::{Operands, extension, search_term, text_to_write};
use super::verbs::{Verb, verbs_in};

/// Candidates offered per clause at most (bounds the choice grammar).
const MAX_CANDIDATES: usize = 8;

/// One typed action a clause could mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The verb the clause says.
    pub verb: Verb,
    /// The typed action it would take (judged by the policy before it runs).
    pub action: Action,
    /// A short, shell-like label (what the model and the person see).
    pub label: String,
}

/// One clause of the request and its candidates (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The clause of the request, as written.
    pub clause: String,
    /// What it could mean (at most `MAX_CANDIDATES`).
    pub candidates: Vec<Candidate>,
}

/// The request's clauses with their candidates; `None` when the request is
/// not a chore this knows (a clause says no verb, or a verb has nothing
/// valid to act on), so the open agent loop takes it.
pub fn plan(request: &str, workspace: &Path, entries: &[String]) -> Option<Vec<Step>> {
    let clauses = clauses(request);
    let context: String = clauses
        .iter()
        .filter(|c| verbs_in(c).is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let mut made: Vec<String> = Vec::new();
    let mut steps = Vec::new();
    for clause in clauses.iter().filter(|c| !verbs_in(c).is_empty()) {
        let mut ops = Operands::read(clause, workspace, entries, &made);
        if ops.order.is_empty() && !context.is_empty() {
            // "… is a duplicate of …. Delete the duplicate.": the names are
            // in a sentence before the verb.
            ops = Operands::read(&format!("{context} {clause}"), workspace, entries, &made);
        }
        let found = verbs_in(clause).into_iter().find_map(|verb| {
            let candidates = candidates(verb, clause, request, &ops, workspace, entries);
            (!candidates.is_empty()).then_some(candidates)
        });
        let candidates = found?;
        for candidate in &candidates {
            if let Action::Mkdir(path) = &candidate.action {
                made.push(path.to_string_lossy().into_owned());
            }
        }
        steps.push(Step {
            clause: clause.clone(),
            candidates,
        });
    }
    (!steps.is_empty()).then_some(steps)
}

/// Sentences, then "… and/then …" where what follows starts with a verb.
fn clauses(request: &str) -> Vec<String> {
    let mut sentences: Vec<String> = Vec::new();
    let mut current = String::new();
    let words: Vec<&str> = request.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        let joiner = matches!(word.to_lowercase().as_str(), "and" | "then" | "and,");
        let next_starts_verb = words.get(i + 1).is_some_and(|next| {
            let rest = words[i + 1..].join(" ");
            !verbs_in(
                &rest
                    .split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" "),
            )
            .is_empty()
                && next.to_lowercase() != "then"
        });
        if joiner && next_starts_verb && !current.trim().is_empty() {
            sentences.push(std::mem::take(&mut current));
            continue;
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        let ends_sentence = (word.ends_with('.') || word.ends_with('?') || word.ends_with('!'))
            && words
                .get(i + 1)
                .is_some_and(|next| next.chars().next().is_some_and(char::is_uppercase));
        if ends_sentence {
            sentences.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        sentences.push(current);
    }
    sentences
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn run(verb: Verb, words: &[&str]) -> Candidate {
    Candidate {
        verb,
        label: words.join(" "),
        action: Action::Run {
            argv: argv(words),
            cwd: None,
        },
    }
}

/// Where `from` lands when moved or copied to `to`: inside `to` when it is
/// a folder, else `to` itself.
fn destination(from: &str, to: &str, ops: &Operands) -> String {
    if ops.dirs.iter().any(|d| d == to) {
        let base = from.rsplit('/').next().unwrap_or(from);
        if to == "." {
            base.to_owned()
        } else {
            format!("{to}/{base}")
        }
    } else {
        to.to_owned()
    }
}

/// Existing sources named before their destination (a new path or a folder).
fn transfers(ops: &Operands) -> Vec<(String, String)> {
    let sources = ops.files.iter().chain(ops.dirs.iter());
    let mut pairs = Vec::new();
    for from in sources {
        for to in ops.new.iter().chain(ops.dirs.iter()) {
            let inside = to == from || to.starts_with(&format!("{from}/"));
            if inside || ops.position(from) >= ops.position(to) {
                continue;
            }
            let target = destination(from, to, ops);
            if target != *from {
                pairs.push((from.clone(), target));
            }
        }
    }
    pairs
}

/// Does the last part of `path` end in an extension (`a.txt`, not `2026`)?
fn has_extension(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && !ext.is_empty() && ext.chars().any(|c| c.is_ascii_alphabetic())
    })
}

/// Does this file look like a copy of another ("report (1).pdf",
/// "notes copy.txt", "a.txt~")?
fn looks_like_a_copy(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_lowercase();
    let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&name);
    name.ends_with('~')
        || stem.ends_with(')') && stem.contains(" (")
        || stem.ends_with(" copy")
        || stem.ends_with("-copy")
        || stem.ends_with("_copy")
        || stem.contains("copy of")
}

/// For "delete the duplicate": the named files whose bytes equal another
/// named file's (checked by leash, not guessed by the model); of such a
/// pair, the one whose name marks it a copy when only one does.
fn duplicates(ops: &Operands, workspace: &Path) -> Vec<String> {
    let read = |p: &String| std::fs::read(workspace.join(p)).ok();
    let contents: Vec<(String, Vec<u8>)> = ops
        .files
        .iter()
        .filter_map(|p| read(p).map(|bytes| (p.clone(), bytes)))
        .collect();
    let mut found = Vec::new();
    for (path, bytes) in &contents {
        let twins: Vec<&String> = contents
            .iter()
            .filter(|(other, b)| other != path && b == bytes)
            .map(|(other, _)| other)
            .collect();
        if twins.is_empty() {
            continue;
        }
        let marked = looks_like_a_copy(path);
        let twin_marked = twins.iter().any(|t| looks_like_a_copy(t));
        if marked || !twin_marked {
            found.push(path.clone());
        }
    }
    found
}

/// The candidates of `verb` in `clause`.
fn candidates(
    verb: Verb,
    clause: &str,
    request: &str,
    ops: &Operands,
    workspace: &Path,
    entries: &[String],
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = match verb {
        Verb::Archive => {
            let archives: Vec<&String> = ops
                .new
                .iter()
                .filter(|n| n.ends_with(".tar.gz") || n.ends_with(".tgz") || n.ends_with(".tar"))
                .collect();
            let mut out = Vec::new();
            for archive in archives {
                let mode = if archive.ends_with(".tar") {
                    "-cf"
                } else {
                    "-czf"
                };
                for source in ops.dirs.iter().chain(ops.files.iter()) {
                    out.push(run(verb, &["tar", mode, archive, source]));
                }
            }
            out
        }
        Verb::Write => {
            let Some(text) = text_to_write(clause) else {
                return Vec::new();
            };
            let mut content = text;
            content.push('\n');
            ops.new
                .iter()
                .chain(ops.files.iter())
                .filter(|p| !content.contains(p.as_str()))
                .map(|path| Candidate {
                    verb,
                    label: format!("write {path}"),
                    action: Action::WriteFile(FileWrite {
                        path: PathBuf::from(path),
                        content: content.clone(),
                    }),
                })
                .collect()
        }
        Verb::CountLines => ops
            .files
            .iter()
            .map(|f| run(verb, &["wc", "-l", f]))
            .collect(),
        Verb::CountFiles => {
            let ext = extension(clause, entries).map(|e| format!("*.{e}"));
            ops.dirs_or_here()
                .iter()
                .map(|dir| match &ext {
                    Some(pattern) => run(verb, &["find", dir, "-type", "f", "-name", pattern]),
                    None => run(verb, &["find", dir, "-type", "f"]),
                })
                .collect()
        }
        Verb::Size => {
            let mut paths = ops.dirs_or_here();
            paths.extend(ops.files.iter().cloned());
            paths.iter().map(|p| run(verb, &["du", "-sh", p])).collect()
        }
        Verb::Search => {
            let Some(term) = search_term(clause) else {
                return Vec::new();
            };
            ops.dirs_or_here()
                .iter()
                .map(|dir| run(verb, &["grep", "-r", "-l", "-F", "-e", &term, dir]))
                .collect()
        }
        Verb::Find => ops
            .said
            .iter()
            .filter(|name| !name.contains('/'))
            .map(|name| run(verb, &["find", ".", "-name", name]))
            .collect(),
        Verb::Copy | Verb::Move => transfers(ops)
            .into_iter()
            .map(|(from, to)| {
                let transfer = Transfer {
                    from: PathBuf::from(&from),
                    to: PathBuf::from(&to),
                };
                let (word, action) = if verb == Verb::Copy {
                    ("copy", Action::Copy(transfer))
                } else {
                    ("move", Action::Move(transfer))
                };
                Candidate {
                    verb,
                    label: format!("{word} {from} to {to}"),
                    action,
                }
            })
            .collect(),
        Verb::MakeDir => ops
            .new
            .iter()
            .filter(|name| !has_extension(name))
            .map(|name| Candidate {
                verb,
                label: format!("mkdir {name}"),
                action: Action::Mkdir(PathBuf::from(name)),
            })
            .collect(),
        Verb::Delete => {
            let wants_duplicate = request.to_lowercase().contains("duplicat");
            let targets: Vec<String> = if wants_duplicate {
                duplicates(ops, workspace)
            } else {
                ops.files.iter().chain(ops.dirs.iter()).cloned().collect()
            };
            targets
                .into_iter()
                .filter(|t| t != ".")
                .map(|path| Candidate {
                    verb,
                    label: format!("delete {path}"),
                    action: Action::Delete(PathBuf::from(path)),
                })
                .collect()
        }
        Verb::List => {
            if !ops.files.is_empty() && ops.dirs.is_empty() {
                return Vec::new();
            }
            ops.dirs_or_here()
                .iter()
                .map(|dir| run(verb, &["ls", "-1p", dir]))
                .collect()
        }
        Verb::Read => ops.files.iter().map(|f| run(verb, &["cat", f])).collect(),
    };
    out.truncate(MAX_CANDIDATES);
    out
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
