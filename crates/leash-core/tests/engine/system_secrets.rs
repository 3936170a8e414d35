//! The policy and the sandbox use one list of system secrets
//! (`leash-system-paths`): the policy must deny reading every one of them.

use leash_system_paths::SYSTEM_SECRETS;

use crate::Fixture;

/// Concrete paths for a pattern: a trailing `*` (a prefix pattern such as
/// `sudoers*`) stands for the base name itself and for a wider match
/// (`sudoers.bak`); an inner `*` for a plausible name (`ssh_host_rsa_key`,
/// `/proc/1/environ`). A file below a secret directory is a secret too.
fn examples(pattern: &str) -> Vec<String> {
    let concrete = |p: &str| p.replace("/proc/*/", "/proc/1/").replace('*', "rsa");
    let mut out = match pattern.strip_suffix('*') {
        Some(base) => vec![concrete(base), concrete(&format!("{base}.bak"))],
        None => vec![concrete(pattern)],
    };
    let below = format!("{}/inner.key", out[0]);
    out.push(below);
    out
}

/// A concrete example path is a secret by the shared list's own matcher (so
/// the examples above cannot drift into testing something else).
#[test]
fn every_example_is_a_secret_by_the_shared_list() {
    for pattern in SYSTEM_SECRETS {
        for path in examples(pattern) {
            assert!(
                leash_system_paths::is_secret(std::path::Path::new(&path)),
                "{path} (from {pattern}) is not a secret by is_secret"
            );
        }
    }
}

#[test]
fn the_policy_denies_reading_every_system_secret() {
    let fx = Fixture::new();
    let engine = fx.engine("");
    let mut allowed = Vec::new();
    for pattern in SYSTEM_SECRETS {
        for path in examples(pattern) {
            let verdict = engine.policy.check_argv(&["cat", path.as_str()]);
            if verdict.decision != leash_policy::Decision::Deny {
                allowed.push(format!("{path} ({})", verdict.rule));
            }
        }
    }
    assert!(
        allowed.is_empty(),
        "the policy lets `cat` read: {allowed:?}"
    );
}
