use parley_store::{Conflict, StoreError};

use super::*;

#[tokio::test]
async fn users_are_found_by_id_handle_and_email_index() {
    on_both_backends("users_found", |backend| async move {
        let alice = new_user("Alice");
        backend.store.insert_user(&alice, &created(&alice)).await.unwrap();
        let by_id = backend.store.user_by_id(alice.id).await.unwrap().unwrap();
        assert_eq!(by_id.handle.as_str(), "Alice");
        assert_eq!(by_id.email.as_ref(), alice.email.as_ref().map(|(sealed, _)| sealed));
        assert_eq!(by_id.password_hash, alice.password_hash);
        let by_handle = backend.store.user_by_handle(&Handle::parse("ALICE").unwrap().key()).await.unwrap().unwrap();
        assert_eq!(by_handle.id, alice.id);
        let by_email = backend.store.user_by_email(&alice.email.as_ref().unwrap().1).await.unwrap().unwrap();
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
        backend.store.insert_user(&alice, &created(&alice)).await.unwrap();
        let same_handle = new_user("ALICE");
        assert!(matches!(
            backend.store.insert_user(&same_handle, &created(&same_handle)).await,
            Err(StoreError::Conflict(Conflict::HandleTaken))
        ));
        let other = new_user("other");
        let same_email = NewUser { email: Some((other.email.clone().unwrap().0, alice.email.clone().unwrap().1)), ..other };
        assert!(matches!(
            backend.store.insert_user(&same_email, &created(&same_email)).await,
            Err(StoreError::Conflict(Conflict::EmailTaken))
        ));
    })
    .await;
}

#[tokio::test]
async fn sql_metacharacters_are_plain_data() {
    on_both_backends("users_sqli", |backend| async move {
        // Handles cannot hold quotes, so the values that reach SQL as text are the other ones.
        let user = NewUser { password_hash: Some(PasswordHash("'; DROP TABLE users; --".to_owned())), ..new_user("robert") };
        backend.store.insert_user(&user, &created(&user)).await.unwrap();
        let stored = backend.store.user_by_id(user.id).await.unwrap().unwrap();
        assert_eq!(stored.password_hash.unwrap().0, "'; DROP TABLE users; --");
        assert!(backend.store.user_by_handle(&Handle::parse("robert").unwrap().key()).await.unwrap().is_some());
    })
    .await;
}

fn created(user: &NewUser) -> parley_store::SecurityNotice {
    notice(user.id, SecurityEventKind::AccountCreated, 0, true)
}

#[tokio::test]
async fn a_refused_insert_leaves_no_event_or_mail_behind() {
    on_both_backends("users_atomic", |backend| async move {
        let alice = new_user("carol");
        backend.store.insert_user(&alice, &created(&alice)).await.unwrap();
        let twin = new_user("CAROL");
        let refused = notice(alice.id, SecurityEventKind::AccountCreated, 5, true);
        assert!(backend.store.insert_user(&twin, &refused).await.is_err());
        let events = backend.store.security_events_of(alice.id, 10).await.unwrap();
        assert_eq!(events.len(), 1, "only the committed sign-up's event");
        let mail = backend.store.claim_due_mail(at(10), at(20), 10).await.unwrap();
        assert_eq!(mail.len(), 1, "only the committed sign-up's mail");
    })
    .await;
}

#[tokio::test]
async fn accounts_without_email_or_password_are_allowed() {
    on_both_backends("users_sso", |backend| async move {
        let sso = NewUser { email: None, password_hash: None, ..new_user("market_user") };
        backend.store.insert_user(&sso, &created(&sso)).await.unwrap();
        let stored = backend.store.user_by_id(sso.id).await.unwrap().unwrap();
        assert!(stored.email.is_none() && stored.password_hash.is_none());
        // Two accounts without email do not collide on the email index.
        let other = NewUser { email: None, password_hash: None, ..new_user("market_user2") };
        backend.store.insert_user(&other, &created(&other)).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn login_failures_count_lock_and_reset() {
    on_both_backends("users_failures", |backend| async move {
        let id = user(&backend, "dave").await;
        for expected in 1..=3 {
            let count = backend.store.count_login_failure(id, at(0), &notice(id, SecurityEventKind::LoginFailed, 1, false)).await.unwrap();
            assert_eq!(count, expected);
        }
        backend.store.lock_account(id, at(99_000), Some(&notice(id, SecurityEventKind::AccountLocked, 2, true))).await.unwrap();
        let locked = backend.store.user_by_id(id).await.unwrap().unwrap();
        assert_eq!((locked.failed_logins, locked.locked_until), (3, Some(at(99_000))));
        let failed = notice(id, SecurityEventKind::LoginFailed, 3, false);
        assert_eq!(backend.store.count_login_failure(id, at(99_000), &failed).await.unwrap(), 4, "the lock is not over yet");
        let failed = notice(id, SecurityEventKind::LoginFailed, 4, false);
        assert_eq!(backend.store.count_login_failure(id, at(99_001), &failed).await.unwrap(), 1, "a long-past lock is forgiven");
        assert_eq!(backend.store.user_by_id(id).await.unwrap().unwrap().locked_until, None, "and so is the lock");
        let failed = notice(id, SecurityEventKind::LoginFailed, 5, false);
        assert_eq!(backend.store.count_login_failure(id, at(99_001), &failed).await.unwrap(), 2, "counting goes on from there");
        backend.store.reset_login_failures(id).await.unwrap();
        let reset = backend.store.user_by_id(id).await.unwrap().unwrap();
        assert_eq!((reset.failed_logins, reset.locked_until), (0, None));
        assert_eq!(backend.store.security_events_of(id, 10).await.unwrap().len(), 8);
    })
    .await;
}

#[tokio::test]
async fn devices_are_new_once() {
    on_both_backends("users_devices", |backend| async move {
        let id = user(&backend, "erin").await;
        let device = index_of("laptop");
        assert!(!backend.store.is_known_device(id, &device, at(0)).await.unwrap());
        assert!(backend.store.remember_device(id, &device, at(1), None).await.unwrap());
        assert!(!backend.store.remember_device(id, &device, at(2), None).await.unwrap());
        assert!(backend.store.is_known_device(id, &device, at(2)).await.unwrap());
        assert!(!backend.store.is_known_device(id, &device, at(3)).await.unwrap(), "not seen since");
    })
    .await;
}

#[tokio::test]
async fn a_device_passes_a_lock_a_few_times_between_logins() {
    on_both_backends("users_device_passes", |backend| async move {
        let id = user(&backend, "faye").await;
        let device = index_of("phone");
        assert!(!backend.store.reserve_device_pass(id, &device, at(0), 3).await.unwrap(), "an unknown device has no pass");
        backend.store.remember_device(id, &device, at(1), None).await.unwrap();
        assert!(!backend.store.reserve_device_pass(id, &device, at(2), 3).await.unwrap(), "not seen recently enough");
        for _ in 0..3 {
            assert!(backend.store.reserve_device_pass(id, &device, at(1), 3).await.unwrap());
        }
        assert!(!backend.store.reserve_device_pass(id, &device, at(1), 3).await.unwrap(), "the budget is spent");
        // A successful login from the device gives it back.
        backend.store.remember_device(id, &device, at(2), None).await.unwrap();
        assert!(backend.store.reserve_device_pass(id, &device, at(1), 3).await.unwrap());
        // Another user's device of the same fingerprint is not this one.
        let other = user(&backend, "gus").await;
        assert!(!backend.store.reserve_device_pass(other, &device, at(0), 3).await.unwrap());
    })
    .await;
}
