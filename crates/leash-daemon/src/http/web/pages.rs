//! The pages (GET): the job list, one job's story, pending approvals with
//! their buttons, grants with revoke, the audit log with verify. Rendered on
//! the server from the store; every untrusted string goes through [`esc`].

use std::fmt::Write;

use leash_protocol::audit::CommandDecision;
use leash_store::{Approval, ApprovalState, AuditKind, AuditRecord, Grant, Job};

use super::html::{argv_line, clip, csrf_field, esc};

/// Jobs shown on the list.
pub(crate) const JOB_LIST_LIMIT: u32 = 1000;
/// Audit records shown.
pub(crate) const AUDIT_LIMIT: usize = 200;

pub(crate) fn jobs(jobs: &[Job]) -> String {
    let mut html = format!(
        "<h1>Jobs</h1><p class=\"muted\">{} shown, newest first; this page follows new events.</p>\
         <table class=\"jobs\"><thead><tr><th>#</th><th>State</th><th>Trigger</th><th>Task</th></tr></thead><tbody>",
        jobs.len()
    );
    for job in jobs {
        let trigger = match &job.trigger_name {
            Some(name) => format!("{} {}", job.trigger_kind.as_str(), name),
            None => job.trigger_kind.as_str().to_owned(),
        };
        let _ = write!(
            html,
            "<tr><td><a href=\"/ui/jobs/{id}\">{id}</a></td><td class=\"state {state}\">{state}</td>\
             <td>{trigger}</td><td>{prompt}</td></tr>",
            id = job.id,
            state = esc(job.state.as_str()),
            trigger = esc(&trigger),
            prompt = esc(&clip(&job.prompt, 120)),
        );
    }
    html.push_str("</tbody></table>");
    html
}

pub(crate) fn job_story(job: &Job, records: &[AuditRecord]) -> String {
    let mut html = format!(
        "<h1>Job {}</h1><dl><dt>State</dt><dd>{}</dd><dt>Trigger</dt><dd>{} {}</dd>\
         <dt>Created</dt><dd>{}</dd><dt>Task</dt><dd><pre>{}</pre></dd>",
        job.id,
        esc(job.state.as_str()),
        esc(job.trigger_kind.as_str()),
        esc(job.trigger_name.as_deref().unwrap_or("")),
        esc(&job.created_at),
        esc(&job.prompt),
    );
    if let Some(payload) = &job.payload {
        let _ = write!(
            html,
            "<dt>Trigger data</dt><dd><pre>{}</pre></dd>",
            esc(&clip(&payload.to_string(), 4000))
        );
    }
    html.push_str("</dl><h2>Story</h2><ol class=\"story\">");
    for record in records {
        let _ = write!(
            html,
            "<li><span class=\"kind\">{}</span> <span class=\"muted\">{}</span><pre>{}</pre></li>",
            esc(&record.kind),
            esc(&record.ts),
            esc(&clip(&story_text(record), 2000)),
        );
    }
    html.push_str("</ol>");
    html
}

/// The part of a record a person reads in a story.
fn story_text(record: &AuditRecord) -> String {
    let p = &record.payload;
    match record.audit_kind() {
        Some(AuditKind::CommandDecision) => match record.payload_as::<CommandDecision>() {
            Some(decision) => format!(
                "{} → {} ({}: {})",
                argv_line(&decision.argv),
                decision.decision.as_str(),
                decision.rule,
                decision.reason
            ),
            None => p.to_string(),
        },
        Some(AuditKind::CommandFinished) => serde_json::to_string_pretty(p).unwrap_or_default(),
        // Every other record is shown as its JSON.
        _ => p.to_string(),
    }
}

