//! The `parley` binary as a newcomer and an operator meet it: `parley serve` with no
//! configuration in an empty directory, a chat through it, a clean stop on SIGTERM; and the
//! logs of all that, at debug level, checked for the secrets and content that went through.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step should stop the test loudly")]

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use parley_api::accounts::CreateAccountRequest;
use parley_api::client::Client;
use parley_api::conversations::{CreateConversationRequest, Role};
use parley_api::messages::SendMessageRequest;
use parley_api::stream::ServerFrame;

const PARLEY: &str = env!("CARGO_BIN_EXE_parley");

/// Starts `parley serve` in `dir` and returns it with its URL, read from its first lines.
fn start(dir: &Path) -> (Child, String, std::thread::JoinHandle<Vec<String>>) {
    let mut child = Command::new(PARLEY)
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PARLEY_HTTP__LISTEN", "127.0.0.1:0")
        .env("PARLEY_LOG", "debug")
        .env("PARLEY_LOG__FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("parley starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("parley printed its URL before exiting").unwrap();
        if let Some(url) = line.strip_prefix("Parley is listening on ") {
            break url.trim().to_owned();
        }
    };
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect());
    (child, url, rest)
}

/// Sends SIGTERM and waits for a clean exit. Async, so the test's own connections keep being
/// driven (HTTP/2 graceful shutdown waits for the client to answer a PING).
async fn stop(child: &mut Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "parley exited with {status}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().ok();
    panic!("parley did not stop within 10 s of SIGTERM");
}

#[tokio::test]
async fn serve_starts_from_nothing_chats_and_logs_no_secrets() {
    rustls::crypto::aws_lc_rs::default_provider().install_default().ok();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url, logs) = start(dir.path());

    let data = dir.path().join("data");
    assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(data.join("master.key")).unwrap().permissions().mode() & 0o777, 0o600);
    for file in ["parley.db", "keys.db", "tls/ca.pem", "tls/cert.pem"] {
        assert!(data.join(file).exists(), "{file} was created");
    }
    let ca = std::fs::read_to_string(data.join("tls/ca.pem")).unwrap();
    let client = Client::new(&url, Some(&ca)).unwrap();
    assert_eq!(client.health().await.unwrap().status, "ok");

    let canary = format!("LOGCANARY{}", uuid::Uuid::new_v4().simple());
    let password = "a long canary passphrase";
    let mut tokens = Vec::new();
    for handle in ["log_buyer", "log_seller"] {
        let email = format!("{handle}.{canary}@example.org");
        client
            .create_account(&CreateAccountRequest { handle: handle.into(), email, password: password.into(), accepted_policy_version: 1 })
            .await
            .unwrap();
        tokens.push(client.create_session(handle, password).await.unwrap().token.unwrap());
    }
    let (buyer, seller) = (client.authenticated(&tokens[0]), client.authenticated(&tokens[1]));
    let open = CreateConversationRequest { with: "log_seller".into(), listing_id: Some("l1".into()), my_role: Role::Buyer };
    let conversation = buyer.create_conversation(&open).await.unwrap().1;
    let mut stream = seller.open_stream().await.unwrap();
    assert!(matches!(stream.next_frame().await.unwrap(), ServerFrame::Ready { .. }));
    let body = format!("meet me by Downing college {canary}");
    buyer.send_message(conversation.id, &SendMessageRequest { client_msg_id: "c1".into(), body: body.clone() }).await.unwrap();
    assert!(
        matches!(stream.next_frame().await.unwrap(), ServerFrame::Message { message } if message.body.as_deref() == Some(body.as_str()))
    );
    assert!(buyer.create_session("log_buyer", "wrong password").await.is_err());
    let ticket = seller.create_stream_ticket().await.unwrap().ticket;

    stop(&mut child).await;
    let logs = logs.join().unwrap().join("\n");
    assert!(logs.contains("\"request_id\""), "control: request logs were captured");
    for secret in [canary.as_str(), password, "Downing", &tokens[0], &tokens[1], &ticket] {
        assert!(!logs.contains(secret), "a secret or message content reached the log: {secret}");
    }
    let master_key = std::fs::read_to_string(data.join("master.key")).unwrap();
    assert!(!logs.contains(master_key.trim()));
}

/// Runs `parley serve` in a fresh directory just long enough to sign up one account; returns
/// the directory.
async fn directory_with_account(handle: &str, email: &str) -> tempfile::TempDir {
    rustls::crypto::aws_lc_rs::default_provider().install_default().ok();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url, _) = start(dir.path());
    let ca = std::fs::read_to_string(dir.path().join("data/tls/ca.pem")).unwrap();
    let client = Client::new(&url, Some(&ca)).unwrap();
    let request = CreateAccountRequest {
        handle: handle.into(),
        email: email.into(),
        password: "a long passphrase".into(),
        accepted_policy_version: 1,
    };
    client.create_account(&request).await.unwrap();
    stop(&mut child).await;
    dir
}

