//! The privacy policy, its acceptance and consents through the real server: sign-up records the
//! version accepted, a new version is announced by mail and in the app and pauses optional
//! mail until accepted again, and consents are separate, revocable and carry their proof.

use parley_api::ProblemCode;
use parley_api::accounts::CreateAccountRequest;
use parley_domain::ConsentPurpose;
use parley_testkit::{PASSWORD, TestApp, TestUser};

use crate::helpers::{assert_problem, raw_client};

/// Queues a broadcast of `purpose` and returns how many mails went out.
async fn broadcast(app: &TestApp, purpose: ConsentPurpose, subject: &str) -> u64 {
    app.core.broadcast(purpose, subject, "Spring sale: everything in the garden section.").await.unwrap()
}

fn mails_to<'a>(mails: &'a [String], user: &TestUser, needle: &str) -> Vec<&'a String> {
    mails.iter().filter(|m| m.contains(&format!("To: {}", user.email)) && m.contains(needle)).collect()
}

#[tokio::test]
async fn the_policy_is_served_and_sign_up_records_the_version_accepted() {
    let app = TestApp::spawn().await;
    let policy = app.client.privacy_policy().await.unwrap();
    assert_eq!(policy.version, 1);
    assert!(policy.body.contains("privacy policy") && policy.sha256.len() == 64);

    let page = raw_client(&app.ca_pem).get(format!("{}/privacy", app.url)).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<h3>What we keep</h3>") && html.contains("Version 1, published 2026-01-01"), "{html}");

    let alice = app.user("alice").await;
    let consents = alice.client.consents().await.unwrap();
    assert_eq!((consents.current_policy_version, consents.acceptance_required), (1, false));
    assert_eq!(consents.acceptances.len(), 1);
    assert_eq!((consents.acceptances[0].version, consents.acceptances[0].source.as_str()), (1, "sign_up"));
    assert_eq!(consents.acceptances[0].accepted_at.unix_timestamp(), 1_767_225_600, "the fake clock's start");
    assert!(consents.purposes.iter().all(|p| !p.granted && !p.active), "every optional purpose starts off");
    assert!(!alice.client.me().await.unwrap().policy_acceptance_required);

    let stale = CreateAccountRequest {
        handle: app.unique_handle("late"),
        email: "late@mail.example.org".into(),
        password: PASSWORD.into(),
        accepted_policy_version: 2,
    };
    assert_problem(app.client.create_account(&stale).await, 409, ProblemCode::PolicyOutdated);
    let missing = raw_client(&app.ca_pem)
        .post(format!("{}/v1/accounts", app.url))
        .json(&serde_json::json!({"handle": "nopolicy", "email": "np@mail.example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400, "accepting the policy is part of signing up");
    app.client.create_account(&CreateAccountRequest { accepted_policy_version: 1, ..stale }).await.unwrap();
}

#[tokio::test]
async fn consents_are_separate_revocable_and_carry_their_proof() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let granted = alice.client.set_consent("offers", true).await.unwrap();
    let offers = granted.purposes.iter().find(|p| p.purpose == "offers").unwrap();
    assert!(offers.granted && offers.active);
    assert!(granted.purposes.iter().find(|p| p.purpose == "product_news").is_some_and(|p| !p.granted), "purposes are separate");
    app.clock.advance(std::time::Duration::from_secs(60));
    bob.client.set_consent("product_news", true).await.unwrap();

    assert_eq!(broadcast(&app, ConsentPurpose::Offers, "Spring offers").await, 1, "only alice agreed to offers");
    let mail = app.wait_for_mail(&alice.email, "Spring offers").await;
    assert!(mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{mail}");
    assert!(mail.contains("You get this mail because you agreed to"));
    assert!(mails_to(&app.mail_files(), &bob, "Spring offers").is_empty());

    // The link in the mail withdraws the consent without a login; a second use is harmless.
    let link = mail.lines().find_map(|line| line.strip_prefix("List-Unsubscribe: <")).unwrap().trim_end_matches('>').to_owned();
    let token = link.rsplit('/').next().unwrap();
    let http = raw_client(&app.ca_pem);
    let page = http.get(format!("{}/unsubscribe/{token}", app.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        alice.client.consents().await.unwrap().purposes.iter().any(|p| p.purpose == "offers" && p.granted),
        "opening the page changes nothing"
    );
    for _ in 0..2 {
        let done = http.post(format!("{}/unsubscribe/{token}", app.url)).body("List-Unsubscribe=One-Click").send().await.unwrap();
        assert_eq!(done.status(), 200);
    }
    let after = alice.client.consents().await.unwrap();
    let sources: Vec<(&str, bool, &str, u32)> =
        after.ledger.iter().map(|c| (c.purpose.as_str(), c.granted, c.source.as_str(), c.policy_version)).collect();
    assert_eq!(sources, vec![("offers", true, "settings", 1), ("offers", false, "unsubscribe_link", 1)]);
    assert_eq!(broadcast(&app, ConsentPurpose::Offers, "More offers").await, 0);

    // A forged or altered link does nothing.
    let forged = format!("{}.offers.{}", bob.id, token.rsplit('.').next().unwrap());
    for bad in [forged.as_str(), "not-a-token", &token.replace("offers", "product_news")] {
        let refused = http.post(format!("{}/unsubscribe/{bad}", app.url)).send().await.unwrap();
        assert_eq!(refused.status(), 404, "{bad}");
    }
    assert!(bob.client.consents().await.unwrap().purposes.iter().any(|p| p.purpose == "product_news" && p.granted));
    assert_problem(alice.client.set_consent("telemarketing", true).await, 404, ProblemCode::NotFound);
}

#[tokio::test]
async fn queued_broadcasts_are_checked_again_before_they_are_sent() {
    // The mail worker polls rarely here: the test claims the due mail itself.
    let app = TestApp::spawn_with(|config| config.mail.poll_interval_ms = 600_000).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    for user in [&alice, &bob] {
        user.client.set_consent("offers", true).await.unwrap();
    }
    assert_eq!(broadcast(&app, ConsentPurpose::Offers, "Queued offers").await, 2);
    bob.client.set_consent("offers", false).await.unwrap();
    let due = app.core.claim_mail(50).await.unwrap();
    let recipients: Vec<&str> = due.iter().filter(|m| m.subject == "Queued offers").map(|m| m.to.expose()).collect();
    assert_eq!(recipients, vec![alice.email.as_str()], "bob withdrew after the mail was queued");
}

#[tokio::test]
async fn a_new_policy_is_announced_and_pauses_optional_mail_until_accepted() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    alice.client.set_consent("product_news", true).await.unwrap();
    bob.client.set_consent("product_news", true).await.unwrap();
    app.clock.advance(std::time::Duration::from_secs(1200));

    let (policy, notified) = app.core.publish_privacy_policy("# Privacy policy\n\nVersion two: we now keep less.\n").await.unwrap();
    assert_eq!((policy.version, notified), (2, 2));
    assert!(app.core.publish_privacy_policy("# Privacy policy\n\nVersion two: we now keep less.\n").await.is_err(), "same text again");
    for user in [&alice, &bob] {
        let mail = app.wait_for_mail(&user.email, "version 2 is now in force").await;
        assert!(mail.contains("/privacy"));
        assert!(user.client.me().await.unwrap().policy_acceptance_required, "the in-app notice");
    }
    assert_eq!(app.client.privacy_policy().await.unwrap().version, 2);

    // Optional processing is paused for everyone, and no new consent can be given meanwhile.
    assert_eq!(broadcast(&app, ConsentPurpose::ProductNews, "News").await, 0);
    let paused = alice.client.consents().await.unwrap();
    assert!(paused.acceptance_required);
    assert!(paused.purposes.iter().any(|p| p.purpose == "product_news" && p.granted && !p.active));
    assert_problem(alice.client.set_consent("offers", true).await, 409, ProblemCode::PolicyAcceptanceRequired);
    alice.client.set_consent("offers", false).await.unwrap();

    assert_problem(alice.client.accept_policy(1).await, 409, ProblemCode::PolicyOutdated);
    let accepted = alice.client.accept_policy(2).await.unwrap();
    assert!(!accepted.acceptance_required);
    let proof = accepted.acceptances.last().unwrap();
    assert_eq!((proof.version, proof.source.as_str()), (2, "settings"));
    assert_eq!(proof.accepted_at.unix_timestamp(), 1_767_225_600 + 1200);
    assert_eq!(broadcast(&app, ConsentPurpose::ProductNews, "News again").await, 1, "alice accepted, bob has not yet");
    app.wait_for_mail(&alice.email, "News again").await;
    assert!(mails_to(&app.mail_files(), &bob, "News again").is_empty());

    let archive = alice.client.download_export(&alice.client.request_export().await.unwrap().download).await.unwrap();
    assert_eq!(archive.consents.acceptances.iter().map(|a| a.version).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(archive.consents.ledger.len(), 2, "the grant and the withdrawal");
}
