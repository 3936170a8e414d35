//! Rules documents → [`RuleSet`]: program specs first (a later document may
//! replace a program's description), then rules (a later document may replace
//! a rule with the same id), then every rule's examples.

use std::collections::{HashMap, HashSet};

use super::condition::{Condition, OptKey};
use super::format::{
    ArgsDoc, PathRoleDoc, ProgramDoc, RuleDoc, RulesDocument, ValueDoc, ValueTypeDoc, WhenDoc,
};
use super::lazy_regex::LazyRegex;
use super::{Rule, RuleDecision, RuleSet, examples};
use crate::error::PolicyError;
use crate::options::{ArgsSpec, Level, OptId, OptionSpec};
use crate::spec::{Knowledge, ProgramSpec, ScriptSpec, SubcommandSpec, WrapperSpec};
use crate::{RulesSource, VerdictOrigin};

/// The syntax a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// People's YAML (config `security.rules`, learned rules).
    Yaml,
    /// The built-in documents as `build.rs` precompiled them.
    Json,
}

/// Whose `match`/`not_match` examples a build checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum Examples {
    /// Only the `extra` documents': the built-in ones are checked when the
    /// project is tested (`every_builtin_example_holds`), not at every load.
    ExtraOnly,
    /// Every document's (the tests' check of the built-in documents).
    All,
}

/// Compiles the built-in rules followed by `extra` documents, checking the
/// examples of the `extra` ones. The built-in part comes from the
/// precompiled table ([`super::table`]) unless that cannot be used: it was
/// made from other sources, or an `extra` document describes a program the
/// built-in rules already know (the built-in rules' conditions must then be
/// compiled against the new description, exactly as before).
pub(crate) fn build(extra: &[RulesSource]) -> Result<RuleSet, PolicyError> {
    let extra_docs = parse(
        extra
            .iter()
            .map(|s| (s.name.as_str(), s.text.as_str(), Syntax::Yaml, s.origin)),
    )?;
    if let Some(base) = super::table::load()
        && !redescribes(&base.knowledge, &extra_docs)
    {
        return extend(base, extra_docs, 0);
    }
    let mut docs = parse(
        super::BUILTIN_SOURCES
            .iter()
            .map(|(n, t)| (*n, *t, Syntax::Json, VerdictOrigin::BuiltIn)),
    )?;
    let unchecked = docs.len();
    docs.extend(extra_docs);
    extend(RuleSet::empty(), docs, unchecked)
}

/// Compiles `builtin` (written in `syntax`) followed by the YAML `extra`
/// documents, from scratch.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn build_from(
    builtin: &[(&str, &str)],
    syntax: Syntax,
    extra: &[RulesSource],
    examples: Examples,
) -> Result<RuleSet, PolicyError> {
    let mut docs = parse(
        builtin
            .iter()
            .map(|(n, t)| (*n, *t, syntax, VerdictOrigin::BuiltIn)),
    )?;
    let unchecked = match examples {
        Examples::All => 0,
        Examples::ExtraOnly => docs.len(),
    };
    docs.extend(parse(extra.iter().map(|s| {
        (s.name.as_str(), s.text.as_str(), Syntax::Yaml, s.origin)
    }))?);
    extend(RuleSet::empty(), docs, unchecked)
}

/// Reads rules documents (name, text, syntax, and the origin every rule
/// in it carries).
fn parse<'t>(
    sources: impl Iterator<Item = (&'t str, &'t str, Syntax, VerdictOrigin)>,
) -> Result<Vec<(String, RulesDocument, VerdictOrigin)>, PolicyError> {
    let mut docs = Vec::new();
    for (name, text, syntax, origin) in sources {
        let doc: RulesDocument = if text.trim().is_empty() {
            RulesDocument::default()
        } else {
            let parsed = match syntax {
                Syntax::Yaml => serde_saphyr::from_str(text).map_err(|e| e.to_string()),
                Syntax::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
            };
            parsed.map_err(|message| PolicyError::RulesSyntax {
                source_name: name.to_owned(),
                message,
            })?
        };
        docs.push((name.to_owned(), doc, origin));
    }
    Ok(docs)
}

/// Whether `docs` describe a program (by name or alias) that `knowledge`
/// already has a spec for.
fn redescribes(knowledge: &Knowledge, docs: &[(String, RulesDocument, VerdictOrigin)]) -> bool {
    docs.iter()
        .flat_map(|(_, doc, _)| &doc.programs)
        .flat_map(|p| std::iter::once(&p.name).chain(&p.aliases))
        .any(|name| knowledge.index_of_name(name).is_some())
}

