use parley_domain::{KeyScope, WrappedKey};

use super::*;

fn wrapped(byte: u8) -> WrappedKey {
    WrappedKey { kek_id: "kek1".to_owned(), bytes: vec![byte; 61] }
}

#[tokio::test]
async fn the_first_key_filed_wins_and_destroying_it_is_final() {
    on_both_backends("keys", |backend| async move {
        let scope = KeyScope::UserProfile(UserId::from_uuid(Uuid::now_v7()));
        assert_eq!(backend.keys.wrapped_key(&scope).await.unwrap(), None);
        assert_eq!(backend.keys.insert_key_if_absent(&scope, &wrapped(1), at(0)).await.unwrap(), wrapped(1));
        assert_eq!(backend.keys.insert_key_if_absent(&scope, &wrapped(2), at(1)).await.unwrap(), wrapped(1));
        assert_eq!(backend.keys.wrapped_key(&scope).await.unwrap(), Some(wrapped(1)));
        assert!(backend.keys.destroy_key(&scope).await.unwrap());
        assert!(!backend.keys.destroy_key(&scope).await.unwrap());
        assert_eq!(backend.keys.wrapped_key(&scope).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn racing_creators_agree_on_one_key() {
    on_both_backends("keys_race", |backend| async move {
        let scope = KeyScope::MessageAuthor {
            conversation: ConversationId::from_uuid(Uuid::now_v7()),
            author: UserId::from_uuid(Uuid::now_v7()),
            generation: 0,
        };
        let mut tasks = Vec::new();
        for n in 0..16u8 {
            let keys = Arc::clone(&backend.keys);
            tasks.push(tokio::spawn(async move { keys.insert_key_if_absent(&scope, &wrapped(n), at(0)).await.unwrap() }));
        }
        let mut filed = Vec::new();
        for task in tasks {
            filed.push(task.await.unwrap());
        }
        assert!(filed.iter().all(|k| *k == filed[0]));
    })
    .await;
}

#[tokio::test]
async fn the_audit_checkpoint_only_moves_forward() {
    on_both_backends("keys_checkpoint", |backend| async move {
        assert_eq!(backend.keys.audit_checkpoint().await.unwrap(), None);
        backend.keys.advance_audit_checkpoint(2, &[2; 32]).await.unwrap();
        backend.keys.advance_audit_checkpoint(5, &[5; 32]).await.unwrap();
        backend.keys.advance_audit_checkpoint(4, &[4; 32]).await.unwrap();
        assert_eq!(backend.keys.audit_checkpoint().await.unwrap(), Some((5, [5; 32])), "a late writer does not move it back");
    })
    .await;
}
