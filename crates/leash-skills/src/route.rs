//! Routing a request (`leash ask`, an API job) to a skill, or to the open
//! agent loop: a constrained classification step. Only the skills whose
//! inputs the request supplies are offered (a review needs a repository, a
//! sort a folder to sort), plus `none`; the model picks one under a grammar.

use std::path::Path;
use std::sync::Arc;

use leash_llm::{
    AnswerShape, Backend, ChatMessage, GenerateRequest, OutputFormat, ProgramChoice, Role,
};
use serde_json::json;

use crate::catalog::SkillSet;
use crate::definition::Skill;
use crate::inputs::{Inputs, resolve};

/// The choice that sends a request to the open agent loop.
pub const NONE: &str = "none";

/// Where a request goes. Closed.
#[derive(Debug, Clone)]
pub enum Route<'a> {
    /// A skill whose inputs resolved for this request.
    Skill {
        /// The skill.
        skill: &'a Skill,
        /// Its inputs for this request.
        inputs: Inputs,
    },
    /// The open agent loop; says why.
    Open {
        /// Why no skill took it (no keyword, inputs did not resolve, the
        /// routing step chose `none`).
        why: String,
    },
}

/// Does `request` say one of the skill's keywords (case-insensitive, at the
/// start of a word)? A skill without keywords is about anything.
pub fn is_about(skill: &Skill, request: &str) -> bool {
    if skill.keywords.is_empty() {
        return true;
    }
    let lower = request.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    skill.keywords.iter().any(|keyword| {
        let keyword = keyword.to_lowercase();
        words.iter().any(|word| word.starts_with(&keyword))
    })
}

/// The skills that apply to `request`, with their inputs: the request is
/// about the skill ([`is_about`]) and supplies its inputs.
pub(crate) fn applicable<'a>(
    skills: &'a SkillSet,
    request: &str,
    workspace: &Path,
    split: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Vec<(&'a Skill, Inputs)> {
    skills
        .all()
        .iter()
        .filter(|skill| {
            let about = is_about(skill, request);
            if !about {
                tracing::debug!(skill = %skill.name, "the request says none of the skill's keywords");
            }
            about
        })
        .filter_map(|skill| {
            resolve(skill, request, workspace, split)
                .map(|inputs| (skill, inputs))
                .map_err(|why| tracing::debug!(skill = %skill.name, %why, "skill does not apply"))
                .ok()
        })
        .collect()
}

/// The grammar of the choice: `{"skill": "<name>"}` with the names offered.
fn choice_shape(names: &[&str]) -> Arc<AnswerShape> {
    enum_shape("route", "skill", names)
}

/// `{"<key>": "<one of values>"}`, as a grammar (each value a JSON string,
/// escaped for a GBNF literal) and as a JSON schema.
pub(crate) fn enum_shape(name: &str, key: &str, values: &[&str]) -> Arc<AnswerShape> {
    let literal = |text: &str| {
        let json = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned());
        format!("\"{}\"", json.replace('\\', "\\\\").replace('"', "\\\""))
    };
    let alternatives: Vec<String> = values.iter().map(|value| literal(value)).collect();
    Arc::new(AnswerShape {
        name: name.to_owned(),
        gbnf: format!(
            "root ::= \"{{\\\"{key}\\\": \" choice \"}}\"\nchoice ::= {}\n",
            alternatives.join(" | ")
        ),
        schema: json!({
            "type": "object",
            "properties": {key: {"type": "string", "enum": values}},
            "required": [key],
            "additionalProperties": false,
        }),
    })
}

fn prompt(request: &str, offered: &[(&Skill, Inputs)]) -> String {
    let mut text =
        String::from("Choose who handles the request. Skills (each with requests it handles):\n");
    for (skill, _) in offered {
        text.push_str(&format!("- {}: {}", skill.name, skill.description));
        if !skill.examples.is_empty() {
            text.push_str(&format!(" (e.g. \"{}\")", skill.examples.join("\"; \"")));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "- {NONE}: anything else: renaming, copying, deleting, archiving, finding or counting files, reading a file, making a folder, writing a note.\n\nRequest: {request}\n\nAnswer {{\"skill\": NAME}}."
    ));
    text
}