pub(crate) fn approvals(pending: &[Approval], csrf: &str, notice: Option<&str>) -> String {
    let mut html = String::from("<h1>Pending approvals</h1>");
    if let Some(notice) = notice {
        let _ = write!(
            html,
            "<p class=\"notice\" role=\"alert\">{}</p>",
            esc(notice)
        );
    }
    if pending.is_empty() {
        html.push_str("<p class=\"muted\" id=\"no-approvals\">Nothing waits for you.</p>");
    }
    for approval in pending {
        if approval.state != ApprovalState::Pending {
            continue;
        }
        let id = approval.id;
        let suggestion = approval.suggested_grant.clone().unwrap_or_else(|| {
            leash_policy::suggest_grant(
                approval.argv.first().map_or("", String::as_str),
                &approval.argv,
            )
        });
        let _ = write!(
            html,
            "<section class=\"approval\" id=\"approval-{id}\"><h2>#{id}{job}</h2>\
             <p><code class=\"argv\">{argv}</code></p>\
             <dl><dt>In</dt><dd>{cwd}</dd><dt>Why asked</dt><dd>{rule}: {reason}</dd>\
             <dt>Expires</dt><dd>{expires}</dd>{facts}</dl>{often}\
             <div class=\"buttons\">\
             <form method=\"post\" action=\"/ui/approvals/{id}/approve\">{csrf}<button class=\"approve\">Approve once</button></form>\
             <form method=\"post\" action=\"/ui/approvals/{id}/deny\" class=\"deny\">{csrf}\
             <input name=\"reason\" list=\"refusal-reasons\" maxlength=\"{max_reason}\" placeholder=\"Why not? (optional; the model is told)\" autocomplete=\"off\">\
             <button class=\"deny\">Deny</button></form>\
             </div>\
             <details><summary>Grant this shape…</summary>\
             <form method=\"post\" action=\"/ui/approvals/{id}/grant\" class=\"grant\">{csrf}\
             <label>Pattern <input name=\"pattern\" value=\"{pattern}\" autocomplete=\"off\"></label>\
             <label>For <select name=\"scope\"><option value=\"job\">this job</option>\
             <option value=\"trigger\">this trigger</option><option value=\"workspace\">this workspace</option></select></label>\
             <label>Minutes (empty: until revoked) <input name=\"minutes\" inputmode=\"numeric\"></label>\
             <button class=\"grant\">Approve and grant</button></form></details></section>",
            job = approval
                .job_id
                .map(|j| format!(" · <a href=\"/ui/jobs/{j}\">job {j}</a>"))
                .unwrap_or_default(),
            argv = esc(&argv_line(&approval.argv)),
            cwd = esc(approval.cwd.as_deref().unwrap_or("")),
            rule = esc(approval.rule.as_deref().unwrap_or("")),
            reason = esc(approval.reason.as_deref().unwrap_or("")),
            expires = esc(&approval.expires_at),
            often = approval
                .suggested_grant
                .as_ref()
                .map(|s| format!(
                    "<p class=\"notice\">You approved this shape often: a grant for <code>{}</code> would stop asking.</p>",
                    esc(s)
                ))
                .unwrap_or_default(),
            csrf = csrf_field(csrf),
            pattern = esc(&suggestion),
            facts = super::approval_facts::facts(approval),
            max_reason = leash_core::approval::MAX_REASON_CHARS,
        );
    }
    if !pending.is_empty() {
        html.push_str(&super::approval_facts::reason_choices());
    }
    html
}

pub(crate) fn grants(grants: &[Grant], csrf: &str) -> String {
    let mut html = String::from("<h1>Grants</h1>");
    if grants.is_empty() {
        html.push_str("<p class=\"muted\" id=\"no-grants\">No active grants.</p>");
    }
    html.push_str("<ul class=\"grants\">");
    for grant in grants {
        let scope = match &grant.scope {
            leash_store::GrantScope::Workspace(dir) => format!("workspace {dir}"),
            leash_store::GrantScope::Trigger(name) => format!("trigger {name}"),
            leash_store::GrantScope::Job(id) => format!("job {id}"),
        };
        let _ = write!(
            html,
            "<li id=\"grant-{id}\"><code>{pattern}</code> <span class=\"muted\">for {scope}, \
             {expires}, by {by}, used {uses}×</span>\
             <form method=\"post\" action=\"/ui/grants/{id}/revoke\" class=\"inline\">{csrf}\
             <button class=\"deny\">Revoke</button></form></li>",
            id = grant.id,
            pattern = esc(&grant.pattern),
            scope = esc(&scope),
            expires = esc(&grant
                .expires_at
                .as_ref()
                .map_or_else(|| "until revoked".to_owned(), |at| format!("until {at}"))),
            by = esc(&grant.granted_by),
            uses = grant.uses,
            csrf = csrf_field(csrf),
        );
    }
    html.push_str("</ul>");
    html
}

pub(crate) fn audit(records: &[AuditRecord], csrf: &str, verdict: Option<&str>) -> String {
    let mut html = format!(
        "<h1>Audit log</h1><form method=\"post\" action=\"/ui/audit/verify\">{}\
         <button>Verify the chain</button></form>",
        csrf_field(csrf)
    );
    if let Some(verdict) = verdict {
        let _ = write!(
            html,
            "<p class=\"notice\" id=\"verify\">{}</p>",
            esc(verdict)
        );
    }
    html.push_str("<ol class=\"story\" reversed>");
    for record in records.iter().rev() {
        let _ = write!(
            html,
            "<li><span class=\"kind\">{}</span> <span class=\"muted\">#{} {} {}</span><pre>{}</pre></li>",
            esc(&record.kind),
            record.seq,
            esc(&record.ts),
            record
                .job_id
                .map(|j| format!("job {j}"))
                .unwrap_or_default(),
            esc(&clip(&record.payload.to_string(), 600)),
        );
    }
    html.push_str("</ol>");
    html
}

pub(crate) fn login(problem: Option<&str>) -> String {
    let mut html = String::from("<h1>Log in to leash</h1>");
    if let Some(problem) = problem {
        let _ = write!(
            html,
            "<p class=\"notice\" role=\"alert\">{}</p>",
            esc(problem)
        );
    }
    html.push_str(
        "<form method=\"post\" action=\"/ui/login\"><label>API token (from the daemon's \
         api.token file) <input type=\"password\" name=\"token\" autocomplete=\"off\"></label>\
         <button>Log in</button></form><p class=\"muted\">Or run <code>leash web-login</code> \
         and open the link it prints.</p>",
    );
    html
}
