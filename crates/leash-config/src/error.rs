//! Config errors and warnings. Every problem names where it is (file and line, or
//! the environment variable / `--set` flag it came from) and the dotted key path.

use std::fmt;

use serde::Serialize;

/// One problem that makes the config unusable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigError {
    /// Dotted key path, e.g. `security.execution_mode` or `triggers[2].cron`;
    /// empty for problems of the document as a whole (YAML syntax).
    pub key: String,
    /// 1-based line in the config file, when the problem is in the file.
    pub line: Option<usize>,
    /// 1-based column in the config file, when the problem is in the file.
    pub column: Option<usize>,
    /// What is wrong, and what would be right.
    pub message: String,
    /// Where the value came from: the config file's path, an environment variable
    /// (`LEASH_SECURITY__EXECUTION_MODE`) or a flag (`--set security.network=true`).
    pub source_name: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_located(
            f,
            &self.source_name,
            self.line,
            self.column,
            &self.key,
            &self.message,
        )
    }
}

impl std::error::Error for ConfigError {}

/// Every error found in one load, in the order they occur.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// A single error.
    pub fn one(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }

    /// The errors.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never true for a returned `Err`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    /// One `source:line:col: key: message` line per error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Something that will not stop leash from starting but is probably not what the
/// user wants (a model file or a watched directory that does not exist yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigWarning {
    /// Dotted key path the warning is about (empty for the file as a whole).
    pub key: String,
    /// 1-based line, when the key is in the file.
    pub line: Option<usize>,
    /// 1-based column, when the key is in the file.
    pub column: Option<usize>,
    /// What is odd.
    pub message: String,
    /// Where the value came from (see [`ConfigError::source_name`]).
    pub source_name: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_located(
            f,
            &self.source_name,
            self.line,
            self.column,
            &self.key,
            &self.message,
        )
    }
}

fn write_located(
    f: &mut fmt::Formatter<'_>,
    source: &str,
    line: Option<usize>,
    column: Option<usize>,
    key: &str,
    message: &str,
) -> fmt::Result {
    f.write_str(source)?;
    if let Some(line) = line {
        write!(f, ":{line}")?;
        if let Some(column) = column {
            write!(f, ":{column}")?;
        }
    }
    if key.is_empty() {
        write!(f, ": {message}")
    } else {
        write!(f, ": {key}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_column_and_key() {
        let errors = ConfigErrors(vec![
            ConfigError {
                key: "security.execution_mode".into(),
                line: Some(3),
                column: Some(19),
                message: "bad".into(),
                source_name: "/etc/leash.yaml".into(),
            },
            ConfigError {
                key: "security.network".into(),
                line: None,
                column: None,
                message: "worse".into(),
                source_name: "LEASH_SECURITY__NETWORK".into(),
            },
        ]);
        assert_eq!(
            errors.to_string(),
            "/etc/leash.yaml:3:19: security.execution_mode: bad\n\
             LEASH_SECURITY__NETWORK: security.network: worse"
        );
    }
}
