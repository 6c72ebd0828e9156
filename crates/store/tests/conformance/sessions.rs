use parley_domain::{SessionId, TokenHash};
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
    }
}

#[tokio::test]
async fn sessions_are_found_touched_and_deleted() {
    on_both_backends("sessions", |backend| async move {
        let user = user(&backend, "alice").await;
        let record = session(user, 1);
        backend.store.insert_session(&record).await.unwrap();
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
