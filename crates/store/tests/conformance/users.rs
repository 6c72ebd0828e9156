use parley_store::{Conflict, StoreError};

use super::*;

#[tokio::test]
async fn users_are_found_by_id_handle_and_email_index() {
    on_both_backends("users_found", |backend| async move {
        let alice = new_user("Alice");
        backend.store.insert_user(&alice).await.unwrap();
        let by_id = backend.store.user_by_id(alice.id).await.unwrap().unwrap();
        assert_eq!(by_id.handle.as_str(), "Alice");
        assert_eq!(by_id.email, alice.email);
        assert_eq!(by_id.password_hash, alice.password_hash);
        let by_handle = backend.store.user_by_handle(&Handle::parse("ALICE").unwrap().key()).await.unwrap().unwrap();
        assert_eq!(by_handle.id, alice.id);
        let by_email = backend.store.user_by_email(&alice.email_index).await.unwrap().unwrap();
        assert_eq!(by_email.id, alice.id);
        assert!(backend.store.user_by_handle(&Handle::parse("bob").unwrap().key()).await.unwrap().is_none());
        assert!(backend.store.user_by_id(UserId::from_uuid(Uuid::now_v7())).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn handles_and_emails_are_unique() {
    on_both_backends("users_unique", |backend| async move {
        let alice = new_user("alice");
        backend.store.insert_user(&alice).await.unwrap();
        let same_handle = new_user("ALICE");
        assert!(matches!(backend.store.insert_user(&same_handle).await, Err(StoreError::Conflict(Conflict::HandleTaken))));
        let same_email = NewUser { email_index: alice.email_index.clone(), ..new_user("other") };
        assert!(matches!(backend.store.insert_user(&same_email).await, Err(StoreError::Conflict(Conflict::EmailTaken))));
    })
    .await;
}

#[tokio::test]
async fn sql_metacharacters_are_plain_data() {
    on_both_backends("users_sqli", |backend| async move {
        // Handles cannot hold quotes, so the values that reach SQL as text are the other ones.
        let user = NewUser { password_hash: PasswordHash("'; DROP TABLE users; --".to_owned()), ..new_user("robert") };
        backend.store.insert_user(&user).await.unwrap();
        let stored = backend.store.user_by_id(user.id).await.unwrap().unwrap();
        assert_eq!(stored.password_hash.0, "'; DROP TABLE users; --");
        assert!(backend.store.user_by_handle(&Handle::parse("robert").unwrap().key()).await.unwrap().is_some());
    })
    .await;
}
