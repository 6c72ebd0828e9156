use parley_domain::page::{ConversationCursor, PageLimit};
use parley_store::Inserted;

use super::*;

#[tokio::test]
async fn a_deal_has_one_conversation_per_listing() {
    on_both_backends("conv_unique", |backend| async move {
        let buyer = user(&backend, "buyer").await;
        let seller = user(&backend, "seller").await;
        let first = backend.store.insert_conversation(&conversation(buyer, seller, Some("lst-1"), 0)).await.unwrap();
        let Inserted::New(first) = first else { panic!("expected a new conversation") };
        assert_eq!(first.buyer_handle.as_str(), "buyer");
        assert_eq!(first.seller_handle.as_str(), "seller");
        let again = backend.store.insert_conversation(&conversation(buyer, seller, Some("lst-1"), 5)).await.unwrap();
        assert_eq!(again, Inserted::Existing(first.clone()));
        let other_listing = backend.store.insert_conversation(&conversation(buyer, seller, Some("lst-2"), 0)).await.unwrap();
        assert!(matches!(other_listing, Inserted::New(_)));
        let no_listing = backend.store.insert_conversation(&conversation(buyer, seller, None, 0)).await.unwrap();
        assert!(matches!(no_listing, Inserted::New(ref r) if r.conversation.listing.is_none()));
        let no_listing_again = backend.store.insert_conversation(&conversation(buyer, seller, None, 0)).await.unwrap();
        assert!(matches!(no_listing_again, Inserted::Existing(_)));
        let reversed_roles = backend.store.insert_conversation(&conversation(seller, buyer, Some("lst-1"), 0)).await.unwrap();
        assert!(matches!(reversed_roles, Inserted::New(_)));
        assert_eq!(backend.store.conversation(first.conversation.id).await.unwrap(), Some(first));
        assert_eq!(backend.store.conversation(ConversationId::from_uuid(Uuid::now_v7())).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn conversation_pages_are_newest_first_without_gaps_or_repeats() {
    on_both_backends("conv_pages", |backend| async move {
        let me = user(&backend, "myself").await;
        let stranger = user(&backend, "stranger").await;
        let mut expected = Vec::new();
        for n in 0..7 {
            let other = user(&backend, &format!("other{n}")).await;
            // Two share an activity time, so the id must break the tie.
            let created = if n == 3 { 2 } else { n };
            let (buyer, seller) = if n % 2 == 0 { (me, other) } else { (other, me) };
            let record = backend.store.insert_conversation(&conversation(buyer, seller, None, created)).await.unwrap().into_inner();
            expected.push(record.conversation);
        }
        backend.store.insert_conversation(&conversation(stranger, user(&backend, "xx9").await, None, 100)).await.unwrap();
        expected.sort_by_key(|c| std::cmp::Reverse((c.last_activity_at, c.id)));

        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = backend.store.conversations_of(me, cursor, PageLimit::parse(Some(3)).unwrap()).await.unwrap();
            if page.is_empty() {
                break;
            }
            cursor = page.last().map(|r| ConversationCursor { last_activity_at: r.conversation.last_activity_at, id: r.conversation.id });
            seen.extend(page.into_iter().map(|r| r.conversation));
        }
        assert_eq!(seen, expected);
    })
    .await;
}