/// Routes `request`: `Ok(Route)`, or `Err` with the backend's error text
/// when the model could not be asked (the caller then uses the open loop).
pub fn route<'a>(
    backend: &mut dyn Backend,
    skills: &'a SkillSet,
    request: &str,
    workspace: &Path,
    split: &dyn Fn(&str) -> Option<Vec<String>>,
    max_tokens: u32,
) -> Result<Route<'a>, String> {
    let mut offered = applicable(skills, request, workspace, split);
    if offered.is_empty() {
        return Ok(Route::Open {
            why: "no skill applies to the request".to_owned(),
        });
    }
    let mut names: Vec<&str> = offered.iter().map(|(s, _)| s.name.as_str()).collect();
    names.push(NONE);
    let messages = [ChatMessage {
        role: Role::User,
        content: prompt(request, &offered),
    }];
    let generation = backend
        .generate(GenerateRequest {
            messages: &messages,
            format: OutputFormat::Shaped(choice_shape(&names)),
            max_tokens: max_tokens.min(24),
            temperature: 0.0,
            programs: ProgramChoice::Any,
            on_text: None,
        })
        .map_err(|err| err.to_string())?;
    let chosen = serde_json::from_str::<serde_json::Value>(generation.text.trim())
        .ok()
        .and_then(|v| v["skill"].as_str().map(str::to_owned))
        .unwrap_or_else(|| NONE.to_owned());
    match offered.iter().position(|(s, _)| s.name == chosen) {
        Some(at) => {
            let (skill, inputs) = offered.swap_remove(at);
            Ok(Route::Skill { skill, inputs })
        }
        None => Ok(Route::Open {
            why: format!("the routing step chose {chosen:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// The built-in skills a request is about (by their keywords).
    fn about(request: &str) -> Vec<String> {
        let skills = SkillSet::builtin().unwrap();
        skills
            .all()
            .iter()
            .filter(|skill| is_about(skill, request))
            .map(|skill| skill.name.clone())
            .collect()
    }

    #[rstest]
    #[case::rename("Rename notes.md to old-notes.md.")]
    #[case::copy_called("Make a copy of app.conf called app.conf.orig.")]
    #[case::count_lines("How many lines does essay.txt have?")]
    #[case::read_a_file("What does readme.txt say?")]
    #[case::make_a_folder("Make a folder called music/2024.")]
    #[case::archive("Pack the photos folder into photos.zip.")]
    #[case::find("Where is the file called taxes.pdf?")]
    #[case::delete("Delete the file cache.tmp.")]
    fn chores_are_offered_no_skill(#[case] request: &str) {
        assert_eq!(about(request), Vec::<String>::new(), "{request}");
    }

    #[rstest]
    #[case::deploy_flag("The flag appeared: deploy the app.", "deploy")]
    #[case::release("Release dist/app.zip into releases/.", "deploy")]
    #[case::log_errors("Any errors in var/server.log?", "monitor")]
    #[case::memory("Is memory running low?", "monitor")]
    #[case::review("Review the last commit.", "review")]
    #[case::diff("Save the diff of HEAD to x.diff.", "review")]
    #[case::sort("Sort downloads/ into pictures/ and papers/.", "organize")]
    #[case::put("Put the receipts from inbox/ into receipts/.", "organize")]
    fn requests_are_offered_their_skill(#[case] request: &str, #[case] skill: &str) {
        assert!(about(request).iter().any(|s| s == skill), "{request}");
    }

    #[test]
    fn keywords_match_word_starts_not_insides() {
        let skills = SkillSet::builtin().unwrap();
        let monitor = skills.get("monitor").unwrap();
        assert!(is_about(monitor, "check the LOGS"));
        assert!(!is_about(monitor, "write a blog post"), "blog is not log");
    }

    #[test]
    fn the_choice_grammar_offers_exactly_the_names() {
        let shape = choice_shape(&["organize", NONE]);
        assert!(
            shape
                .gbnf
                .contains(r#"choice ::= "\"organize\"" | "\"none\"""#),
            "{}",
            shape.gbnf
        );
        assert_eq!(
            shape.schema["properties"]["skill"]["enum"],
            json!(["organize", "none"])
        );
    }
}
