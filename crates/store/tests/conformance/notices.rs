use super::*;

#[tokio::test]
async fn events_are_listed_newest_first_and_purged_by_age() {
    on_both_backends("notices_events", |backend| async move {
        let alice = user(&backend, "alice").await;
        let bob = user(&backend, "bob").await;
        for millis in [10, 30, 20] {
            backend.store.record_notice(&notice(alice, SecurityEventKind::LoginSucceeded, millis, false)).await.unwrap();
        }
        backend.store.record_notice(&notice(bob, SecurityEventKind::LoginFailed, 15, false)).await.unwrap();
        let times = |events: Vec<parley_store::SecurityEventRecord>| {
            events.iter().map(|e| e.at.as_millis() - at(0).as_millis()).collect::<Vec<_>>()
        };
        let listed = times(backend.store.security_events_of(alice, 10).await.unwrap());
        assert_eq!(listed, vec![30, 20, 10, 0], "newest first, the sign-up's event last");
        assert_eq!(backend.store.security_events_of(alice, 2).await.unwrap().len(), 2);
        assert_eq!(backend.store.purge_security_events(at(20)).await.unwrap(), 4, "10 and 15, and both sign-ups at 0");
        assert_eq!(times(backend.store.security_events_of(alice, 10).await.unwrap()), vec![30, 20]);
    })
    .await;
}

#[tokio::test]
async fn mail_is_claimed_once_retried_later_and_removed_when_sent() {
    on_both_backends("notices_outbox", |backend| async move {
        let alice = user(&backend, "alice").await;
        let queued = notice(alice, SecurityEventKind::PasswordChanged, 100, true);
        backend.store.record_notice(&queued).await.unwrap();
        let mail_id = queued.mail.as_ref().unwrap().id;
        assert!(backend.store.claim_due_mail(at(99), at(1_000), 10).await.unwrap().is_empty(), "not due yet");
        let claimed = backend.store.claim_due_mail(at(100), at(1_000), 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!((claimed[0].id, claimed[0].attempts), (mail_id, 1));
        assert_eq!(claimed[0].payload, queued.mail.as_ref().unwrap().payload);
        assert!(backend.store.claim_due_mail(at(500), at(1_000), 10).await.unwrap().is_empty(), "leased to the first worker");
        backend.store.retry_mail_at(mail_id, 1, at(2_000)).await.unwrap();
        assert!(backend.store.claim_due_mail(at(1_500), at(3_000), 10).await.unwrap().is_empty());
        let again = backend.store.claim_due_mail(at(2_000), at(3_000), 10).await.unwrap();
        assert_eq!(again[0].attempts, 2);
        // A worker whose claim was superseded changes nothing.
        backend.store.retry_mail_at(mail_id, 1, at(90_000)).await.unwrap();
        backend.store.remove_mail(mail_id, 1).await.unwrap();
        assert_eq!(backend.store.claim_due_mail(at(3_000), at(4_000), 10).await.unwrap().len(), 1, "still there, due at its lease end");
        backend.store.remove_mail(mail_id, 3).await.unwrap();
        assert!(backend.store.claim_due_mail(at(10_000), at(20_000), 10).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn racing_workers_never_take_the_same_mail() {
    on_both_backends("notices_race", |backend| async move {
        let alice = user(&backend, "alice").await;
        for millis in 0..20 {
            backend.store.record_notice(&notice(alice, SecurityEventKind::PasskeyAdded, millis, true)).await.unwrap();
        }
        let store = &backend.store;
        // A worker that loses a race for a row skips it (it may come back with fewer than it
        // asked for); rounds of racing workers must hand out every mail exactly once.
        let claim = || store.claim_due_mail(at(100), at(10_000), 3);
        let mut ids: Vec<Uuid> = Vec::new();
        for _ in 0..20 {
            let (a, b, c, d) = tokio::join!(claim(), claim(), claim(), claim());
            ids.extend([a, b, c, d].into_iter().flat_map(Result::unwrap).map(|m| m.id));
        }
        let claimed = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), claimed, "a mail was claimed twice");
        assert_eq!(claimed, 20, "every mail was claimed");
    })
    .await;
}
