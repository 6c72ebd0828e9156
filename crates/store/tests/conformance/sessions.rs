use parley_domain::{SessionId, SessionKind, TokenHash};
use parley_store::{SessionRecord, StreamTicket};

use super::*;

fn session(user: UserId, token: u8) -> SessionRecord {
    SessionRecord {
        id: SessionId::from_uuid(Uuid::now_v7()),
        user_id: user,
        token_hash: TokenHash([token; 32]),
        created_at: at(0),
        last_seen_at: at(0),
        expires_at: at(3_600_000),
        kind: SessionKind::Bearer,
        device: Some(Sealed::from_bytes(vec![token; 30])),
    }
}

#[tokio::test]
async fn sessions_are_found_touched_and_deleted() {
    on_both_backends("sessions", |backend| async move {
        let user = user(&backend, "alice").await;
        let record = session(user, 1);
        assert!(backend.store.insert_session(&record).await.unwrap());
        assert_eq!(backend.store.session_by_token(&TokenHash([1; 32])).await.unwrap(), Some(record.clone()));
        assert_eq!(backend.store.session_by_id(record.id).await.unwrap(), Some(record.clone()));
        assert!(backend.store.session_by_token(&TokenHash([2; 32])).await.unwrap().is_none());

        backend.store.touch_session(record.id, at(5_000)).await.unwrap();
        backend.store.touch_session(record.id, at(1_000)).await.unwrap();
        let touched = backend.store.session_by_id(record.id).await.unwrap().unwrap();
        assert_eq!(touched.last_seen_at, at(5_000), "last seen never moves backwards");

        assert!(backend.store.delete_session(record.id).await.unwrap());
        assert!(!backend.store.delete_session(record.id).await.unwrap());
        assert!(backend.store.session_by_token(&TokenHash([1; 32])).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn an_erased_user_gets_no_new_session() {
    on_both_backends("sessions_erased", |backend| async move {
        let user = user(&backend, "gone").await;
        backend.store.erase_user(user, &Handle::from_trusted("deleted-user-g".into()), at(1)).await.unwrap();
        assert!(!backend.store.insert_session(&session(user, 3)).await.unwrap());
        assert!(backend.store.session_by_token(&TokenHash([3; 32])).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn a_login_racing_an_erasure_leaves_no_session_behind() {
    on_both_backends("sessions_erase_race", |backend| async move {
        for round in 10..20u8 {
            let user = user(&backend, &format!("racer{round}")).await;
            let record = session(user, round);
            let tombstone = Handle::from_trusted(format!("deleted-user-r{round}"));
            let (inserted, ended) = tokio::join!(backend.store.insert_session(&record), backend.store.erase_user(user, &tombstone, at(1)));
            // Either the erasure went first and no session was made, or the session was made
            // first and the erasure ended it.
            assert_eq!(inserted.unwrap(), ended.unwrap().contains(&record.id));
            assert!(backend.store.session_by_token(&record.token_hash).await.unwrap().is_none());
        }
    })
    .await;
}

#[tokio::test]
async fn stream_tickets_are_taken_once_and_die_with_their_session() {
    on_both_backends("tickets", |backend| async move {
        let user = user(&backend, "alice").await;
        let record = session(user, 1);
        backend.store.insert_session(&record).await.unwrap();
        let ticket = StreamTicket { hash: TokenHash([9; 32]), session_id: record.id, expires_at: at(30_000) };
        backend.store.insert_stream_ticket(&ticket).await.unwrap();
        assert_eq!(backend.store.take_stream_ticket(&ticket.hash).await.unwrap(), Some(ticket.clone()));
        assert_eq!(backend.store.take_stream_ticket(&ticket.hash).await.unwrap(), None);

        let second = StreamTicket { hash: TokenHash([8; 32]), ..ticket };
        backend.store.insert_stream_ticket(&second).await.unwrap();
        backend.store.delete_session(record.id).await.unwrap();
        assert_eq!(backend.store.take_stream_ticket(&second.hash).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn purging_removes_only_ended_sessions_and_stale_tickets() {
    on_both_backends("purge", |backend| async move {
        let user = user(&backend, "purger").await;
        let live = SessionRecord { last_seen_at: at(10_000), ..session(user, 1) };
        let idle = SessionRecord { last_seen_at: at(0), ..session(user, 2) };
        let expired = SessionRecord { last_seen_at: at(10_000), expires_at: at(9_000), ..session(user, 3) };
        for record in [&live, &idle, &expired] {
            backend.store.insert_session(record).await.unwrap();
        }
        let fresh = StreamTicket { hash: TokenHash([7; 32]), session_id: live.id, expires_at: at(20_000) };
        let stale = StreamTicket { hash: TokenHash([6; 32]), session_id: live.id, expires_at: at(9_500) };
        backend.store.insert_stream_ticket(&fresh).await.unwrap();
        backend.store.insert_stream_ticket(&stale).await.unwrap();

        let purged = backend.store.purge_expired_sessions(at(9_999), at(5_000)).await.unwrap();
        assert_eq!(purged, 2);
        assert!(backend.store.session_by_id(live.id).await.unwrap().is_some());
        assert!(backend.store.session_by_id(idle.id).await.unwrap().is_none());
        assert!(backend.store.session_by_id(expired.id).await.unwrap().is_none());
        assert_eq!(backend.store.take_stream_ticket(&stale.hash).await.unwrap(), None);
        assert_eq!(backend.store.take_stream_ticket(&fresh.hash).await.unwrap(), Some(fresh));
    })
    .await;
}

#[tokio::test]
async fn users_list_and_revoke_only_their_own_sessions() {
    on_both_backends("sessions_revoke", |backend| async move {
        let alice = user(&backend, "alice").await;
        let mallory = user(&backend, "mallory").await;
        let (a1, a2, a3) = (session(alice, 1), session(alice, 2), session(alice, 3));
        let m1 = session(mallory, 4);
        for record in [&a1, &a2, &a3, &m1] {
            backend.store.insert_session(record).await.unwrap();
        }
        assert_eq!(backend.store.sessions_of(alice).await.unwrap().len(), 3);
        let revoked = notice(alice, SecurityEventKind::SessionRevoked, 1, false);
        assert!(!backend.store.revoke_session(alice, m1.id, &revoked).await.unwrap(), "another user's session is not mine to end");
        assert!(backend.store.session_by_id(m1.id).await.unwrap().is_some());
        assert!(backend.store.revoke_session(alice, a2.id, &revoked).await.unwrap());
        let ended =
            backend.store.revoke_other_sessions(alice, a1.id, &notice(alice, SecurityEventKind::SessionRevoked, 2, false)).await.unwrap();
        assert_eq!(ended, vec![a3.id]);
        let left: Vec<SessionId> = backend.store.sessions_of(alice).await.unwrap().iter().map(|s| s.id).collect();
        assert_eq!(left, vec![a1.id]);
        assert_eq!(backend.store.sessions_of(mallory).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_atomically() {
    on_both_backends("sessions_password", |backend| async move {
        let alice = user(&backend, "alice").await;
        let (keep, other) = (session(alice, 1), session(alice, 2));
        backend.store.insert_session(&keep).await.unwrap();
        backend.store.insert_session(&other).await.unwrap();
        let hash = parley_domain::PasswordHash("$argon2id$new".into());
        let ended = backend
            .store
            .change_password(alice, &hash, keep.id, &notice(alice, SecurityEventKind::PasswordChanged, 1, true))
            .await
            .unwrap();
        assert_eq!(ended, vec![other.id]);
        assert_eq!(backend.store.user_by_id(alice).await.unwrap().unwrap().password_hash, Some(hash));
        assert!(backend.store.session_by_id(keep.id).await.unwrap().is_some());
        assert_eq!(backend.store.claim_due_mail(at(5), at(10), 10).await.unwrap().len(), 1);
    })
    .await;
}
