//! Retention: a conversation idle for longer than its retention (the deployment's default, or
//! a shorter one either party asked for) is destroyed by a background job, keys first, then
//! rows; security events go after their own retention. `parley retention run` does the same
//! on demand.

use parley_domain::ValidationError;

use serde_json::json;

use crate::Parley;
use crate::audit::Actor;
use crate::conversations::Participant;
use crate::error::CoreError;

/// The longest retention a party may ask for, in days (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;
/// Conversations destroyed per batch.
const BATCH: u32 = 200;

/// What a retention run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionReport {
    /// Conversations destroyed.
    pub conversations_destroyed: u64,
    /// Security events deleted.
    pub security_events_deleted: u64,
}

impl Parley {
    /// Destroys every conversation whose retention ran out, and expired security events. A run
    /// that destroyed anything is audited (as `actor`'s); every run is counted in the metrics.
    pub async fn run_retention(&self, actor: Actor) -> Result<RetentionReport, CoreError> {
        let mut report = RetentionReport::default();
        loop {
            let expired = self.store.close_expired_conversations(self.clock.now(), self.settings.message_retention_days, BATCH).await?;
            if expired.is_empty() {
                break;
            }
            for (conversation, parties) in expired {
                self.destroy_conversation(conversation, parties).await?;
                report.conversations_destroyed += 1;
            }
        }
        report.security_events_deleted = self.purge_security_events().await?;
        metrics::counter!("parley_retention_runs_total").increment(1);
        metrics::counter!("parley_retention_conversations_destroyed_total").increment(report.conversations_destroyed);
        metrics::counter!("parley_retention_security_events_deleted_total").increment(report.security_events_deleted);
        if report != RetentionReport::default() {
            tracing::info!(conversations = report.conversations_destroyed, "retention destroyed expired data");
            let details = json!({
                "conversations_destroyed": report.conversations_destroyed,
                "security_events_deleted": report.security_events_deleted,
                "default_days": self.settings.message_retention_days,
            });
            self.audit(actor, "retention.run", "", &details).await?;
        }
        Ok(report)
    }

    /// The conversation's own retention and the deployment default, in days.
    pub async fn retention(&self, participant: &Participant) -> Result<(Option<u32>, u32), CoreError> {
        Ok((self.store.conversation_retention(participant.conversation_id()).await?, self.settings.message_retention_days))
    }

    /// Asks for the conversation to be destroyed `days` after its last activity. Either party
    /// may shorten it; nobody may lengthen what one of them asked for.
    pub async fn set_retention(&self, participant: &Participant, days: u32) -> Result<(), CoreError> {
        if !(1..=MAX_RETENTION_DAYS).contains(&days) {
            return Err(ValidationError::new("days", "out_of_range").into());
        }
        let in_force = self.store.shorten_conversation_retention(participant.conversation_id(), days).await?;
        if in_force.is_some_and(|current| current < days) {
            return Err(CoreError::RetentionOnlyShorter);
        }
        Ok(())
    }
}
