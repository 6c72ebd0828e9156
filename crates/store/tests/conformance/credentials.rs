use parley_domain::TokenHash;
use parley_store::{ChallengeKind, ChallengeRecord, PasskeyRecord};

use super::*;

fn secret(byte: u8) -> Sealed<Vec<u8>> {
    Sealed::from_bytes(vec![byte; 48])
}

#[tokio::test]
async fn totp_is_pending_then_confirmed_and_each_step_is_used_once() {
    on_both_backends("credentials_totp", |backend| async move {
        let alice = user(&backend, "alice").await;
        assert!(backend.store.put_totp(alice, &secret(1), at(1)).await.unwrap());
        assert!(backend.store.put_totp(alice, &secret(2), at(2)).await.unwrap(), "a pending enrolment may be replaced");
        assert!(!backend.store.use_totp_step(alice, 10).await.unwrap(), "not a factor before confirmation");
        let codes = [TokenHash([1; 32]), TokenHash([2; 32])];
        let enabled = notice(alice, SecurityEventKind::MfaEnabled, 3, true);
        assert!(!backend.store.confirm_totp(alice, &secret(1), 10, at(3), &codes, &enabled).await.unwrap(), "a replaced secret");
        assert!(backend.store.confirm_totp(alice, &secret(2), 10, at(3), &codes, &enabled).await.unwrap());
        assert!(!backend.store.confirm_totp(alice, &secret(2), 11, at(3), &codes, &enabled).await.unwrap(), "already confirmed");
        assert!(!backend.store.put_totp(alice, &secret(3), at(4)).await.unwrap(), "a confirmed secret is not replaced");
        let stored = backend.store.totp_of(alice).await.unwrap().unwrap();
        assert_eq!((stored.secret, stored.confirmed_at, stored.last_step), (secret(2), Some(at(3)), 10));
        assert!(!backend.store.use_totp_step(alice, 10).await.unwrap(), "the confirming code's step is used");
        assert!(backend.store.use_totp_step(alice, 11).await.unwrap());
        assert!(!backend.store.use_totp_step(alice, 11).await.unwrap(), "a replay in the same step");
        assert!(!backend.store.use_totp_step(alice, 9).await.unwrap(), "an older step");

        assert_eq!(backend.store.recovery_codes_left(alice).await.unwrap(), 2);
        assert!(backend.store.use_recovery_code(alice, &codes[0]).await.unwrap());
        assert!(!backend.store.use_recovery_code(alice, &codes[0]).await.unwrap(), "a recovery code works once");
        assert_eq!(backend.store.recovery_codes_left(alice).await.unwrap(), 1);
        backend.store.remove_totp(alice, &notice(alice, SecurityEventKind::MfaDisabled, 5, true)).await.unwrap();
        assert!(backend.store.totp_of(alice).await.unwrap().is_none());
        assert_eq!(backend.store.recovery_codes_left(alice).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn challenges_have_an_attempt_budget_and_are_taken_once() {
    on_both_backends("credentials_challenges", |backend| async move {
        let alice = user(&backend, "alice").await;
        let hash = TokenHash([5; 32]);
        let record = ChallengeRecord {
            hash: hash.clone(),
            kind: ChallengeKind::MfaLogin,
            user_id: Some(alice),
            state: Some("{\"public\":true}".into()),
            failures: 0,
            expires_at: at(1_000),
        };
        backend.store.insert_challenge(&record).await.unwrap();
        let reserve = |kind, now| backend.store.reserve_challenge_attempt(&hash, kind, 3, at(now));
        assert!(reserve(ChallengeKind::PasskeyLogin, 0).await.unwrap().is_none(), "kinds do not mix");
        assert!(reserve(ChallengeKind::MfaLogin, 1_000).await.unwrap().is_none(), "expired");
        for attempt in 1..=3 {
            let reserved = reserve(ChallengeKind::MfaLogin, 0).await.unwrap().unwrap();
            assert_eq!((reserved.failures, reserved.user_id, reserved.state.clone()), (attempt, Some(alice), record.state.clone()));
        }
        assert!(reserve(ChallengeKind::MfaLogin, 0).await.unwrap().is_none(), "the budget is spent");
        let taken = backend.store.take_challenge(&hash, ChallengeKind::MfaLogin).await.unwrap().unwrap();
        assert_eq!(taken.failures, 3);
        assert!(backend.store.take_challenge(&hash, ChallengeKind::MfaLogin).await.unwrap().is_none());

        // A new login challenge replaces the user's earlier one.
        let first = ChallengeRecord { hash: TokenHash([6; 32]), ..record.clone() };
        let second = ChallengeRecord { hash: TokenHash([7; 32]), ..record.clone() };
        backend.store.insert_challenge(&first).await.unwrap();
        backend.store.insert_challenge(&second).await.unwrap();
        assert!(backend.store.take_challenge(&first.hash, ChallengeKind::MfaLogin).await.unwrap().is_none());
        assert!(backend.store.take_challenge(&second.hash, ChallengeKind::MfaLogin).await.unwrap().is_some());

        let expiring = ChallengeRecord { hash: TokenHash([8; 32]), expires_at: at(50), user_id: None, ..record };
        backend.store.insert_challenge(&expiring).await.unwrap();
        backend.store.purge_expired_sessions(at(100), at(0)).await.unwrap();
        assert!(backend.store.take_challenge(&expiring.hash, ChallengeKind::MfaLogin).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn passkeys_belong_to_their_user() {
    on_both_backends("credentials_passkeys", |backend| async move {
        let alice = user(&backend, "alice").await;
        let mallory = user(&backend, "mallory").await;
        let key = PasskeyRecord {
            id: Uuid::now_v7(),
            user_id: alice,
            credential_id: vec![1, 2, 3],
            sealed: secret(1),
            created_at: at(1),
            last_used_at: None,
        };
        backend.store.insert_passkey(&key, &notice(alice, SecurityEventKind::PasskeyAdded, 1, true)).await.unwrap();
        assert_eq!(backend.store.passkeys_of(alice).await.unwrap(), vec![key.clone()]);
        assert_eq!(backend.store.passkey_by_credential(&[1, 2, 3]).await.unwrap(), Some(key.clone()));
        backend.store.update_passkey(key.id, &secret(2), at(9)).await.unwrap();
        let updated = backend.store.passkey_by_credential(&[1, 2, 3]).await.unwrap().unwrap();
        assert_eq!((updated.sealed, updated.last_used_at), (secret(2), Some(at(9))));
        let removed = notice(mallory, SecurityEventKind::PasskeyRemoved, 2, true);
        assert!(!backend.store.remove_passkey(mallory, key.id, &removed).await.unwrap(), "not mallory's to remove");
        assert!(backend.store.remove_passkey(alice, key.id, &notice(alice, SecurityEventKind::PasskeyRemoved, 2, true)).await.unwrap());
        assert!(backend.store.passkeys_of(alice).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn external_identities_link_once_and_token_ids_are_single_use() {
    on_both_backends("credentials_sso", |backend| async move {
        let subject = index_of("market-user-42");
        assert!(backend.store.external_identity("shop", &subject).await.unwrap().is_none());
        let user = NewUser { email: None, password_hash: None, ..new_user("shopper") };
        let created = notice(user.id, SecurityEventKind::AccountCreated, 0, false);
        backend.store.insert_external_user(&user, "shop", &subject, &created).await.unwrap();
        assert_eq!(backend.store.external_identity("shop", &subject).await.unwrap(), Some(user.id));
        assert!(backend.store.external_identity("other-shop", &subject).await.unwrap().is_none());
        let twin = NewUser { email: None, password_hash: None, ..new_user("shopper2") };
        let twin_notice = notice(twin.id, SecurityEventKind::AccountCreated, 0, false);
        assert!(backend.store.insert_external_user(&twin, "shop", &subject, &twin_notice).await.is_err(), "one account per identity");
        assert!(backend.store.user_by_id(twin.id).await.unwrap().is_none(), "the refused account is rolled back");

        let jti = TokenHash([8; 32]);
        assert!(backend.store.use_token_id("shop", &jti, at(100)).await.unwrap());
        assert!(!backend.store.use_token_id("shop", &jti, at(100)).await.unwrap(), "a replayed token id");
        assert!(backend.store.use_token_id("other-shop", &jti, at(100)).await.unwrap());
        backend.store.purge_expired_sessions(at(200), at(0)).await.unwrap();
        assert!(backend.store.use_token_id("shop", &jti, at(300)).await.unwrap(), "forgotten once expired");
    })
    .await;
}
