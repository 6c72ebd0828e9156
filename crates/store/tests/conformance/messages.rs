use parley_domain::page::{MessageWindow, PageLimit};
use parley_domain::{ClientMsgId, MessageId};
use parley_store::{Inserted, KeyRotation, NewMessage, StoreError};

use super::*;

fn message(conversation: ConversationId, author: UserId, client_id: &str, at_millis: i64) -> NewMessage {
    NewMessage {
        id: MessageId::from_uuid(Uuid::now_v7()),
        conversation_id: conversation,
        author,
        client_msg_id: ClientMsgId::parse(client_id).unwrap(),
        body: Sealed::from_bytes(client_id.as_bytes().to_vec()),
        created_at: at(at_millis),
        key_generation: 0,
    }
}

async fn deal(backend: &Backend) -> (ConversationId, UserId, UserId) {
    let buyer = user(backend, "buyer").await;
    let seller = user(backend, "seller").await;
    let record = backend.store.insert_conversation(&conversation(buyer, seller, Some("l1"), 0)).await.unwrap().into_inner();
    (record.conversation.id, buyer, seller)
}

#[tokio::test]
async fn appends_number_messages_and_retries_return_the_original() {
    on_both_backends("msg_append", |backend| async move {
        let (conversation_id, buyer, seller) = deal(&backend).await;
        let first = backend.store.append_message(&message(conversation_id, buyer, "c1", 10)).await.unwrap();
        let Inserted::New(first) = first else { panic!("new") };
        assert_eq!(first.seq.value(), 1);
        let second = backend.store.append_message(&message(conversation_id, seller, "c1", 20)).await.unwrap().into_inner();
        assert_eq!(second.seq.value(), 2, "client ids are per author");
        let retry = backend.store.append_message(&message(conversation_id, buyer, "c1", 30)).await.unwrap();
        assert_eq!(retry, Inserted::Existing(first.clone()));
        let third = backend.store.append_message(&message(conversation_id, buyer, "c2", 40)).await.unwrap().into_inner();
        assert_eq!(third.seq.value(), 3, "a retry consumes no sequence number");
        let stored = backend.store.conversation(conversation_id).await.unwrap().unwrap().conversation;
        assert_eq!(stored.last_seq.value(), 3);
        assert_eq!(stored.last_activity_at, at(40));
        let found = backend.store.message_by_client_msg_id(conversation_id, buyer, &ClientMsgId::parse("c2").unwrap()).await.unwrap();
        assert_eq!(found, Some(third));
    })
    .await;
}

