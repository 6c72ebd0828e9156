use parley_testkit::TestApp;

use crate::helpers::raw_client;

const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("strict-transport-security", "max-age=63072000; includeSubDomains"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
];

fn assert_security_headers(response: &reqwest::Response) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(response.headers().get(*name).and_then(|v| v.to_str().ok()), Some(*value), "{name} on {}", response.url());
    }
    let csp = response.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(response.headers().get("server").is_none(), "no version banner");
}

#[tokio::test]
async fn health_is_ok_and_carries_security_headers() {
    let app = TestApp::spawn().await;
    assert_eq!(app.client.health().await.unwrap().status, "ok");
    let response = raw_client(&app.ca_pem).get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8");
    assert_security_headers(&response);
}

#[tokio::test]
async fn errors_from_the_router_are_problems_with_security_headers() {
    let app = TestApp::spawn().await;
    let http = raw_client(&app.ca_pem);
    let not_found = http.get(format!("{}/v1/nothing-here", app.url)).send().await.unwrap();
    assert_eq!(not_found.status(), 404);
    assert_security_headers(&not_found);
    assert_eq!(not_found.headers()["content-type"], "application/problem+json; charset=utf-8");
    let request_id = not_found.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: serde_json::Value = not_found.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["status"], 404);
    assert_eq!(body["request_id"], request_id.as_str());

    let wrong_method = http.delete(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_security_headers(&wrong_method);
    assert_eq!(wrong_method.json::<serde_json::Value>().await.unwrap()["code"], "method_not_allowed");

    for method in ["TRACE", "TRACK", "FOO"] {
        let response =
            http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}/healthz", app.url)).send().await.unwrap();
        assert!(matches!(response.status().as_u16(), 400 | 405 | 501), "{method} -> {}", response.status());
    }
}

#[tokio::test]
async fn plain_http_is_refused_not_redirected() {
    let app = TestApp::spawn().await;
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let url = app.url.replace("https://", "http://");
    match plain.get(format!("{url}/healthz")).send().await {
        Err(_) => {}
        Ok(response) => assert!(response.status().is_client_error(), "plain HTTP answered {}", response.status()),
    }
}

/// A TLS connection to the app trusting its CA, with the given versions and ALPN.
async fn tls_connect(
    app: &TestApp,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_pki_types::CertificateDer::pem_slice_iter(app.ca_pem.as_bytes()).map(Result::unwrap));
    let mut config = rustls::ClientConfig::builder_with_protocol_versions(versions).with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(app.url.trim_start_matches("https://")).await.unwrap();
    connector.connect(rustls_pki_types::ServerName::try_from("localhost").unwrap(), tcp).await.unwrap()
}

#[tokio::test]
async fn only_tls_1_2_and_1_3_are_spoken() {
    let app = TestApp::spawn().await;
    for (version, expected) in
        [(&rustls::version::TLS12, rustls::ProtocolVersion::TLSv1_2), (&rustls::version::TLS13, rustls::ProtocolVersion::TLSv1_3)]
    {
        let tls = tls_connect(&app, &[version], &[]).await;
        assert_eq!(tls.get_ref().1.protocol_version(), Some(expected));
    }
}

#[tokio::test]
async fn a_client_that_never_sends_headers_is_cut_off() {
    use tokio::io::AsyncReadExt as _;
    let app = TestApp::spawn_with(|config| config.http.header_read_timeout_secs = 1).await;
    let mut tls = tls_connect(&app, rustls::DEFAULT_VERSIONS, &[b"http/1.1"]).await;
    // Send nothing: the server must close within its header timeout (plus a margin).
    let mut buffer = [0u8; 512];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), tls.read(&mut buffer)).await;
    assert!(read.is_ok(), "the server kept a silent connection open");
}

#[tokio::test]
async fn a_configured_certificate_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "operator-provided");
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let app = TestApp::spawn_with(|config| {
        config.tls.cert_path = cert_path.clone();
        config.tls.key_path = key_path.clone();
    })
    .await;
    assert_eq!(app.client.health().await.unwrap().status, "ok");
    assert!(!app.data_dir().join("tls").exists(), "nothing is generated when a certificate is given");
}

#[tokio::test]
async fn request_ids_are_the_servers_own() {
    let app = TestApp::spawn().await;
    let response = raw_client(&app.ca_pem).get(format!("{}/v1/nothing", app.url)).header("x-request-id", "forged-id").send().await.unwrap();
    let echoed = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(echoed, "forged-id");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["request_id"], echoed.as_str());
}
