//! Backup files named by an option value typed `backup-suffix` (`sed -i.bak`,
//! `perl -i'orig/*'`, `cp --suffix=.old`): the program keeps the old content
//! of every path it writes under a second name built from the suffix. Those
//! names are write paths like any other: the policy judges them (so a suffix
//! cannot plant a file outside the roots or in a protected place) and the
//! undo journal keeps their pre-images (so `leash undo` removes or restores
//! the backups too).
//!
//! Programs disagree on what `*` in a suffix means, and the policy cannot
//! know which implementation runs, so every reading is a write path
//! (strictest wins):
//! - no `*`: the suffix is appended (`f` → `f.bak`), in every implementation;
//! - GNU sed: each `*` is the file's base name, in the file's directory
//!   (`d/f` with `old/*` → `d/old/f`);
//! - perl: each `*` is the file name as given, relative to the working
//!   directory (`d/f` with `old/*` → `old/d/f`);
//! - ruby and others append the suffix as it is (`f` → `fold/*`).

use std::path::Path;

use crate::options::{OptName, ParsedArgs};
use crate::policy::destination_names;
use crate::rules::format::ValueTypeDoc;
use crate::spec::{Access, PathArg, ProgramSpec};

/// One backup path a command writes, and how (a backup of a directory
/// written recursively is a directory tree too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BackupPath {
    pub text: String,
    pub access: Access,
}

/// The non-empty values of options typed `backup-suffix` (`--in-place=`
/// with an empty suffix makes no backup).
fn suffixes<'a>(spec: &ProgramSpec, parsed: &ParsedArgs<'a>) -> Vec<&'a str> {
    parsed
        .options
        .iter()
        .filter_map(|option| {
            let OptName::Known(id) = option.name else {
                return None;
            };
            let value = option.value.filter(|v| !v.is_empty())?;
            let opt = spec.args_spec(option.level).option(id)?;
            (opt.kind == ValueTypeDoc::BackupSuffix).then_some(value)
        })
        .collect()
}

/// Every name a backup of `target` may get with `suffix` (see the module
/// documentation for the readings).
pub(crate) fn backup_names(target: &str, suffix: &str) -> Vec<String> {
    let target = match target.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    let mut names = vec![format!("{target}{suffix}")];
    if suffix.contains('*') {
        let (dir, base) = match target.rsplit_once('/') {
            Some((dir, base)) => (format!("{dir}/"), base),
            None => (String::new(), target),
        };
        names.push(format!("{dir}{}", suffix.replace('*', base)));
        names.push(suffix.replace('*', target));
    }
    names.dedup();
    names
}

/// The backup paths of a command: for every write path argument (and, for a
/// destination that is a directory, every `DIR/basename(SRC)` it receives),
/// each name a backup may get with each suffix given. Relative names resolve
/// against `base`, as the write paths themselves do.
pub(crate) fn backup_paths(
    spec: &ProgramSpec,
    parsed: &ParsedArgs<'_>,
    path_args: &[PathArg<'_>],
    base: &Path,
    no_target_dir: bool,
) -> Vec<BackupPath> {
    let suffixes = suffixes(spec, parsed);
    if suffixes.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for arg in path_args.iter().filter(|a| !a.changes_dir) {
        if !matches!(arg.access, Access::Write | Access::WriteRecursive) {
            continue;
        }
        let mut written = if arg.dest && !no_target_dir {
            destination_names(arg, path_args, base)
        } else {
            Vec::new()
        };
        if written.is_empty() {
            written.push(arg.text.to_string());
        }
        for target in &written {
            for suffix in &suffixes {
                for text in backup_names(target, suffix) {
                    let path = BackupPath {
                        text,
                        access: arg.access,
                    };
                    if !out.contains(&path) {
                        out.push(path);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::backup_names;

    #[rstest]
    #[case::appended("f", ".bak", &["f.bak"])]
    #[case::appended_in_a_directory("d/f", "~", &["d/f~"])]
    #[case::star_is_read_every_way("d/f", "old/*", &["d/fold/*", "d/old/f", "old/d/f"])]
    #[case::star_naming_another_directory("f", ".git/hooks/*", &["f.git/hooks/*", ".git/hooks/f"])]
    #[case::dot_dot_in_the_suffix("d/f", "/../../x", &["d/f/../../x"])]
    #[case::trailing_slash_of_a_directory("dir/", ".old", &["dir.old"])]
    fn backup_names_cover_every_reading(
        #[case] target: &str,
        #[case] suffix: &str,
        #[case] want: &[&str],
    ) {
        assert_eq!(backup_names(target, suffix), want);
    }
}
