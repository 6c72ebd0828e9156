use std::collections::BTreeSet;

use parley_testkit::TestApp;

use crate::helpers::{open_conversation, raw_client};

/// The operations the server implements. A route added without documentation cannot exist
/// (routes are registered through `utoipa-axum`), and this list makes a removal visible.
const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/v1/openapi.json"),
    ("post", "/v1/accounts"),
    ("get", "/v1/me"),
    ("delete", "/v1/me"),
    ("put", "/v1/me/password"),
    ("put", "/v1/me/email"),
    ("get", "/v1/me/preferences"),
    ("put", "/v1/me/preferences"),
    ("get", "/v1/me/blocks"),
    ("post", "/v1/me/blocks"),
    ("delete", "/v1/me/blocks/{handle}"),
    ("post", "/v1/me/exports"),
    ("get", "/v1/me/exports/{token}"),
    ("get", "/v1/me/security-events"),
    ("get", "/v1/privacy-policy"),
    ("get", "/v1/privacy-policy/{version}"),
    ("get", "/privacy"),
    ("get", "/v1/me/consents"),
    ("put", "/v1/me/policy-acceptance"),
    ("put", "/v1/me/consents/{purpose}"),
    ("get", "/unsubscribe/{token}"),
    ("post", "/unsubscribe/{token}"),
    ("get", "/v1/me/mfa"),
    ("post", "/v1/me/mfa/totp"),
    ("post", "/v1/me/mfa/totp/confirm"),
    ("post", "/v1/me/mfa/totp/disable"),
    ("post", "/v1/me/mfa/recovery-codes"),
    ("post", "/v1/me/passkeys/registration"),
    ("post", "/v1/me/passkeys"),
    ("get", "/v1/me/passkeys"),
    ("delete", "/v1/me/passkeys/{id}"),
    ("post", "/v1/me/step-up"),
    ("post", "/v1/sessions/passkey/options"),
    ("post", "/v1/sessions/passkey"),
    ("post", "/v1/sessions"),
    ("post", "/v1/sessions/second-factor"),
    ("post", "/v1/sessions/sso"),
    ("get", "/v1/sessions"),
    ("delete", "/v1/sessions"),
    ("delete", "/v1/sessions/current"),
    ("delete", "/v1/sessions/{id}"),
    ("get", "/v1/sessions/current/csrf"),
    ("post", "/v1/conversations"),
    ("get", "/v1/conversations"),
    ("post", "/v1/conversations/{id}/messages"),
    ("get", "/v1/conversations/{id}/messages"),
    ("delete", "/v1/conversations/{id}/messages/{message_id}"),
    ("patch", "/v1/conversations/{id}/messages/{message_id}"),
    ("delete", "/v1/conversations/{id}"),
    ("get", "/v1/conversations/{id}/retention"),
    ("put", "/v1/conversations/{id}/retention"),
    ("get", "/v1/stream"),
    ("post", "/v1/stream/tickets"),
];

#[tokio::test]
async fn the_document_is_openapi_3_1_and_covers_every_route() {
    let app = TestApp::spawn().await;
    let http = raw_client(&app.ca_pem);
    let spec: serde_json::Value = http.get(format!("{}/v1/openapi.json", app.url)).send().await.unwrap().json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            documented.insert((method.clone(), path.clone()));
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.keys().any(|status| status.starts_with('2') || status == "101"), "{method} {path} has a success response");
            assert!(responses.contains_key("500"), "{method} {path} documents 500");
        }
    }
    let expected: BTreeSet<(String, String)> = OPERATIONS.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(documented, expected);
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    assert!(spec["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::spawn().await;
    let (buyer, seller) = (app.user("buyer").await, app.user("seller").await);
    let conversation = open_conversation(&buyer, &seller, "l1").await;
    let http = raw_client(&app.ca_pem);
    for (method, path) in OPERATIONS {
        let url = format!("{}{}", app.url, path.replace("{id}", &conversation.id.to_string()));
        let request = http.request(method.to_uppercase().parse().unwrap(), &url).bearer_auth(&seller.token);
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let problem: serde_json::Value = response.json().await.unwrap_or_default();
        // Reaching the handler shows as anything but the router's own 404/405 (a handler's
        // "no such thing of yours" 404 says what it looked for).
        let handler_404 = status == 404 && problem["detail"].is_string();
        assert!((status != 404 || handler_404) && status != 405, "{method} {path} -> {status}");
        assert!(status < 500, "{method} {path} -> {status}");
    }
}

#[test]
fn the_cli_prints_the_same_document() {
    let spec: serde_json::Value = serde_json::from_str(&parley_server::routes::openapi_json(4000)).unwrap();
    assert!(spec["paths"]["/v1/conversations/{id}/messages"]["post"].is_object());
}

#[tokio::test]
async fn the_document_states_the_configured_message_limit() {
    let app = TestApp::spawn_with(|config| config.limits.message_max_chars = 280).await;
    let spec: serde_json::Value =
        raw_client(&app.ca_pem).get(format!("{}/v1/openapi.json", app.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(spec["components"]["schemas"]["SendMessageRequest"]["properties"]["body"]["maxLength"], 280);
}
