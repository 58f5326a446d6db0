//! The chat example's page in headless Chromium (Debian's chromium, driven by playwright-core
//! from tests/browser; scripts/setup installs both): two pages join a room and see each
//! other's messages.

use crate::harness::repo;
use crate::ws::{chat, user};

#[test]
fn two_browser_pages_join_a_room_and_see_each_others_messages() {
    let host = chat();
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
        .arg(user("ada"))
        .arg(user("bob"))
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
