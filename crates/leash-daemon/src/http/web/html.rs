//! HTML building for the web page: escaping and the page frame.
//!
//! Every piece of untrusted text (prompts, file names, argv, command output,
//! audit payloads) goes through [`esc`]. Escaping is written here rather
//! than pulled in with a template engine: the page is a handful of tables,
//! and these five replacements are the whole of HTML-text and quoted
//! attribute escaping (OWASP's rule #1 set).

use std::fmt::Write;

/// Text escaped for HTML element content and double- or single-quoted
/// attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The navigation entries: (path, label).
const NAV: &[(&str, &str)] = &[
    ("/ui/", "Jobs"),
    ("/ui/approvals", "Approvals"),
    ("/ui/grants", "Grants"),
    ("/ui/audit", "Audit"),
];

/// A whole page: `title`, the body's `main` (already escaped HTML), and
/// whether the page follows the daemon's events to refresh itself.
pub(crate) fn page(title: &str, main: &str, live: bool, csrf: Option<&str>) -> String {
    let mut html = String::with_capacity(main.len() + 1024);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · leash</title><link rel=\"stylesheet\" href=\"/ui/app.css\">\
         <script src=\"/ui/app.js\" defer></script></head><body{}><header><nav>",
        esc(title),
        if live { " data-live=\"1\"" } else { "" }
    );
    for (path, label) in NAV {
        let _ = write!(html, "<a href=\"{path}\">{label}</a>");
    }
    if let Some(csrf) = csrf {
        let _ = write!(
            html,
            "<form method=\"post\" action=\"/ui/logout\" class=\"inline\">{}\
             <button>Log out</button></form>",
            csrf_field(csrf)
        );
    }
    let _ = write!(html, "</nav></header><main>{main}</main></body></html>");
    html
}

/// The hidden CSRF field every state-changing form carries.
pub(crate) fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(csrf)
    )
}

/// An argv as one line of text (escaped by the caller's [`esc`]).
pub(crate) fn argv_line(argv: &[String]) -> String {
    argv.iter()
        .map(|word| {
            if !word.is_empty() && !word.contains(char::is_whitespace) {
                word.clone()
            } else {
                format!("{word:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars().take(max).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            esc("<img src=x onerror='a()'>&\""),
            "&lt;img src=x onerror=&#39;a()&#39;&gt;&amp;&quot;"
        );
    }
}