/// Adds `docs` to `base`: program specs first (a later document may replace
/// a program's description), then rules (a later document may replace a rule
/// with the same id), then the examples of every document from `unchecked`
/// on.
fn extend(
    base: RuleSet,
    docs: Vec<(String, RulesDocument, VerdictOrigin)>,
    unchecked: usize,
) -> Result<RuleSet, PolicyError> {
    let RuleSet {
        mut knowledge,
        mut rules,
        ..
    } = base;
    for (name, doc, _) in &docs {
        let mut seen = HashSet::new();
        for program in &doc.programs {
            if !seen.insert(program.name.as_str()) {
                return Err(program_error(
                    name,
                    &program.name,
                    "described twice in one document",
                ));
            }
            add_program(&mut knowledge, name, program)?;
        }
    }
    let mut ids: HashMap<String, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.clone(), i))
        .collect();
    for (name, doc, origin) in &docs {
        let mut seen = HashSet::new();
        for rule_doc in &doc.rules {
            if !seen.insert(rule_doc.id.as_str()) {
                return Err(PolicyError::DuplicateRule {
                    source_name: name.clone(),
                    rule: rule_doc.id.clone(),
                });
            }
            let rule = compile_rule(&mut knowledge, name, *origin, rule_doc)?;
            match ids.get(&rule_doc.id) {
                Some(existing) => rules[*existing] = rule,
                None => {
                    ids.insert(rule_doc.id.clone(), rules.len());
                    rules.push(rule);
                }
            }
        }
    }
    let mut set = RuleSet {
        knowledge,
        rules,
        by_spec: HashMap::new(),
    };
    set.index();
    for (name, doc, _) in docs.iter().skip(unchecked) {
        for rule_doc in &doc.rules {
            examples::check(&set, name, rule_doc)?;
        }
        for program in &doc.programs {
            examples::check_options(&set, name, program)?;
        }
    }
    Ok(set)
}

fn program_error(source: &str, program: &str, message: impl Into<String>) -> PolicyError {
    PolicyError::InvalidProgram {
        source_name: source.to_string(),
        program: program.to_string(),
        message: message.into(),
    }
}

fn rule_error(source: &str, rule: &str, message: impl Into<String>) -> PolicyError {
    PolicyError::InvalidRule {
        source_name: source.to_string(),
        rule: rule.to_string(),
        message: message.into(),
    }
}

fn compile_args(doc: &ArgsDoc) -> Result<ArgsSpec, String> {
    let mut spec = ArgsSpec::default();
    for option in &doc.options {
        let compiled = OptionSpec {
            name: option.name.clone(),
            value: option.value,
            path: option.path,
            write_when: Vec::new(),
            recursive: option.recursive,
            kind: option.kind,
            extra: option.extra,
        };
        if option.kind == ValueTypeDoc::BackupSuffix
            && (option.match_examples.is_empty() || option.not_match.is_empty())
        {
            return Err(format!(
                "option `{}`: a `backup-suffix` option needs `match` and `not_match` examples",
                option.name
            ));
        }
        if option.extra != 0 && option.value == ValueDoc::None {
            return Err(format!(
                "option `{}`: `extra` words need `value: required`",
                option.name
            ));
        }
        spec.add_option(compiled, &option.short, &option.long)
            .map_err(|e| format!("option `{}`: {e}", option.name))?;
    }
    let flag = |name: String| OptionSpec {
        name,
        value: ValueDoc::None,
        path: PathRoleDoc::None,
        write_when: Vec::new(),
        recursive: false,
        kind: ValueTypeDoc::Text,
        extra: 0,
    };
    for c in doc.flags.chars() {
        spec.add_option(flag(format!("-{c}")), &c.to_string(), &[])
            .map_err(|e| format!("flags: {e}"))?;
    }
    for long in &doc.long_flags {
        spec.add_option(flag(format!("--{long}")), "", std::slice::from_ref(long))
            .map_err(|e| format!("long_flags: {e}"))?;
    }
    let resolve = |spec: &ArgsSpec, names: &[String]| -> Result<Vec<OptId>, String> {
        names
            .iter()
            .map(|n| {
                spec.option_id(n)
                    .ok_or_else(|| format!("unknown option `{n}`"))
            })
            .collect()
    };
    for (i, option) in doc.options.iter().enumerate() {
        let ids = resolve(&spec, &option.write_when)?;
        if let Some(o) = spec.options.get_mut(i) {
            o.write_when = ids;
        }
    }
    spec.leading = doc.leading;
    spec.leading_unless = resolve(&spec, &doc.leading_unless)?;
    spec.operands = doc.operands;
    spec.first = doc.first;
    spec.last = doc.last;
    spec.last_unless = resolve(&spec, &doc.last_unless)?;
    spec.write_when = resolve(&spec, &doc.write_when)?;
    spec.max_operands = doc.max_operands;
    spec.operand_type = doc.operand_type;
    Ok(spec)
}

