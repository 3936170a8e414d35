//! A chore's model step hears a person's refusal in the same job: the real
//! engine (policy, approval, audit, the file actions leash carries out
//! itself), the replay backend (a real backend playing a transcript) as the
//! model, and a scripted person. The refused pick is no longer offered, so
//! the model picks another; a model that proposes the refused pick again
//! verbatim gets nothing, and nobody is asked twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use leash_config::{EnvVars, LoadOptions, load};
use leash_core::Engine;
use leash_core::approval::{ApprovalAnswer, ApprovalOutcome, ApprovalRequest, Approver};
use leash_llm::{Action, ReplayBackend, Transfer};
use leash_skills::chore::verbs::Verb;
use leash_skills::chore::{Candidate, ChoreReport, Step, run_chore};
use leash_skills::{SkillJob, SkillSettings};

const REASON: &str = "wrong file or place";

/// Says no (with [`REASON`]) to anything that touches the folder `refuse`,
/// yes to the rest, and remembers every argv it was asked about.
#[derive(Debug)]
struct Person {
    refuse: &'static str,
    asked: Mutex<Vec<Vec<String>>>,
}

impl Person {
    fn refusing(refuse: &'static str) -> Person {
        Person {
            refuse,
            asked: Mutex::new(Vec::new()),
        }
    }
}

impl Approver for Person {
    fn ask(&self, request: &ApprovalRequest) -> ApprovalOutcome {
        self.asked.lock().unwrap().push(request.argv.clone());
        let refuse = request.argv.iter().any(|a| a.contains(self.refuse));
        ApprovalOutcome::Answered {
            answer: if refuse {
                ApprovalAnswer::No
            } else {
                ApprovalAnswer::Yes
            },
            channel: "test".into(),
            by: "test".into(),
            reason: refuse.then(|| REASON.to_owned()),
        }
    }
}

/// A workspace with `a.txt` and the folders `x`, `y`, `z`; a config in `prompt`
/// mode (every action asks) with `learn_from_refusals` as given.
fn engine(dir: &Path, learn: bool) -> Engine {
    let ws = dir.join("ws");
    for sub in ["ws/x", "ws/y", "ws/z", "home", "state"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(ws.join("a.txt"), "a").unwrap();
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "security:\n  execution_mode: prompt\napprovals:\n  learn_from_refusals: {learn}\nlogging:\n  level: error\n"
        ),
    )
    .unwrap();
    let s = |p: PathBuf| p.to_str().unwrap().to_owned();
    let mut env = vec![
        ("HOME", s(dir.join("home"))),
        ("XDG_STATE_HOME", s(dir.join("state"))),
        ("XDG_CONFIG_HOME", s(dir.join("cfg"))),
        ("XDG_CACHE_HOME", s(dir.join("cache"))),
    ];
    if let Some(user) = leash_core::hand_over_if_root("nobody", &[ws.as_path()]).unwrap() {
        env.push(("LEASH_SECURITY__RUN_AS", user));
    }
    let loaded = load(&LoadOptions {
        config_file: Some(config),
        env: EnvVars::from_pairs(env),
        overrides: Vec::new(),
        cwd: Some(ws.clone()),
    })
    .unwrap();
    Engine::open(&loaded, &ws).unwrap()
}

/// One clause, three valid moves: the model must pick (and, after one is
/// refused, pick again between two).
fn three_moves() -> Vec<Step> {
    let candidate = |folder: &str| Candidate {
        verb: Verb::Move,
        action: Action::Move(Transfer {
            from: "a.txt".into(),
            to: PathBuf::from(folder).join("a.txt"),
        }),
        label: format!("move a.txt to {folder}/a.txt"),
    };
    vec![Step {
        clause: "Put a.txt away".into(),
        candidates: vec![candidate("x"), candidate("y"), candidate("z")],
    }]
}

fn run(dir: &Path, learn: bool, transcript: &str) -> (ChoreReport, Person, Engine) {
    let engine = engine(dir, learn);
    let file = dir.join("transcript.yaml");
    std::fs::write(&file, transcript).unwrap();
    let mut backend = ReplayBackend::from_file(&file).unwrap();
    let person = Person::refusing("x/");
    let report = run_chore(
        &engine,
        &mut backend,
        &person,
        &three_moves(),
        &SkillJob {
            job_id: None,
            request: "Put a.txt away",
            payload: None,
            params: &engine.default_params(),
        },
        SkillSettings {
            max_tokens: 64,
            temperature: 0.0,
        },
    )
    .unwrap();
    (report, person, engine)
}

fn asked(person: &Person) -> Vec<String> {
    person
        .asked
        .lock()
        .unwrap()
        .iter()
        .map(|argv| argv.join(" "))
        .collect()
}

/// The second answer plays only if the second prompt carries the refusal
/// (the person's reason) and says which pick it was (`expect`).
#[test]
fn a_refused_pick_goes_back_to_the_model_which_picks_another() {
    let dir = tempfile::tempdir().unwrap();
    let (report, person, engine) = run(
        dir.path(),
        true,
        &format!(
            "responses:\n  - expect: \"Which one of these actions\"\n    text: '{{\"action\": \"move a.txt to x/a.txt\"}}'\n  - expect: \"a person refused it: {REASON}\"\n    text: '{{\"action\": \"move a.txt to y/a.txt\"}}'\n"
        ),
    );
    let ws = &engine.workspace;
    assert!(ws.join("y/a.txt").exists(), "{report:?}");
    assert!(!ws.join("x/a.txt").exists());
    let asked = asked(&person);
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        asked[0].contains("x/a.txt") && asked[1].contains("y/a.txt"),
        "{asked:?}"
    );
    assert_eq!(report.steps, 2, "the model was asked again: {report:?}");
    assert!(
        matches!(report.end, leash_core::agent::JobEnd::Done),
        "{report:?}"
    );
    // The second question no longer offers the refused pick.
    let second = &report.conversation[report.conversation.len() - 2].content;
    assert!(!second.contains("- move a.txt to x/a.txt"), "{second}");
    assert!(second.contains("- move a.txt to y/a.txt"), "{second}");
}

