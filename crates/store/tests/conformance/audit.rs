use parley_store::AuditEntry;

use super::*;

/// A stand-in for the core's keyed chain: enough to see the store links each entry to the
/// newest one before it.
fn chain(seq: u64, previous: &[u8; 32], entry: &AuditEntry) -> [u8; 32] {
    let mut hash = *previous;
    hash[0] = hash[0].wrapping_add(1);
    hash[1..9].copy_from_slice(&seq.to_be_bytes());
    hash[9] = u8::try_from(entry.action.len()).unwrap();
    hash
}

fn entry(action: &str) -> AuditEntry {
    AuditEntry { at: at(1), actor: "system".into(), action: action.into(), subject: String::new(), details: "{\"n\":1}".into() }
}

#[tokio::test]
async fn concurrent_appends_are_numbered_without_gaps_and_chained_in_order() {
    on_both_backends("audit_chain", |backend| async move {
        assert_eq!(backend.store.audit_head().await.unwrap(), (0, [0; 32]));
        let appends = (0..12).map(|i| {
            let store = Arc::clone(&backend.store);
            tokio::spawn(async move { store.append_audit(&entry(&"x".repeat(i + 1)), &chain).await.unwrap() })
        });
        for append in appends {
            append.await.unwrap();
        }
        let entries = backend.store.audit_entries(0, 100).await.unwrap();
        assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=12).collect::<Vec<_>>());
        let mut previous = [0; 32];
        for record in &entries {
            assert_eq!(record.hash, chain(record.seq, &previous, &record.entry), "entry {} links to the one before", record.seq);
            previous = record.hash;
        }
        assert_eq!(backend.store.audit_head().await.unwrap(), (12, previous));
        assert_eq!(backend.store.audit_entries(10, 100).await.unwrap().len(), 2);
        assert_eq!(backend.store.audit_entries(0, 3).await.unwrap().len(), 3);
    })
    .await;
}