fn add_program(
    knowledge: &mut Knowledge,
    source: &str,
    doc: &ProgramDoc,
) -> Result<(), PolicyError> {
    let err = |m: String| program_error(source, &doc.name, m);
    let global = compile_args(&doc.args()).map_err(err)?;
    let mut spec = ProgramSpec {
        name: doc.name.clone(),
        style: doc.style,
        abbreviations: doc.abbreviations,
        recursive: doc.recursive,
        write_when_words: doc.write_when_words.clone(),
        global,
        unknown_subcommand: doc.unknown_subcommand,
        complete: doc.complete,
        discovers_repository: doc.discovers_repository,
        ..ProgramSpec::default()
    };
    for (name, sub) in &doc.subcommands {
        let index = u16::try_from(spec.subcommands.len())
            .map_err(|_| err("too many subcommands".into()))?;
        let args = compile_args(sub).map_err(|m| err(format!("subcommand `{name}`: {m}")))?;
        for word in std::iter::once(name).chain(&sub.aliases) {
            if spec.sub_index.insert(word.clone(), index).is_some() {
                return Err(err(format!("subcommand name `{word}` is used twice")));
            }
        }
        spec.subcommands.push(SubcommandSpec {
            name: name.clone(),
            args,
            complete: sub.complete,
        });
    }
    for (group, members) in &doc.groups {
        for (word, target) in members {
            let Some(index) = spec.sub_index.get(target).copied() else {
                return Err(err(format!(
                    "group `{group} {word}` names `{target}`, which is not a subcommand"
                )));
            };
            spec.groups.insert((group.clone(), word.clone()), index);
        }
        spec.group_words.push(group.clone());
    }
    if let Some(script) = &doc.script {
        let ids = |names: &[String]| -> Result<Vec<OptId>, PolicyError> {
            names
                .iter()
                .map(|n| {
                    spec.global.option_id(n).ok_or_else(|| {
                        program_error(
                            source,
                            &doc.name,
                            format!("script option `{n}` is not an option"),
                        )
                    })
                })
                .collect()
        };
        spec.script = Some(ScriptSpec {
            inline: ids(&script.options)?,
            files: ids(&script.file_options)?,
            operand: script.operand,
            analyzer: script.analyzer,
        });
    }
    spec.wrapper = doc.wrapper.as_ref().map(|w| WrapperSpec {
        kind: w.kind,
        skip: w.skip,
        default_command: w.default_command.clone(),
    });
    let index = match knowledge.index_of_name(&doc.name) {
        Some(existing) if knowledge.specs[existing].name == doc.name => {
            knowledge.specs[existing] = spec;
            existing
        }
        Some(_) | None => {
            knowledge.specs.push(spec);
            knowledge.specs.len() - 1
        }
    };
    for name in std::iter::once(&doc.name).chain(&doc.aliases) {
        if !knowledge.register(name, index) {
            return Err(err(format!(
                "name `{name}` already belongs to another program"
            )));
        }
    }
    Ok(())
}

/// The spec index for a program a rule names, creating an empty description
/// for programs the rules know nothing else about.
fn spec_for_rule(knowledge: &mut Knowledge, program: &str) -> usize {
    if let Some(i) = knowledge.lookup(program) {
        return i;
    }
    knowledge.specs.push(ProgramSpec {
        name: program.to_string(),
        abbreviations: true,
        implicit: true,
        ..ProgramSpec::default()
    });
    let index = knowledge.specs.len() - 1;
    knowledge.register(program, index);
    index
}

