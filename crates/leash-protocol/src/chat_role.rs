//! Who said a chat message (the conversation table stores the spelling).

use serde::{Deserialize, Serialize};

/// Who said a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    /// leash's instructions: the task, the rules, the action format.
    System,
    /// What leash tells the model: the person's request, command results.
    User,
    /// What the model answered before (its earlier plans).
    Assistant,
}

impl ChatRole {
    /// Every role.
    pub const ALL: [ChatRole; 3] = [ChatRole::System, ChatRole::User, ChatRole::Assistant];

    /// The spelling in chat APIs and in the conversation table.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatRole::System => "system",
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<ChatRole> {
        ChatRole::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_spelling_and_serde() {
        for role in ChatRole::ALL {
            assert_eq!(ChatRole::parse(role.as_str()), Some(role));
            assert_eq!(
                serde_json::to_value(role).unwrap(),
                serde_json::Value::from(role.as_str())
            );
        }
    }
}
