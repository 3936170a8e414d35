//! The skills a job can use: the built-in ones (organize, review, monitor,
//! deploy) and the user's own (`*.yaml` in `skills.dir`), a user skill with a
//! built-in's name replacing it; minus `skills.disabled`.

use std::path::Path;

use crate::definition::{Skill, parse};
use crate::error::SkillError;

const BUILTIN: [(&str, &str); 4] = [
    (
        "skills/organize.yaml",
        include_str!("../skills/organize.yaml"),
    ),
    ("skills/review.yaml", include_str!("../skills/review.yaml")),
    (
        "skills/monitor.yaml",
        include_str!("../skills/monitor.yaml"),
    ),
    ("skills/deploy.yaml", include_str!("../skills/deploy.yaml")),
];

/// The skills available, in a fixed order (built-in first, then the user's
/// by file name).
#[derive(Debug, Clone, Default)]
pub struct SkillSet {
    skills: Vec<Skill>,
}

impl SkillSet {
    /// The built-in skills only.
    pub fn builtin() -> Result<SkillSet, SkillError> {
        let skills = BUILTIN
            .iter()
            .map(|(origin, text)| parse(origin, text))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SkillSet { skills })
    }

    /// Built-in skills, the user's from `dir` (when it exists), minus the
    /// `disabled` names.
    pub fn load(dir: Option<&Path>, disabled: &[String]) -> Result<SkillSet, SkillError> {
        let mut set = SkillSet::builtin()?;
        if let Some(dir) = dir.filter(|dir| dir.is_dir()) {
            let io = |source| SkillError::Io {
                path: dir.to_path_buf(),
                source,
            };
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .map_err(io)?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| {
                    path.extension()
                        .is_some_and(|ext| ext == "yaml" || ext == "yml")
                })
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file).map_err(|source| SkillError::Io {
                    path: file.clone(),
                    source,
                })?;
                let skill = parse(&file.display().to_string(), &text)?;
                set.skills.retain(|s| s.name != skill.name);
                set.skills.push(skill);
            }
        }
        set.skills.retain(|s| !disabled.contains(&s.name));
        Ok(set)
    }

    /// The skill a trigger or `--skill` names; [`SkillError::Unknown`] when none
    /// (a disabled skill is gone from the set, so it fails here too).
    pub fn get(&self, name: &str) -> Result<&Skill, SkillError> {
        self.skills
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| SkillError::Unknown(name.to_owned()))
    }

    /// Every enabled skill: built-in ones first, then the user's (a user's skill
    /// replaces the built-in one of the same name).
    pub fn all(&self) -> &[Skill] {
        &self.skills
    }

    /// No skill is enabled (`leash ask` then skips routing and takes the open
    /// loop).
    pub fn is_empty(&self) -> bool {
        self.skills.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_four_use_cases_are_built_in() {
        let set = SkillSet::builtin().unwrap();
        for name in ["organize", "review", "monitor", "deploy"] {
            assert!(set.get(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn a_user_skill_replaces_a_builtin_of_its_name_and_disabled_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("review.yaml"),
            "{name: review, kind: review, description: mine, question: q, verdicts: [lgtm, nope]}",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("photos.yaml"),
            "{name: photos, kind: sort, description: sort photos by year, question: q}",
        )
        .unwrap();
        let set = SkillSet::load(Some(dir.path()), &["deploy".to_owned()]).unwrap();
        assert_eq!(set.get("review").unwrap().description, "mine");
        assert!(set.get("photos").is_ok());
        assert!(matches!(set.get("deploy"), Err(SkillError::Unknown(_))));
    }

    #[test]
    fn a_broken_user_skill_is_an_error_naming_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.yaml"), "{name: bad, kind: sort}").unwrap();
        let err = SkillSet::load(Some(dir.path()), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.yaml"), "{err}");
    }
}
