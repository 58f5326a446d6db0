//! The chat example's page in headless Chromium (Debian's chromium, driven by playwright-core
//! from tests/browser; scripts/setup installs both): two pages join a room and see each
//! other's messages.

use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use crate::harness::{Host, install, repo};

fn token(sub: &str) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        &json!({"sub": sub}),
        &EncodingKey::from_secret(b"dev-secret"),
    )
    .unwrap()
}

#[test]
fn two_browser_pages_join_a_room_and_see_each_others_messages() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    install(&plugins, "chat", "chat");
    let config = dir.path().join("host.toml");
    std::fs::copy(repo().join("examples/chat/host.toml"), &config).unwrap();
    let host = Host::start(&plugins, Some(&config), &repo().join("target/test-cache"));
    let page = host.get("/chat/");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("new WebSocket"), "the page is served");
    let browser = repo().join("tests/browser");
    assert!(
        browser.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed in tests/browser; run scripts/setup"
    );
    let output = std::process::Command::new("node")
        .arg(browser.join("chat.mjs"))
        .arg(&host.base)
        .arg(token("ada"))
        .arg(token("bob"))
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the browser test failed:\n{text}\nhost log:\n{}",
        host.log_text()
    );
    assert!(text.contains("ok: both pages"), "{text}");
}
