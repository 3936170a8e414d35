//! The device's NATS credentials: `fleet.credentials` names a file, never the
//! secret itself, so the YAML can be shared. The file must be mode 0600
//! (owner only), like an SSH key: a secret anyone on the device can read is
//! no secret.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::FleetError;

/// What the credentials file holds.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `USER:PASSWORD` on one line.
    UserPassword {
        /// The NATS user (the device's name, by convention).
        user: String,
        /// The password; never printed (`Debug` hides it).
        password: String,
    },
    /// An nkey user seed (`SU…`); the server knows only its public key.
    NkeySeed(String),
}

impl std::fmt::Debug for Credentials {
    // Never print the secret (logs, panics in tests).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::UserPassword { user, .. } => {
                write!(f, "UserPassword {{ user: {user:?}, password: <hidden> }}")
            }
            Credentials::NkeySeed(_) => f.write_str("NkeySeed(<hidden>)"),
        }
    }
}

impl Credentials {
    /// Reads and checks `path` (mode 0600 or stricter, one of the two forms).
    pub fn load(path: &Path) -> Result<Credentials, FleetError> {
        let meta = std::fs::metadata(path).map_err(|source| FleetError::CredentialsRead {
            path: path.to_path_buf(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(FleetError::CredentialsMode {
                path: path.to_path_buf(),
                mode,
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::CredentialsRead {
            path: path.to_path_buf(),
            source,
        })?;
        Credentials::parse(&text).map_err(|reason| FleetError::CredentialsFormat {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses the file's text. The error is a reason, without the secret.
    pub fn parse(text: &str) -> Result<Credentials, String> {
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let [line] = lines.as_slice() else {
            return Err(format!(
                "{} non-comment lines; exactly one is expected",
                lines.len()
            ));
        };
        if line.starts_with("SU") && !line.contains(':') {
            if line.len() < 40 || !line.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err("the nkey seed is malformed".to_owned());
            }
            return Ok(Credentials::NkeySeed((*line).to_owned()));
        }
        match line.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                Ok(Credentials::UserPassword {
                    user: user.to_owned(),
                    password: password.to_owned(),
                })
            }
            Some(_) | None => Err("neither USER:PASSWORD nor an nkey seed".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str, mode: u32) -> std::path::PathBuf {
        let path = dir.join("creds");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn group_or_world_readable_credentials_are_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            let path = write(dir.path(), "phone:secret\n", mode);
            let err = Credentials::load(&path).unwrap_err().to_string();
            assert!(err.contains("fleet.credentials"), "{err}");
            assert!(err.contains("0600"), "{err}");
        }
    }

    #[test]
    fn owner_only_credentials_load_in_both_forms() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "# the phone\nphone:s3:cret\n", 0o600);
        assert_eq!(
            Credentials::load(&path).unwrap(),
            Credentials::UserPassword {
                user: "phone".into(),
                password: "s3:cret".into()
            }
        );
        let seed = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
        let path = write(dir.path(), seed, 0o400);
        assert_eq!(
            Credentials::load(&path).unwrap(),
            Credentials::NkeySeed(seed.into())
        );
    }

    #[test]
    fn malformed_credentials_are_refused_without_echoing_the_secret() {
        for text in ["", "justoneword", ":nopass", "user:", "a:b\nc:d"] {
            let err = Credentials::parse(text).unwrap_err();
            assert!(!err.contains("nopass"), "{err}");
        }
        let debug = format!(
            "{:?}",
            Credentials::UserPassword {
                user: "u".into(),
                password: "hunter2".into()
            }
        );
        assert!(!debug.contains("hunter2"));
    }
}
