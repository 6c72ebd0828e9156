//! The audit log and the metrics through the real server: retention runs and erasures are
//! audited (pseudonymously) and counted, the metrics are served on the admin listener, and
//! any change to a stored entry breaks the chain.

use std::time::Duration;

use parley_core::{Actor, AuditVerdict};
use parley_domain::ConsentPurpose;
use parley_testkit::{PASSWORD, TestApp};
use sqlx::Connection as _;

use crate::helpers::{open_conversation, send};

/// The value of an (unlabelled) counter in a Prometheus text page.
fn counter(page: &str, name: &str) -> u64 {
    page.lines().find_map(|line| line.strip_prefix(&format!("{name} "))).and_then(|value| value.trim().parse().ok()).unwrap_or(0)
}

async fn scrape(app: &TestApp) -> String {
    let admin = app.admin_url.as_ref().expect("the admin listener is on");
    let response = reqwest::get(format!("{admin}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    response.text().await.unwrap()
}

#[tokio::test]
async fn retention_runs_and_erasures_are_audited_pseudonymously_and_counted() {
    let app = TestApp::spawn_with(|config| config.admin.listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "lamp-1").await;
    send(&buyer, conversation.id, "is the lamp still there?").await;
    let before = scrape(&app).await;

    app.clock.advance(Duration::from_secs(366 * 24 * 60 * 60));
    let report = app.core.run_retention(Actor::System).await.unwrap();
    assert_eq!(report.conversations_destroyed, 1);
    let after = scrape(&app).await;
    // Other tests in this process count too: the counters only ever grow by at least ours.
    for (name, at_least) in [
        ("parley_retention_conversations_destroyed_total", 1),
        ("parley_retention_runs_total", 1),
        ("parley_retention_security_events_deleted_total", 4),
    ] {
        assert!(counter(&after, name) >= counter(&before, name) + at_least, "{name}:\n{after}");
    }

    let entries = app.core.audit_entries(0, 100).await.unwrap();
    let run = entries.iter().find(|e| e.entry.action == "retention.run").expect("the run is audited");
    assert_eq!(run.entry.actor, "system");
    let details: serde_json::Value = serde_json::from_str(&run.entry.details).unwrap();
    assert_eq!((details["conversations_destroyed"].as_u64(), details["default_days"].as_u64()), (Some(1), Some(365)));
    let quiet = app.core.run_retention(Actor::Operator).await.unwrap();
    assert_eq!(quiet.conversations_destroyed, 0);
    assert_eq!(app.core.audit_entries(0, 100).await.unwrap().len(), entries.len(), "a run that did nothing leaves no entry");

    let leaving = app.user("leaving").await;
    leaving.client.erase_account(Some(PASSWORD)).await.unwrap();
    let entries = app.core.audit_entries(0, 100).await.unwrap();
    let erased = entries.last().unwrap();
    assert_eq!((erased.entry.action.as_str(), erased.entry.subject.clone()), ("account.erased", leaving.id.to_string()));
    assert_eq!(erased.entry.actor, format!("user:{}", leaving.id));
    assert!(counter(&scrape(&app).await, "parley_accounts_erased_total") >= 1);
    let whole_log = format!("{entries:?}");
    assert!(!whole_log.contains(&leaving.handle) && !whole_log.contains(&leaving.email), "ids and counts only");
    assert_eq!(app.core.verify_audit_log().await.unwrap(), AuditVerdict::Intact { entries: entries.len() as u64 });
}

#[tokio::test]
async fn any_change_to_the_stored_log_breaks_the_chain() {
    let app = TestApp::spawn().await;
    let user = app.user("reader").await;
    user.client.set_consent("offers", true).await.unwrap();
    for subject in ["one", "two", "three"] {
        app.core.broadcast(ConsentPurpose::Offers, subject, "A deal.").await.unwrap();
    }
    assert_eq!(app.core.verify_audit_log().await.unwrap(), AuditVerdict::Intact { entries: 3 });

    let path = app.data_dir().join("parley.db");
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let original: String = sqlx::query_scalar("SELECT details FROM audit_log WHERE seq = 2").fetch_one(&mut db).await.unwrap();
    sqlx::query("UPDATE audit_log SET details = '{}' WHERE seq = 2").execute(&mut db).await.unwrap();
    assert_eq!(app.core.verify_audit_log().await.unwrap(), AuditVerdict::Broken { at_seq: 2 }, "an edited entry");
    sqlx::query("UPDATE audit_log SET details = $1 WHERE seq = 2").bind(&original).execute(&mut db).await.unwrap();
    assert_eq!(app.core.verify_audit_log().await.unwrap(), AuditVerdict::Intact { entries: 3 });

    // Swapping two entries' contents (hashes and all) or cutting the tail shows too.
    sqlx::query("UPDATE audit_log SET seq = -seq WHERE seq IN (1, 2)").execute(&mut db).await.unwrap();
    sqlx::query("UPDATE audit_log SET seq = CASE seq WHEN -1 THEN 2 ELSE 1 END WHERE seq < 0").execute(&mut db).await.unwrap();
    assert_eq!(app.core.verify_audit_log().await.unwrap(), AuditVerdict::Broken { at_seq: 1 }, "reordered entries");
    sqlx::query("UPDATE audit_log SET seq = -seq WHERE seq IN (1, 2)").execute(&mut db).await.unwrap();
    sqlx::query("UPDATE audit_log SET seq = CASE seq WHEN -1 THEN 2 ELSE 1 END WHERE seq < 0").execute(&mut db).await.unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 3").execute(&mut db).await.unwrap();
    assert_eq!(app.core.verify_audit_log().await.unwrap(), AuditVerdict::Broken { at_seq: 3 }, "a cut tail");
    // Moving the head back with it does not help: the key store's checkpoint says 3.
    sqlx::query("UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2)").execute(&mut db).await.unwrap();
    assert_eq!(app.core.verify_audit_log().await.unwrap(), AuditVerdict::Broken { at_seq: 3 }, "a cut tail and a moved head");
}
