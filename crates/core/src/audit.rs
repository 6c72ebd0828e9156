//! The audit log: what operators, jobs and users did to data (erasures, exports by an
//! operator, retention runs, policy publications, broadcasts), appended to a hash chain whose
//! links are keyed MACs. Entries hold pseudonymous ids and counts, never content or personal
//! fields: an erased user stays in it only as an id. `parley audit verify` walks the chain.
//!
//! Editing, removing or reordering entries breaks the chain, and nobody without the key store
//! can make a new one. The newest entry (the head) is kept in the data database, so someone who
//! can write it could cut the tail and move the head back: each append therefore also moves a
//! checkpoint in the key store (verification refuses a head behind it, or an entry there with
//! another hash), logs the head and sets the `parley_audit_entries` gauge.

use parley_domain::UserId;
use parley_store::{AuditEntry, AuditRecord};
use serde_json::Value;

use crate::Parley;
use crate::error::CoreError;

/// How many entries one page of a listing or a verification reads.
const AUDIT_PAGE: u32 = 500;

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A background job of the server.
    System,
    /// An operator, through the `parley` command.
    Operator,
    /// A user, for themselves.
    User(UserId),
}

impl Actor {
    fn label(self) -> String {
        match self {
            Self::System => "system".into(),
            Self::Operator => "operator".into(),
            Self::User(id) => format!("user:{id}"),
        }
    }
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    /// Every entry is in place, unaltered, and the newest is the head.
    Intact {
        /// How many entries were checked.
        entries: u64,
    },
    /// The chain breaks at this entry (altered, missing, out of order), or the tail was cut.
    Broken {
        /// The first entry that does not verify (or the head's number, for a cut tail).
        at_seq: u64,
    },
}

impl Parley {
    /// Appends an entry. Auditing must not be skipped silently: a failure is the caller's error.
    pub(crate) async fn audit(&self, actor: Actor, action: &str, subject: &str, details: &Value) -> Result<(), CoreError> {
        let entry = AuditEntry {
            at: self.clock.now(),
            actor: actor.label(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            details: details.to_string(),
        };
        let record = self.store.append_audit(&entry, &|seq, previous, entry| self.keys.audit_mac(seq, previous, entry)).await?;
        self.keys.advance_audit_checkpoint(record.seq, &record.hash).await?;
        // The head also leaves the data database (the key store's checkpoint, logs, metrics):
        // someone who can rewrite that database could cut the log's tail and its head
        // together, but not these copies.
        let head = base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, record.hash);
        tracing::info!(seq = record.seq, head, action, "audited");
        #[allow(clippy::cast_precision_loss, reason = "a gauge is a float; entry counts stay far below 2^52")]
        metrics::gauge!("parley_audit_entries").set(record.seq as f64);
        Ok(())
    }

    /// Up to `limit` entries after number `after`, oldest first.
    pub async fn audit_entries(&self, after: u64, limit: u32) -> Result<Vec<AuditRecord>, CoreError> {
        Ok(self.store.audit_entries(after, limit.clamp(1, AUDIT_PAGE)).await?)
    }

    /// Walks the whole chain: every entry's MAC must follow from the one before, numbers must
    /// run without gaps, and the last entry must be the head.
    pub async fn verify_audit_log(&self) -> Result<AuditVerdict, CoreError> {
        // The checkpoint first: it only moves after an entry committed, so the head read next is
        // at least as far.
        let checkpoint = self.keys.audit_checkpoint().await?;
        let (head_seq, head_hash) = self.store.audit_head().await?;
        if let Some((checkpoint_seq, _)) = checkpoint.filter(|(seq, _)| *seq > head_seq) {
            // The head was moved back past what the server last wrote: entries were cut.
            return Ok(AuditVerdict::Broken { at_seq: head_seq.min(checkpoint_seq) + 1 });
        }
        let (mut seq, mut previous) = (0u64, [0u8; 32]);
        // Entries appended after the head was read are the next verification's.
        while seq < head_seq {
            let page = self.store.audit_entries(seq, AUDIT_PAGE).await?;
            let before = seq;
            for record in page.into_iter().take_while(|record| record.seq <= head_seq) {
                let off_checkpoint = checkpoint.is_some_and(|(at, hash)| at == record.seq && hash != record.hash);
                if record.seq != seq + 1 || record.hash != self.keys.audit_mac(record.seq, &previous, &record.entry) || off_checkpoint {
                    return Ok(AuditVerdict::Broken { at_seq: seq + 1 });
                }
                (seq, previous) = (record.seq, record.hash);
            }
            if seq == before {
                break;
            }
        }
        if (seq, previous) == (head_seq, head_hash) {
            return Ok(AuditVerdict::Intact { entries: seq });
        }
        // Entries missing at the end, or entries the head does not know of.
        Ok(AuditVerdict::Broken { at_seq: if seq == head_seq { seq } else { seq.min(head_seq) + 1 } })
    }
}
