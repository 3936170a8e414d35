//! Matching paths against [`crate::SYSTEM_SECRETS`] component by component.
//!
//! Hand-written rather than a glob crate: the only syntax is `*` within one
//! component, and this crate must stay dependency-free so that the policy and
//! the sandbox can both depend on it without dragging anything along.

use std::path::{Component, Path};

use crate::SYSTEM_SECRETS;

/// Whether `path` (absolute, already canonical) is one of the system secrets or
/// lies inside one.
pub fn is_secret(path: &Path) -> bool {
    let parts = components(path);
    SYSTEM_SECRETS.iter().any(|pattern| {
        let pattern: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        pattern.len() <= parts.len()
            && pattern
                .iter()
                .zip(&parts)
                .all(|(p, part)| component_matches(p, part))
    })
}

/// Whether some system secret lies strictly inside `path` (so a per-entry walk
/// must look inside instead of granting `path` whole).
pub fn leads_to_secret(path: &Path) -> bool {
    let parts = components(path);
    SYSTEM_SECRETS.iter().any(|pattern| {
        let pattern: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        pattern.len() > parts.len()
            && pattern
                .iter()
                .zip(&parts)
                .all(|(p, part)| component_matches(p, part))
    })
}

fn components(path: &Path) -> Vec<String> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::RootDir | Component::Prefix(_) | Component::CurDir => None,
            // `..` is never in a canonical path; treat it as a name so that it
            // can never match a pattern by accident.
            Component::ParentDir => Some("..".to_owned()),
        })
        .collect()
}

/// `*` matches any run of characters (possibly empty) within one component.
fn component_matches(pattern: &str, name: &str) -> bool {
    let mut pieces = pattern.split('*');
    let Some(first) = pieces.next() else {
        return pattern == name;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty(); // no `*`: the prefix had to be everything
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_what_is_inside_them_are_secret() {
        for path in [
            "/etc/shadow",
            "/etc/gshadow-",
            "/etc/sudoers",
            "/etc/sudoers.d/90-cloud",
            "/etc/sudoers.bak",
            "/etc/ssh/ssh_host_ed25519_key",
            "/etc/ssl/private/server.key",
            "/proc/1/environ",
            "/dev/mem",
        ] {
            assert!(is_secret(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn neighbours_of_secrets_are_not_secret() {
        for path in [
            "/etc/hostname",
            "/etc/passwd",
            "/etc/ssh/ssh_host_ed25519_key.pub",
            "/etc/ssh/sshd_config",
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/shadowfax",
            "/proc/1/status",
            "/etc",
        ] {
            assert!(!is_secret(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn ancestors_of_secrets_lead_to_them() {
        for path in [
            "/etc",
            "/etc/ssh",
            "/etc/ssl",
            "/etc/security",
            "/proc",
            "/dev",
        ] {
            assert!(leads_to_secret(Path::new(path)), "{path}");
        }
        for path in ["/etc/ssl/certs", "/usr", "/etc/apt", "/etc/shadow"] {
            assert!(!leads_to_secret(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn star_stays_within_one_component() {
        assert!(component_matches("ssh_host_*_key", "ssh_host_rsa_key"));
        assert!(!component_matches("ssh_host_*_key", "ssh_host_rsa_key.pub"));
        assert!(component_matches("sudoers*", "sudoers"));
        assert!(component_matches("*", "1234"));
        assert!(!is_secret(Path::new("/etc/ssh/x/ssh_host_rsa_key")));
    }
}