#[tokio::test]
async fn a_restart_reads_the_same_data_with_the_kept_keys() {
    let dir = directory_with_account("returning", "back@example.org").await;
    let ca = std::fs::read_to_string(dir.path().join("data/tls/ca.pem")).unwrap();

    let (mut child, url, _) = start(dir.path());
    let client = Client::new(&url, Some(&ca)).expect("the kept CA still signs the new leaf");
    let token = client.create_session("back@example.org", "a long passphrase").await.unwrap().token;
    assert_eq!(client.authenticated(token.as_deref().unwrap()).me().await.unwrap().email.as_deref(), Some("back@example.org"));
    stop(&mut child).await;
}

#[test]
fn help_lists_every_command() {
    let output = Command::new(PARLEY).arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for command in ["serve", "config", "openapi"] {
        assert!(help.contains(command), "{help}");
    }
}

#[test]
fn bad_configuration_is_a_clear_error_not_a_panic() {
    let output = Command::new(PARLEY).args(["config", "show"]).env("PARLEY_HTTP__LISTEN", "nowhere").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("PARLEY_HTTP__LISTEN") && !stderr.contains("panicked"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("parley.toml");
    std::fs::write(&file, "[sessions]\nidle_timeout_secs = 5\n").unwrap();
    let output = Command::new(PARLEY).args(["--config", file.to_str().unwrap(), "config", "show"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr).unwrap().contains("sessions.idle_timeout_secs"));
}

#[test]
fn config_show_prints_the_effective_configuration() {
    let output = Command::new(PARLEY)
        .args(["config", "show"])
        .env("PARLEY_DATABASE_URL", "postgres://parley:hunter2@db.example/parley")
        .env("PARLEY_LIMITS__SEND_BURST", "7")
        .output()
        .unwrap();
    assert!(output.status.success());
    let shown = String::from_utf8(output.stdout).unwrap();
    assert!(shown.contains("send_burst = 7"), "{shown}");
    assert!(!shown.contains("hunter2"));
}

#[tokio::test]
async fn an_operator_exports_and_erases_a_user_from_the_command_line() {
    let dir = directory_with_account("requester", "dsr@example.org").await;

    let parley = |args: &[&str]| Command::new(PARLEY).args(args).current_dir(dir.path()).env_clear().output().unwrap();
    let export = parley(&["user", "export", "requester"]);
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let archive: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!((archive["account"]["handle"].as_str(), archive["account"]["email"].as_str()), (Some("requester"), Some("dsr@example.org")));
    assert!(!parley(&["user", "reset-factors", "requester"]).status.success(), "a reset needs --yes");
    let reset = parley(&["user", "reset-factors", "requester", "--yes"]);
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));
    assert!(String::from_utf8_lossy(&reset.stderr).contains("second factors are removed"));
    assert!(!parley(&["user", "erase", "requester"]).status.success(), "erasure needs --yes");
    let erase = parley(&["user", "erase", "requester", "--yes"]);
    assert!(erase.status.success(), "{}", String::from_utf8_lossy(&erase.stderr));
    let gone = parley(&["user", "export", "requester"]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("user not found"));
}

#[tokio::test]
async fn an_operator_publishes_a_policy_broadcasts_and_verifies_the_audit_log() {
    let dir = directory_with_account("reader", "reader@example.org").await;
    let parley = |args: &[&str]| Command::new(PARLEY).args(args).current_dir(dir.path()).env_clear().output().unwrap();
    let text = |output: &std::process::Output| String::from_utf8_lossy(&output.stdout).into_owned();

    let shown = parley(&["policy", "show"]);
    assert!(shown.status.success() && text(&shown).starts_with("version 1 "), "{}", text(&shown));
    let file = dir.path().join("policy-v2.md");
    std::fs::write(&file, "# Privacy policy\n\nVersion two.\n").unwrap();
    let published = parley(&["policy", "publish", file.to_str().unwrap()]);
    assert!(published.status.success(), "{}", String::from_utf8_lossy(&published.stderr));
    assert!(text(&published).contains("version 2 published; 1 users notified"), "{}", text(&published));
    let again = parley(&["policy", "publish", file.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "the same text twice");
    std::fs::write(&file, [0xff, 0xfe]).unwrap();
    assert!(String::from_utf8_lossy(&parley(&["policy", "publish", file.to_str().unwrap()]).stderr).contains("not UTF-8"));

    std::fs::write(&file, "Half price on lamps.").unwrap();
    let sent = parley(&["broadcast", "offers", "--subject", "Lamps", file.to_str().unwrap()]);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    assert!(text(&sent).contains("0 mails queued"), "nobody consented: {}", text(&sent));
    assert!(!parley(&["broadcast", "telemarketing", "--subject", "x", file.to_str().unwrap()]).status.success());

    let log = parley(&["audit", "show"]);
    let actions: Vec<String> = text(&log)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["policy.published", "broadcast.sent"]);
    let verified = parley(&["audit", "verify"]);
    assert!(verified.status.success() && text(&verified).contains("2 entries verified"), "{}", text(&verified));
}
