//! Static files of a module's `http.public` folder, for GET and HEAD requests no route
//! matches. Files are opened beneath the folder only (`runtime::folder`): a symlink, `..`
//! or absolute path leading out of it, a FIFO or a device answers 404 and is counted,
//! and a file larger than `limits.public-file-mib` is refused before it is read.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::Response;

use crate::runtime::LoadedModule;
use crate::runtime::folder::{FolderError, ModuleFolder};

/// What serving a public file came to.
pub enum PublicFile {
    /// The file, ready to send.
    Found(Response),
    /// No such file: the caller answers its usual 404.
    Missing,
    /// Refused (an escape, not a regular file, too large): a 404 naming nothing of the disk.
    Refused(String),
}

/// The file of the module's public folder at `rest` (the path below the prefix).
pub async fn serve(module: &LoadedModule, parts: &Parts, rest: &str, limit: u64) -> PublicFile {
    let Some(folder) = module.routes.as_ref().and_then(|r| r.public()) else {
        return PublicFile::Missing;
    };
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return PublicFile::Missing;
    }
    let Some(relative) = relative_path(rest) else {
        return PublicFile::Refused(format!("'{rest}' is not a plain path"));
    };
    let dir = module.source.dir.clone();
    let folder = folder.to_string();
    let head = parts.method == Method::HEAD;
    let opened = tokio::task::spawn_blocking(move || open(&dir, &folder, &relative, limit)).await;
    match opened {
        Ok(Ok((file, name))) => PublicFile::Found(response(file, &name, head)),
        Ok(Err(FolderError::Missing(_))) => PublicFile::Missing,
        Ok(Err(e)) => PublicFile::Refused(e.to_string()),
        Err(e) => PublicFile::Refused(format!("the file task failed: {e}")),
    }
}

/// Opens `relative` beneath `dir/folder`, or its `index.html` when it is a folder.
fn open(
    dir: &std::path::Path,
    folder: &str,
    relative: &str,
    limit: u64,
) -> Result<(crate::runtime::folder::FolderFile, String), FolderError> {
    let public = ModuleFolder::open(dir)?.sub_folder(folder)?;
    let name = if relative.is_empty() || public.is_dir(relative) {
        match relative {
            "" => "index.html".to_string(),
            dir => format!("{}/index.html", dir.trim_end_matches('/')),
        }
    } else {
        relative.to_string()
    };
    let file = public.open_file(&name, limit)?;
    Ok((file, name))
}

/// The percent-decoded path below the prefix without its leading `/`, when every
/// segment is a plain name.
fn relative_path(rest: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()?
        .into_owned();
    let trimmed = decoded.trim_start_matches('/');
    let plain = trimmed
        .split('/')
        .all(|s| s != ".." && s != "." && !s.contains('\\') && !s.contains('\0'));
    plain.then(|| trimmed.to_string())
}

fn response(file: crate::runtime::folder::FolderFile, name: &str, head: bool) -> Response {
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let body = if head {
        Body::empty()
    } else {
        let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file.file));
        Body::from_stream(stream)
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    if let Some(modified) = file.modified
        && let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(modified))
    {
        headers.insert(header::LAST_MODIFIED, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_segments_make_a_relative_path() {
        assert_eq!(
            relative_path("/css/site.css").as_deref(),
            Some("css/site.css")
        );
        assert_eq!(relative_path("/").as_deref(), Some(""));
        assert_eq!(relative_path("/a%20b.txt").as_deref(), Some("a b.txt"));
        assert_eq!(relative_path("/../host.toml"), None);
        assert_eq!(relative_path("/%2e%2e/host.toml"), None);
        assert_eq!(relative_path("/a/%00"), None);
        assert_eq!(relative_path("/a\\..\\b"), None);
    }
}
