//! `leash fleet audit`, the owning side: pages of this device's audit chain,
//! as stored (hashes included), for trusted devices to verify. The reader
//! verifies; this side only reads.

use leash_fleet::audit::{AuditAnswer, AuditQuestion, KIND, MAX_PAGE_BYTES, MAX_PAGE_RECORDS};
use leash_fleet::direct::Question;
use leash_store::AuditKind;

use crate::context::DaemonContext;
use crate::fleet_questions::Topic;

/// The audit questions' topic.
pub(crate) struct AuditPages;

impl Topic for AuditPages {
    type Question = AuditQuestion;
    type Answer = AuditAnswer;
    const KIND: &'static str = KIND;
    const REFUSED: AuditKind = AuditKind::FleetAuditRefused;

    fn refused(code: &str, reason: String) -> AuditAnswer {
        AuditAnswer::Refused {
            code: code.to_owned(),
            reason,
        }
    }

    fn answer(ctx: &DaemonContext, question: &Question<AuditQuestion>) -> AuditAnswer {
        let limit = question.body.limit.clamp(1, MAX_PAGE_RECORDS);
        let page = ctx
            .audit
            .after_limited(question.body.after, u64::from(limit))
            .and_then(|records| Ok((records, ctx.audit.head_seq()?)));
        let (records, head) = match page {
            Ok(page) => page,
            Err(err) => return Self::refused("failed", err.to_string()),
        };
        let mut bytes = 0usize;
        let mut out = Vec::new();
        for record in records {
            let value = match serde_json::to_value(&record) {
                Ok(value) => value,
                Err(err) => return Self::refused("failed", err.to_string()),
            };
            bytes += value.to_string().len();
            if !out.is_empty() && bytes > MAX_PAGE_BYTES {
                break;
            }
            out.push(value);
        }
        AuditAnswer::Page { records: out, head }
    }
}
