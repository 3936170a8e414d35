//! Known OpenAI-compatible servers, so a config can say `preset: ollama`
//! instead of spelling out URLs and capabilities.

/// Defaults for one kind of server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenAiPreset {
    /// The preset's name (`lmstudio`, `ollama`, `llama-server`, `deepseek`).
    pub name: &'static str,
    /// Base URL up to and including `/v1`.
    pub base_url: &'static str,
    /// The model to ask for when the config names none (local servers serve
    /// whatever is loaded, so they have none).
    pub default_model: Option<&'static str>,
    /// The environment variable conventionally holding the API key.
    pub api_key_env: Option<&'static str>,
    /// Whether the server needs a key at all.
    pub requires_api_key: bool,
    /// Whether `response_format: {type: json_schema}` is understood.
    pub supports_response_format: bool,
}

/// Every preset, in the order documentation lists them.
pub const OPENAI_PRESETS: [OpenAiPreset; 4] = [
    OpenAiPreset {
        name: "lmstudio",
        base_url: "http://127.0.0.1:1234/v1",
        default_model: None,
        api_key_env: None,
        requires_api_key: false,
        supports_response_format: true,
    },
    OpenAiPreset {
        name: "ollama",
        base_url: "http://127.0.0.1:11434/v1",
        default_model: None,
        api_key_env: None,
        requires_api_key: false,
        supports_response_format: true,
    },
    OpenAiPreset {
        name: "llama-server",
        base_url: "http://127.0.0.1:8080/v1",
        default_model: None,
        api_key_env: None,
        requires_api_key: false,
        supports_response_format: true,
    },
    // DeepSeek's API knows `json_object` but not `json_schema` (and
    // deepseek-reasoner neither), so the parser does the work there. Models:
    // `deepseek-chat`, or `deepseek-reasoner` (its reasoning_content is kept).
    OpenAiPreset {
        name: "deepseek",
        base_url: "https://api.deepseek.com/v1",
        default_model: Some("deepseek-chat"),
        api_key_env: Some("DEEPSEEK_API_KEY"),
        requires_api_key: true,
        supports_response_format: false,
    },
];

/// The preset with this name.
pub fn openai_preset(name: &str) -> Option<OpenAiPreset> {
    OPENAI_PRESETS
        .into_iter()
        .find(|preset| preset.name == name)
}
