//! What kind of thing fired a job.

use serde::{Deserialize, Serialize};

/// What kind of thing fired. Closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TriggerSource {
    /// A trigger file appeared in a watched directory.
    File,
    /// A cron schedule came due.
    Schedule,
    /// A watched repository got a new commit.
    Git,
    /// Someone submitted the job over the daemon's HTTP API (`leash
    /// submit`, the web page, a webhook).
    Http,
    /// The default: a job someone started at the command line (`leash
    /// ask`), the one source that needs no trigger in the config.
    #[default]
    Cli,
    /// A watch trigger's command printed something new.
    Watch,
    /// Another device of the fleet (issue 13).
    Fleet,
}

impl TriggerSource {
    /// Every source.
    pub const ALL: [TriggerSource; 7] = [
        TriggerSource::File,
        TriggerSource::Schedule,
        TriggerSource::Git,
        TriggerSource::Http,
        TriggerSource::Cli,
        TriggerSource::Watch,
        TriggerSource::Fleet,
    ];

    /// The spelling stored with the job.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerSource::File => "file",
            TriggerSource::Schedule => "schedule",
            TriggerSource::Git => "git",
            TriggerSource::Http => "http",
            TriggerSource::Cli => "cli",
            TriggerSource::Watch => "watch",
            TriggerSource::Fleet => "fleet",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<TriggerSource> {
        TriggerSource::ALL
            .into_iter()
            .find(|source| source.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_round_trips_through_its_spelling_and_serde() {
        for source in TriggerSource::ALL {
            assert_eq!(TriggerSource::parse(source.as_str()), Some(source));
            assert_eq!(
                serde_json::to_value(source).unwrap(),
                serde_json::Value::from(source.as_str())
            );
        }
    }
}
