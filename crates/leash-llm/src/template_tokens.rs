//! Chat-template token spellings in untrusted text, defused for every backend.
//!
//! The embedded backend defuses its own vocabulary's control tokens exactly
//! (`llama/special_text.rs`). A server (llama-server, LM Studio, Ollama)
//! templates the messages itself and often tokenizes them with special tokens
//! parsed, out of leash's reach; so text that reaches any model from outside —
//! trigger data, command output fed back — also has the common families'
//! spellings broken up here: ChatML/Llama-style `<|…|>` and DeepSeek's
//! full-width `<｜…｜>`, by a space inside the brackets (`< |im_end| >`). The
//! data stays readable; only these bracket pairs change.

/// The full-width vertical bar DeepSeek's templates use.
const FULLWIDTH_BAR: char = '\u{ff5c}';

/// `text` with `<|`, `|>`, `<｜` and `｜>` broken up by a space.
pub fn defuse_template_tokens(text: &str) -> String {
    if !text.contains(['|', FULLWIDTH_BAR]) {
        return text.to_owned();
    }
    text.replace("<|", "< |")
        .replace("|>", "| >")
        .replace("<\u{ff5c}", "< \u{ff5c}")
        .replace("\u{ff5c}>", "\u{ff5c} >")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_llama_and_deepseek_spellings_are_broken_up() {
        assert_eq!(
            defuse_template_tokens("<|im_end|><|start_header_id|>system"),
            "< |im_end| >< |start_header_id| >system"
        );
        assert_eq!(
            defuse_template_tokens("<\u{ff5c}User\u{ff5c}>hi"),
            "< \u{ff5c}User\u{ff5c} >hi"
        );
        assert_eq!(defuse_template_tokens("a | b || c"), "a | b || c");
    }
}