/// Hostile class `refused-skill-step-reproposed`: a model that proposes the
/// refused pick again, verbatim, gets nothing: it is not offered, not
/// carried out and not asked about again.
#[test]
fn a_refused_pick_proposed_again_verbatim_is_not_asked_again() {
    let dir = tempfile::tempdir().unwrap();
    let (report, person, engine) = run(
        dir.path(),
        true,
        "responses:\n  - text: '{\"action\": \"move a.txt to x/a.txt\"}'\n  - text: '{\"action\": \"move a.txt to x/a.txt\"}'\n",
    );
    assert_eq!(asked(&person).len(), 1, "{:?}", asked(&person));
    assert!(engine.workspace.join("a.txt").exists(), "nothing moved");
    assert_eq!(report.steps, 2, "{report:?}");
    match &report.end {
        leash_core::agent::JobEnd::Failed { reason } => {
            assert!(reason.contains("chose none of the offered"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

/// With `approvals.learn_from_refusals: false` (the suite's baseline) the
/// model is not asked again: the refusal ends the clause as before.
#[test]
fn without_learning_a_refusal_ends_the_clause() {
    let dir = tempfile::tempdir().unwrap();
    let (report, person, _engine) = run(
        dir.path(),
        false,
        "responses:\n  - text: '{\"action\": \"move a.txt to x/a.txt\"}'\n",
    );
    assert_eq!(asked(&person).len(), 1);
    assert_eq!(report.steps, 1, "{report:?}");
    assert!(
        matches!(report.end, leash_core::agent::JobEnd::Failed { .. }),
        "{report:?}"
    );
}

// The organize skill's model step: "Sort everything in inbox/ into junk/
// and saved/" with a file no folder's kind fits, so the model picks; the
// person refuses the move into `junk/`.

fn sort(
    transcript: &str,
) -> (
    leash_skills::SkillReport,
    Vec<String>,
    Engine,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    // Made before the engine hands the workspace over (as root).
    for sub in ["inbox", "junk", "saved"] {
        std::fs::create_dir_all(dir.path().join("ws").join(sub)).unwrap();
    }
    std::fs::write(dir.path().join("ws/inbox/notes.zzz"), "n").unwrap();
    let engine = engine(dir.path(), true);
    let ws = engine.workspace.clone();
    let skills = leash_skills::SkillSet::builtin().unwrap();
    let skill = skills.get("organize").unwrap();
    let request = "Sort everything in inbox/ into junk/ and saved/.";
    let split = |line: &str| engine.policy.check_shell(line).command.map(|c| c.argv);
    let inputs = leash_skills::inputs::resolve(skill, request, &ws, &split).unwrap();
    let file = dir.path().join("transcript.yaml");
    std::fs::write(&file, transcript).unwrap();
    let mut backend = ReplayBackend::from_file(&file).unwrap();
    let person = Person::refusing("junk/");
    let report = leash_skills::run_skill(
        &engine,
        &mut backend,
        &person,
        skill,
        inputs,
        &SkillJob {
            job_id: None,
            request,
            payload: None,
            params: &engine.default_params(),
        },
        SkillSettings {
            max_tokens: 64,
            temperature: 0.0,
        },
        &mut |_| {},
    )
    .unwrap();
    let asked = person
        .asked
        .lock()
        .unwrap()
        .iter()
        .map(|argv| argv.join(" "))
        .collect();
    (report, asked, engine, dir)
}

#[test]
fn a_refused_sort_move_goes_back_to_the_model_which_picks_another_folder() {
    let (report, asked, engine, _dir) = sort(&format!(
        "responses:\n  - expect: \"Now the file notes.zzz\"\n    text: '{{\"notes.zzz\": \"junk\"}}'\n  - expect: \"a person refused it: {REASON}\"\n    text: '{{\"notes.zzz\": \"saved\"}}'\n"
    ));
    let ws = &engine.workspace;
    assert!(ws.join("saved/notes.zzz").exists(), "{report:?}\n{asked:?}");
    assert!(!ws.join("junk/notes.zzz").exists());
    let junk: Vec<&String> = asked.iter().filter(|a| a.contains("junk/")).collect();
    assert_eq!(junk.len(), 1, "the refused move is asked once: {asked:?}");
    let message = report.message.clone().unwrap_or_default();
    assert!(message.contains("notes.zzz → saved"), "{message}");
}

/// Hostile class `refused-skill-step-reproposed`, sort: the model names the
/// refused folder again; it is not offered, so nothing moves there and
/// nobody is asked about it again.
#[test]
fn a_refused_sort_move_proposed_again_is_not_asked_again() {
    let (report, asked, engine, _dir) = sort(
        "play: by_expect\nresponses:\n  - expect: \"Now the file notes.zzz\"\n    text: '{\"notes.zzz\": \"junk\"}'\n",
    );
    let junk: Vec<&String> = asked.iter().filter(|a| a.contains("junk/")).collect();
    assert_eq!(junk.len(), 1, "{asked:?}");
    assert!(
        engine.workspace.join("inbox/notes.zzz").exists(),
        "{report:?}"
    );
}
