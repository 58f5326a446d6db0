//! A module's response status and headers: whatever the module sends, the host either
//! refuses it or passes on only a final status and headers that carry no framing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plughost::server::dispatch::{checked_headers, checked_status};

fuzz_target!(|input: (u16, Vec<(String, String)>)| {
    let (status, headers) = input;
    if let Ok(status) = checked_status(status) {
        assert!((200..=599).contains(&status.as_u16()));
    }
    if let Ok(checked) = checked_headers(headers) {
        for banned in ["content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer"] {
            assert!(!checked.map.contains_key(banned), "{banned} passed");
        }
        for value in checked.map.values() {
            assert!(!value.as_bytes().iter().any(|b| *b == b'\r' || *b == b'\n'));
        }
    }
});
