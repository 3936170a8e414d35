//! Chat messages to prompt text with the model's own chat template.
//!
//! llama.cpp's `llama_chat_apply_template` recognises about 60 template
//! families by their Jinja source and fails for the rest. The template is
//! chosen once at load by rendering a probe conversation: the model's own when
//! llama.cpp supports it, else the configured fallback (ChatML by default)
//! with a warning, since a wrong template degrades answers without failing.

use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use serde::Serialize;

use super::BACKEND_NAME;
use super::special_text::SpecialTexts;
use crate::{BackendError, ChatMessage, Role};

/// Where the template in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum TemplateSource {
    /// The GGUF's `tokenizer.chat_template`.
    Model,
    /// `LlamaConfig::chat_template_fallback`.
    Fallback,
}

/// The chat template the worker renders prompts with.
#[derive(Debug)]
pub(super) struct ChatFormat {
    template: LlamaChatTemplate,
    pub(super) source: TemplateSource,
    /// The template mentions `<think>`: a reasoning model (DeepSeek-R1
    /// distills), whose grammar allows a leading `<think>…</think>`.
    pub(super) reasons: bool,
}

impl ChatFormat {
    /// Picks the model's template when llama.cpp can render it, else
    /// `fallback` (a built-in template name such as `chatml`).
    pub(super) fn choose(model: &LlamaModel, fallback: &str) -> Result<Self, BackendError> {
        let probe = probe_conversation()?;
        let own = model.chat_template(None);
        let reasons = own
            .as_ref()
            .ok()
            .and_then(|t| t.to_str().ok())
            .is_some_and(|source| source.contains("<think>"));
        match own {
            Ok(template) => match model.apply_chat_template(&template, &probe, true) {
                Ok(_) => {
                    return Ok(ChatFormat {
                        template,
                        source: TemplateSource::Model,
                        reasons,
                    });
                }
                Err(err) => tracing::warn!(
                    fallback,
                    error = %err,
                    "llama.cpp does not support this model's chat template; using the fallback template"
                ),
            },
            Err(err) => tracing::warn!(
                fallback,
                error = %err,
                "the model has no chat template; using the fallback template"
            ),
        }
        let load_error = |detail: String| BackendError::Load {
            backend: BACKEND_NAME.to_string(),
            detail,
        };
        let template = LlamaChatTemplate::new(fallback)
            .map_err(|err| load_error(format!("fallback chat template {fallback:?}: {err}")))?;
        model
            .apply_chat_template(&template, &probe, true)
            .map_err(|err| {
                load_error(format!(
                    "fallback chat template {fallback:?} is not one llama.cpp knows: {err}"
                ))
            })?;
        Ok(ChatFormat {
            template,
            source: TemplateSource::Fallback,
            reasons,
        })
    }

    /// The prompt for `messages`, ending where the assistant's answer begins.
    /// Contents are defused first (see `special_text`): only the template
    /// writes special tokens.
    pub(super) fn render(
        &self,
        model: &LlamaModel,
        special: &SpecialTexts,
        messages: &[ChatMessage],
    ) -> Result<String, BackendError> {
        let chat = messages
            .iter()
            .map(|m| to_llama_message(m.role, &special.defuse(&m.content)))
            .collect::<Result<Vec<_>, _>>()?;
        model
            .apply_chat_template(&self.template, &chat, true)
            .map_err(|err| BackendError::Inference {
                backend: BACKEND_NAME.to_string(),
                detail: format!("cannot render the chat template: {err}"),
            })
    }
}

fn role_name(role: Role) -> &'static str {
    role.as_str()
}

/// NUL cannot cross into C; a trigger payload may contain one, so it becomes
/// U+FFFD instead of failing the job.
fn to_llama_message(role: Role, content: &str) -> Result<LlamaChatMessage, BackendError> {
    LlamaChatMessage::new(
        role_name(role).to_string(),
        content.replace('\0', "\u{fffd}"),
    )
    .map_err(|err| BackendError::Inference {
        backend: BACKEND_NAME.to_string(),
        detail: format!("chat message: {err}"),
    })
}

fn probe_conversation() -> Result<Vec<LlamaChatMessage>, BackendError> {
    Ok(vec![
        to_llama_message(Role::System, "probe")?,
        to_llama_message(Role::User, "probe")?,
    ])
}