fn compile_rule(
    knowledge: &mut Knowledge,
    source: &str,
    origin: VerdictOrigin,
    doc: &RuleDoc,
) -> Result<Rule, PolicyError> {
    let err = |m: String| rule_error(source, &doc.id, m);
    if doc.id.trim().is_empty() {
        return Err(err("a rule needs an id".into()));
    }
    let decision = match (doc.decision, doc.network) {
        (Some(d), false) => RuleDecision::Fixed(d),
        (None, true) => RuleDecision::Network,
        (Some(_), true) => {
            return Err(err(
                "give either `decision` or `network: true`, not both".into()
            ));
        }
        (None, false) => return Err(err("missing `decision`".into())),
    };
    let mut programs: Vec<String> = doc.programs.clone();
    if let Some(p) = &doc.program {
        programs.push(p.clone());
    }
    if let Some(argv) = &doc.when.argv {
        let Some(first) = argv.first() else {
            return Err(err("`when.argv` is empty".into()));
        };
        if programs.is_empty() {
            programs.push(first.rsplit('/').next().unwrap_or(first).to_string());
        }
    }
    if programs.is_empty() {
        return Err(err("a rule names its `program` or `programs`".into()));
    }
    let mut conditions = Vec::new();
    for program in &programs {
        let index = spec_for_rule(knowledge, program);
        let condition = compile_condition(&knowledge.specs[index], &doc.when)
            .map_err(|m| err(format!("program `{program}`: {m}")))?;
        conditions.push((index, condition));
    }
    Ok(Rule {
        id: doc.id.clone(),
        source: source.to_string(),
        origin,
        decision,
        reason: doc.reason.clone(),
        hint: doc.hint.clone(),
        conditions,
    })
}

fn regex(text: &Option<String>) -> Result<Option<LazyRegex>, String> {
    text.as_ref()
        .map(|t| LazyRegex::compile(t).map_err(|e| format!("bad regex `{t}`: {e}")))
        .transpose()
}

fn compile_condition(spec: &ProgramSpec, when: &WhenDoc) -> Result<Condition, String> {
    for sub in &when.subcommand {
        if spec.has_subcommands()
            && !spec.sub_index.contains_key(sub)
            && spec.unknown_subcommand.is_none()
        {
            return Err(format!("unknown subcommand `{sub}`"));
        }
    }
    let sub_levels: Vec<Level> = if when.subcommand.is_empty() {
        (0..spec.subcommands.len())
            .filter_map(|i| u16::try_from(i).ok())
            .map(Some)
            .collect()
    } else {
        when.subcommand
            .iter()
            .filter_map(|s| spec.sub_index.get(s).copied())
            .map(Some)
            .collect()
    };
    let all_levels: Vec<Level> = std::iter::once(None).chain(sub_levels).collect();
    let canonical_subs = when
        .subcommand
        .iter()
        .map(|s| {
            spec.sub_index
                .get(s)
                .and_then(|i| spec.subcommands.get(usize::from(*i)))
                .map(|sub| sub.name.clone())
                .unwrap_or_else(|| s.clone())
        })
        .collect();
    Ok(Condition {
        subcommands: canonical_subs,
        options: option_keys(spec, &when.options, &all_levels)?,
        global_options: option_keys(spec, &when.global_options, &[None])?,
        not_options: option_keys(spec, &when.not_options, &all_levels)?,
        words: when.words.clone(),
        word_regex: regex(&when.word_regex)?,
        operand_regex: regex(&when.operand_regex)?,
        option_values: match &when.option_values {
            Some(ov) => {
                let keys = option_keys(spec, &ov.options, &all_levels)?;
                let re = regex(&Some(ov.regex.clone()))?;
                re.map(|re| (keys, re))
            }
            None => None,
        },
        operands_min: when.operands_min,
        operands_max: when.operands_max,
        script_unsafe: when.script_unsafe,
        script_file: when.script_file,
        argv: when.argv.clone(),
    })
}

/// Resolves option names: canonical names at the given levels, or raw
/// spellings (`-x`, `--name`) which also match the known option they spell.
fn option_keys(
    spec: &ProgramSpec,
    names: &[String],
    levels: &[Level],
) -> Result<Vec<OptKey>, String> {
    let mut keys = Vec::new();
    for name in names {
        let before = keys.len();
        if let Some(long) = name.strip_prefix("--") {
            keys.push(OptKey::Long(long.to_string()));
        } else if let Some(short) = name.strip_prefix('-') {
            let mut chars = short.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => keys.push(OptKey::Short(c)),
                _ => {
                    return Err(format!(
                        "raw option spelling `{name}` must be `-x` or `--name`"
                    ));
                }
            }
        }
        for level in levels {
            let args = spec.args_spec(*level);
            let found = if let Some(long) = name.strip_prefix("--") {
                args.long_exact(long)
            } else if let Some(short) = name.strip_prefix('-') {
                short.chars().next().and_then(|c| args.short(c))
            } else {
                args.option_id(name)
            };
            if let Some(id) = found {
                keys.push(OptKey::Known(*level, id));
            }
        }
        if keys.len() == before {
            return Err(format!("unknown option `{name}`"));
        }
    }
    Ok(keys)
}
