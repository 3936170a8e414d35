//! What the approvals page shows beyond the command: whether `leash undo`
//! could take it back, and the grant that would cover it; and the short list
//! of refusal reasons the deny form offers. Every value is escaped: the
//! grant shape is built from a model's argv.

use leash_store::Approval;

use super::html::esc;

/// `<dt>/<dd>` pairs for the request's undo class and grant shape.
pub(crate) fn facts(approval: &Approval) -> String {
    let mut html = String::new();
    if let Some(class) = &approval.reversibility {
        html.push_str(&format!(
            "<dt>Undo</dt><dd class=\"undo-{0}\">{0}</dd>",
            esc(class)
        ));
    }
    if let Some(shape) = &approval.grant_shape {
        html.push_str(&format!(
            "<dt>Grant</dt><dd>none covers it; a grant would read <code>{}</code></dd>",
            esc(shape)
        ));
    }
    html
}

/// The `<datalist>` of the deny forms' reasons (any other text may be typed).
pub(crate) fn reason_choices() -> String {
    let options: String = leash_core::approval::REFUSAL_REASONS
        .iter()
        .map(|reason| format!("<option value=\"{}\">", esc(reason)))
        .collect();
    format!("<datalist id=\"refusal-reasons\">{options}</datalist>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_escaped() {
        let approval = Approval {
            id: 1,
            job_id: None,
            created_at: String::new(),
            expires_at: String::new(),
            nonce: "n".into(),
            state: leash_store::ApprovalState::Pending,
            argv: vec![],
            cwd: None,
            rule: None,
            reason: None,
            decided_by: None,
            decided_at: None,
            channel: None,
            grant_id: None,
            suggested_grant: None,
            refusal_reason: None,
            reversibility: Some("irreversible".into()),
            grant_shape: Some("cat <img src=x onerror=alert(1)>".into()),
        };
        let html = facts(&approval);
        assert!(html.contains("irreversible"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img"), "{html}");
    }
}
