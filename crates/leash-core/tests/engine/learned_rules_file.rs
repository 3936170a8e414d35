//! The learned-rules file against a planted temp name: its temp file beside
//! the rules file has a predictable name, and a symlink planted there (by
//! anything that can write the config dir) must never be written through.

use std::os::unix::fs::symlink;

use leash_core::LearnedRulesFile;
use leash_policy::Decision;

#[test]
fn a_symlink_planted_at_the_learned_rules_temp_name_writes_nothing_outside() {
    let config = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("authorized_keys");
    std::fs::write(&victim, "ssh-ed25519 AAAA owner\n").unwrap();
    let path = config.path().join("learned-rules.yaml");
    // The name the old writer used, and every name the shared writer may use
    // next (other tests of this binary write files at the same time).
    let pid = std::process::id();
    let mut planted = vec![config.path().join(format!(".learned-rules.yaml.tmp{pid}"))];
    planted.extend(leash_atomic_file::next_temp_names(&path, 1024));
    for name in &planted {
        symlink(&victim, name).unwrap();
    }

    let file = LearnedRulesFile::new(path.clone());
    let argv: Vec<String> = vec!["git".into(), "status".into()];
    file.remember(&argv, Decision::Allow).unwrap();

    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "ssh-ed25519 AAAA owner\n",
        "the file the planted link points at is untouched"
    );
    let entries: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "nothing new outside the config dir");
    assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
    let rules = file.rules().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].argv, argv);
}
