use parley_domain::{ConsentPurpose, ConsentSource};
use parley_store::{AcceptanceRecord, ConsentRecord};

use super::*;

fn consent(user: UserId, purpose: ConsentPurpose, granted: bool, version: u32, millis: i64) -> ConsentRecord {
    ConsentRecord { user_id: user, purpose, granted, at: at(millis), policy_version: version, source: ConsentSource::Settings }
}

#[tokio::test]
async fn policy_versions_count_up_and_sign_up_records_its_acceptance() {
    on_both_backends("consent_versions", |backend| async move {
        assert_eq!(backend.store.current_policy().await.unwrap(), None);
        assert_eq!(backend.store.current_policy_version().await.unwrap(), None);
        let first = backend.store.publish_policy("v1 text", "aa", at(1)).await.unwrap();
        let second = backend.store.publish_policy("v2 'text'; --", "bb", at(2)).await.unwrap();
        assert_eq!((first.version, second.version), (1, 2));
        assert_eq!(backend.store.current_policy().await.unwrap(), Some(second.clone()));
        assert_eq!(backend.store.current_policy_version().await.unwrap(), Some(2));
        assert_eq!(backend.store.policy(1).await.unwrap(), Some(first));
        assert_eq!(backend.store.policy(3).await.unwrap(), None);

        let alice = NewUser { accepted_policy: Some(2), ..new_user("alice") };
        backend.store.insert_user(&alice, &notice(alice.id, SecurityEventKind::AccountCreated, 0, false)).await.unwrap();
        let acceptances = backend.store.acceptances_of(alice.id).await.unwrap();
        assert_eq!(acceptances, vec![AcceptanceRecord { version: 2, accepted_at: at(0), source: ConsentSource::SignUp }]);
        // Accepting again keeps the first acceptance.
        let again = AcceptanceRecord { version: 2, accepted_at: at(50), source: ConsentSource::Settings };
        backend.store.accept_policy(alice.id, &again).await.unwrap();
        assert_eq!(backend.store.acceptances_of(alice.id).await.unwrap(), acceptances);
    })
    .await;
}

#[tokio::test]
async fn only_users_whose_latest_word_is_a_grant_under_the_current_policy_are_reached() {
    on_both_backends("consent_ledger", |backend| async move {
        backend.store.publish_policy("v1", "aa", at(0)).await.unwrap();
        let (alice, bob, carol) = (user(&backend, "alice").await, user(&backend, "bob").await, user(&backend, "carol").await);
        for person in [alice, bob, carol] {
            let accepted = AcceptanceRecord { version: 1, accepted_at: at(1), source: ConsentSource::Settings };
            backend.store.accept_policy(person, &accepted).await.unwrap();
        }
        backend.store.record_consent(&consent(alice, ConsentPurpose::Offers, true, 1, 2)).await.unwrap();
        backend.store.record_consent(&consent(bob, ConsentPurpose::Offers, true, 1, 2)).await.unwrap();
        backend.store.record_consent(&consent(bob, ConsentPurpose::Offers, false, 1, 3)).await.unwrap();
        backend.store.record_consent(&consent(carol, ConsentPurpose::ProductNews, true, 1, 2)).await.unwrap();
        let reached = backend.store.consenting_users(ConsentPurpose::Offers, 1, None, 10).await.unwrap();
        assert_eq!(reached, vec![alice], "bob withdrew, carol agreed to something else");
        assert_eq!(backend.store.consents_of(bob).await.unwrap().iter().map(|c| c.granted).collect::<Vec<_>>(), vec![true, false]);

        // A new version pauses everyone until they accept it.
        backend.store.publish_policy("v2", "bb", at(5)).await.unwrap();
        assert!(backend.store.consenting_users(ConsentPurpose::Offers, 2, None, 10).await.unwrap().is_empty());
        backend
            .store
            .accept_policy(alice, &AcceptanceRecord { version: 2, accepted_at: at(6), source: ConsentSource::Settings })
            .await
            .unwrap();
        assert_eq!(backend.store.consenting_users(ConsentPurpose::Offers, 2, None, 10).await.unwrap(), vec![alice]);
        // Paging goes on after the last id.
        assert!(backend.store.consenting_users(ConsentPurpose::Offers, 2, Some(alice), 10).await.unwrap().is_empty());

        let mut mailable = backend.store.mailable_users(None, 2).await.unwrap();
        mailable.extend(backend.store.mailable_users(mailable.last().copied(), 2).await.unwrap());
        let mut everyone = vec![alice, bob, carol];
        everyone.sort();
        assert_eq!(mailable, everyone);

        // Erasure takes the proof with the account.
        backend.store.erase_user(alice, &Handle::from_trusted("deleted-user-1".into()), at(10)).await.unwrap();
        assert!(backend.store.consents_of(alice).await.unwrap().is_empty());
        assert!(backend.store.acceptances_of(alice).await.unwrap().is_empty());
        assert!(backend.store.consenting_users(ConsentPurpose::Offers, 2, None, 10).await.unwrap().is_empty());
    })
    .await;
}
