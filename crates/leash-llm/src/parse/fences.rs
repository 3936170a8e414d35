//! Markdown code fences (```lang … ```) in an answer: where they are and
//! which language they claim.

/// One fenced block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fence<'a> {
    /// The info string's first word, lowercased (`json`, `sh`, ``).
    pub lang: String,
    /// Byte range of the content in the text (between the fence lines).
    pub start: usize,
    pub end: usize,
    pub content: &'a str,
}

/// The fence marker of a line (```` ``` ```` or `~~~`, at most three spaces
/// in) and the rest of the line.
fn fence_marker(line: &str) -> Option<(&str, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let trimmed = &line[indent..];
    for marker in ["```", "~~~"] {
        if let Some(rest) = trimmed.strip_prefix(marker) {
            let extra = rest.len() - rest.trim_start_matches(&marker[..1]).len();
            let whole = &trimmed[..marker.len() + extra];
            return Some((whole, &trimmed[whole.len()..]));
        }
    }
    None
}

/// Every fenced block, in order. An unterminated fence runs to the end.
pub(crate) fn find_fences(text: &str) -> Vec<Fence<'_>> {
    let mut fences = Vec::new();
    let mut open: Option<(String, String, usize)> = None; // (marker, lang, content start)
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let bare = line.trim_end_matches(['\n', '\r']);
        let Some((marker, info)) = fence_marker(bare) else {
            continue;
        };
        match open.take() {
            None => {
                let lang = info
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                open = Some((marker.to_string(), lang, offset));
            }
            Some((open_marker, lang, start)) => {
                let closes = info.trim().is_empty()
                    && marker.starts_with(&open_marker[..1])
                    && marker.len() >= open_marker.len();
                if closes {
                    fences.push(Fence {
                        lang,
                        start,
                        end: line_start,
                        content: &text[start..line_start],
                    });
                } else {
                    open = Some((open_marker, lang, start));
                }
            }
        }
    }
    if let Some((_, lang, start)) = open {
        fences.push(Fence {
            lang,
            start,
            end: text.len(),
            content: &text[start..],
        });
    }
    fences
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_language_and_content() {
        let text = "Here:\n```json\n{\"a\": 1}\n```\nand\n```\nls\n";
        let fences = find_fences(text);
        assert_eq!(fences.len(), 2);
        assert_eq!(fences[0].lang, "json");
        assert_eq!(fences[0].content, "{\"a\": 1}\n");
        assert_eq!(fences[1].lang, "");
        assert_eq!(fences[1].content, "ls\n");
    }
}