#[tokio::test]
async fn concurrent_sends_and_retries_stay_gap_free_and_unique() {
    on_both_backends("msg_concurrent", |backend| async move {
        let (conversation_id, buyer, seller) = deal(&backend).await;
        let mut tasks = Vec::new();
        for n in 0..30 {
            let store = Arc::clone(&backend.store);
            let author = if n % 2 == 0 { buyer } else { seller };
            // Every message is sent three times at once, as a flaky client would.
            for _ in 0..3 {
                let store = Arc::clone(&store);
                let new = message(conversation_id, author, &format!("m{n}"), n);
                tasks.push(tokio::spawn(async move { store.append_message(&new).await.unwrap().into_inner() }));
            }
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        for triple in results.chunks(3) {
            assert!(triple.iter().all(|r| r.id == triple[0].id && r.seq == triple[0].seq), "retries agree");
        }
        let page = backend.store.messages(conversation_id, MessageWindow::Latest, PageLimit::parse(Some(100)).unwrap()).await.unwrap();
        let seqs: Vec<i64> = page.iter().map(|m| m.seq.value()).collect();
        assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
    })
    .await;
}

#[tokio::test]
async fn windows_page_backwards_and_forwards() {
    on_both_backends("msg_windows", |backend| async move {
        let (conversation_id, buyer, _) = deal(&backend).await;
        for n in 1..=10 {
            backend.store.append_message(&message(conversation_id, buyer, &format!("m{n}"), n)).await.unwrap();
        }
        let seqs = |records: Vec<parley_store::MessageRecord>| records.iter().map(|m| m.seq.value()).collect::<Vec<_>>();
        let limit = PageLimit::parse(Some(4)).unwrap();
        let latest = backend.store.messages(conversation_id, MessageWindow::Latest, limit).await.unwrap();
        assert_eq!(seqs(latest), vec![7, 8, 9, 10]);
        let before = backend.store.messages(conversation_id, MessageWindow::Before(Seq::new(7).unwrap()), limit).await.unwrap();
        assert_eq!(seqs(before), vec![3, 4, 5, 6]);
        let after = backend.store.messages(conversation_id, MessageWindow::After(Seq::new(2).unwrap()), limit).await.unwrap();
        assert_eq!(seqs(after), vec![3, 4, 5, 6]);
        let between = MessageWindow::Between { after: Seq::new(2).unwrap(), before: Seq::new(5).unwrap() };
        assert_eq!(seqs(backend.store.messages(conversation_id, between, limit).await.unwrap()), vec![3, 4]);
        let none = backend.store.messages(conversation_id, MessageWindow::After(Seq::new(10).unwrap()), limit).await.unwrap();
        assert!(none.is_empty());
        let other = backend.store.messages(ConversationId::from_uuid(Uuid::now_v7()), MessageWindow::Latest, limit).await.unwrap();
        assert!(other.is_empty());
    })
    .await;
}

#[tokio::test]
async fn appending_to_a_missing_conversation_fails_cleanly() {
    on_both_backends("msg_missing", |backend| async move {
        let author = user(&backend, "lonely").await;
        let result = backend.store.append_message(&message(ConversationId::from_uuid(Uuid::now_v7()), author, "c1", 0)).await;
        assert!(matches!(result, Err(StoreError::NotFound("conversation"))), "{result:?}");
    })
    .await;
}

#[tokio::test]
async fn a_conversation_every_party_deleted_takes_no_more_messages() {
    on_both_backends("msg_closing", |backend| async move {
        let (conversation_id, buyer, seller) = deal(&backend).await;
        backend.store.append_message(&message(conversation_id, buyer, "c1", 10)).await.unwrap();
        assert_eq!(backend.store.delete_conversation_for(buyer, conversation_id, at(20)).await.unwrap(), 1);
        backend.store.append_message(&message(conversation_id, seller, "c2", 30)).await.unwrap();
        // The buyer's deletion no longer covers everything: the seller's alone does not close it.
        assert_eq!(backend.store.delete_conversation_for(seller, conversation_id, at(40)).await.unwrap(), 1);
        backend.store.append_message(&message(conversation_id, seller, "c3", 45)).await.unwrap();
        assert_eq!(backend.store.delete_conversation_for(buyer, conversation_id, at(50)).await.unwrap(), 1);
        assert_eq!(backend.store.delete_conversation_for(seller, conversation_id, at(60)).await.unwrap(), 2);
        let late = backend.store.append_message(&message(conversation_id, buyer, "c4", 70)).await;
        assert!(matches!(late, Err(StoreError::NotFound("conversation"))), "closing: {late:?}");
    })
    .await;
}

#[tokio::test]
async fn retention_closes_only_what_is_still_expired() {
    on_both_backends("msg_expiry", |backend| async move {
        let (idle, buyer, _) = deal(&backend).await;
        let (other_buyer, other_seller) = (user(&backend, "buyer2").await, user(&backend, "seller2").await);
        let busy = backend
            .store
            .insert_conversation(&conversation(other_buyer, other_seller, None, 0))
            .await
            .unwrap()
            .into_inner()
            .conversation
            .id;
        backend.store.append_message(&message(busy, other_buyer, "c1", 5_000)).await.unwrap();
        // A day's retention, checked at a day and 4 seconds: only the idle one expired.
        let day = 24 * 60 * 60 * 1000;
        let closing = backend.store.close_expired_conversations(at(day + 4_000), 1, 10).await.unwrap();
        assert_eq!(closing.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![idle]);
        let refused = backend.store.append_message(&message(idle, buyer, "c2", day + 5_000)).await;
        assert!(matches!(refused, Err(StoreError::NotFound("conversation"))), "{refused:?}");
        // Until destroyed, a closing conversation is handed out again (a crash may have cut a run).
        assert_eq!(backend.store.close_expired_conversations(at(day + 4_000), 1, 10).await.unwrap().len(), 1);
        backend.store.destroy_conversation(idle).await.unwrap();
        assert!(backend.store.close_expired_conversations(at(day + 4_000), 1, 10).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn an_erased_author_can_send_nothing_more() {
    on_both_backends("msg_erased", |backend| async move {
        let (conversation_id, buyer, seller) = deal(&backend).await;
        backend.store.append_message(&message(conversation_id, buyer, "c1", 10)).await.unwrap();
        backend.store.erase_user(buyer, &Handle::from_trusted("deleted-user-x".into()), at(20)).await.unwrap();
        let refused = backend.store.append_message(&message(conversation_id, buyer, "c2", 30)).await;
        assert!(matches!(refused, Err(StoreError::NotFound("author"))), "{refused:?}");
        backend.store.append_message(&message(conversation_id, seller, "c3", 40)).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_key_rotation_reseals_exactly_the_authors_texts_or_nothing() {
    on_both_backends("msg_rotation", |backend| async move {
        let (conversation_id, buyer, seller) = deal(&backend).await;
        let first = backend.store.append_message(&message(conversation_id, buyer, "c1", 10)).await.unwrap().into_inner();
        let second = backend.store.append_message(&message(conversation_id, buyer, "c2", 20)).await.unwrap().into_inner();
        let theirs = backend.store.append_message(&message(conversation_id, seller, "c3", 30)).await.unwrap().into_inner();
        let edit = Uuid::now_v7();
        let edited = Sealed::from_bytes(b"c1-v2".to_vec());
        assert!(backend.store.edit_message(first.id, &edited, (edit, Sealed::from_bytes(b"c1".to_vec())), 0, at(15)).await.unwrap());
        let (bodies, edits) = backend.store.author_texts(conversation_id, buyer).await.unwrap();
        assert_eq!(bodies.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![first.id, second.id]);
        assert_eq!(edits.iter().map(|(id, of, _)| (*id, *of)).collect::<Vec<_>>(), vec![(edit, first.id)]);

        let sealed = |text: &str| Sealed::from_bytes(text.as_bytes().to_vec());
        let rotation = KeyRotation {
            conversation: conversation_id,
            author: buyer,
            from: 0,
            deleted: second.id,
            at: at(40),
            bodies: vec![(first.id, sealed("c1-v2 again"))],
            edits: vec![(edit, sealed("c1 again"))],
        };
        // A stale generation, or a set of texts that is not the author's, writes nothing.
        assert!(!backend.store.rotate_message_key(&KeyRotation { from: 1, ..rotation.clone() }).await.unwrap());
        assert!(!backend.store.rotate_message_key(&KeyRotation { bodies: vec![], ..rotation.clone() }).await.unwrap());
        assert!(!backend.store.rotate_message_key(&KeyRotation { edits: vec![], ..rotation.clone() }).await.unwrap());
        assert_eq!(backend.store.message_key_generation(conversation_id, buyer).await.unwrap(), 0);

        assert!(backend.store.rotate_message_key(&rotation).await.unwrap());
        assert_eq!(backend.store.message_key_generation(conversation_id, buyer).await.unwrap(), 1);
        assert_eq!(backend.store.message_key_generation(conversation_id, seller).await.unwrap(), 0);
        let page = backend.store.messages(conversation_id, MessageWindow::Latest, PageLimit::parse(Some(10)).unwrap()).await.unwrap();
        let seen: Vec<(MessageId, Vec<u8>, u32)> = page.iter().map(|m| (m.id, m.body.as_bytes().to_vec(), m.key_generation)).collect();
        assert_eq!(seen, vec![(first.id, b"c1-v2 again".to_vec(), 1), (second.id, Vec::new(), 1), (theirs.id, b"c3".to_vec(), 0),]);
        // Seals made under the old generation are refused from now on.
        let stale = backend.store.append_message(&message(conversation_id, buyer, "c4", 50)).await;
        assert!(matches!(stale, Err(StoreError::Conflict(parley_store::Conflict::KeyRotated))), "{stale:?}");
        let stale_edit = backend.store.edit_message(first.id, &edited, (Uuid::now_v7(), sealed("x")), 0, at(55)).await;
        assert!(matches!(stale_edit, Err(StoreError::Conflict(parley_store::Conflict::KeyRotated))), "{stale_edit:?}");
        backend.store.append_message(&NewMessage { key_generation: 1, ..message(conversation_id, buyer, "c4", 50) }).await.unwrap();
    })
    .await;
}
