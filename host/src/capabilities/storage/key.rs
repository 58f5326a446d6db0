//! Object keys: what a module may name, and the file path each becomes beneath its root.
//!
//! A key is 1 to 1,024 bytes of `/`-separated segments, none empty, `.` or `..`, without a
//! leading `/`, NUL or any other control character. On disk each segment is
//! percent-encoded (every byte but `A-Z a-z 0-9 - _ .`), folders keep the encoded segment
//! and an object's file adds `~` (which encoding never leaves), so key `a` and the keys
//! under `a/` never collide, and no key can name anything but a path beneath the root.

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Longest encoded segment (a file name is at most 255 bytes on common file systems).
const MAX_SEGMENT_BYTES: usize = 240;
/// Ends an object's file name; never part of an encoded segment.
pub const OBJECT_SUFFIX: char = '~';

/// A checked key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key(String);

impl Key {
    /// Checks `key`; the error says what is wrong with it.
    pub fn parse(key: &str) -> Result<Key, String> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(format!(
                "a key is 1 to {MAX_KEY_BYTES} bytes; this one has {}",
                key.len()
            ));
        }
        if key.chars().any(char::is_control) {
            return Err("a key must not hold NUL or other control characters".into());
        }
        for segment in key.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err(format!(
                    "key '{}' has an empty, '.' or '..' segment (or a leading or doubled '/'); \
                     use names like \"uploads/2026/report.pdf\"",
                    key.escape_default()
                ));
            }
            if encode(segment).len() > MAX_SEGMENT_BYTES {
                return Err(format!(
                    "a segment of key '{}' is too long; keep each part between '/' under 80 \
                     characters",
                    key.escape_default()
                ));
            }
        }
        Ok(Key(key.to_string()))
    }

    /// The key as the module named it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The object's file, relative to the objects folder: `a/b%20c~` for `a/b c`.
    pub fn path(&self) -> String {
        let mut path: Vec<String> = self.0.split('/').map(encode).collect();
        if let Some(last) = path.last_mut() {
            last.push(OBJECT_SUFFIX);
        }
        path.join("/")
    }

    /// The folder holding the object's file, relative to the objects folder (`""` for a
    /// key without `/`).
    pub fn folder(&self) -> String {
        match self.0.rsplit_once('/') {
            Some((folder, _)) => folder.split('/').map(encode).collect::<Vec<_>>().join("/"),
            None => String::new(),
        }
    }
}

/// Percent-encodes every byte but `A-Z a-z 0-9 - _ .`.
pub fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The segment an encoded file or folder name stands for; `None` for a name the host did
/// not write (it is skipped, never served).
pub fn decode(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = name.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b"-_.".contains(&b) => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_malformed_keys_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a/",
            "./a",
            "a\0b",
            "a\nb",
        ] {
            assert!(Key::parse(bad).is_err(), "{bad:?} passed");
        }
        assert!(Key::parse(&"a".repeat(1025)).is_err());
        assert!(Key::parse(&"a".repeat(300)).is_err());
    }

    #[test]
    fn keys_become_encoded_paths_that_never_collide_with_folders() {
        let key = Key::parse("uploads/my report~1.pdf").unwrap();
        assert_eq!(key.path(), "uploads/my%20report%7E1.pdf~");
        assert_eq!(key.folder(), "uploads");
        assert_eq!(Key::parse("a").unwrap().path(), "a~");
        assert_eq!(Key::parse("a/b").unwrap().path(), "a/b~");
        assert_eq!(decode("my%20report%7E1.pdf").unwrap(), "my report~1.pdf");
        assert_eq!(decode("évil"), None);
        assert_eq!(decode("%2"), None);
    }
}
