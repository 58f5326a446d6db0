//! Files of a module's folder, opened so that nothing outside the folder can be reached:
//! the folder is opened once as a capability (`cap-std`), every path is resolved beneath it
//! by the kernel (no absolute paths, no `..`, no symlink leading out), only regular files
//! are read (never a FIFO, device or socket), and a size limit applies before reading.
//! The module's author controls the folder, so every name in it is hostile input.

use std::io::Read as _;
use std::path::{Component, Path};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt as _};

/// Why a file of a module's folder was not opened.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// The path names something outside the folder, or is not a plain relative path.
    #[error(
        "'{0}' is not a path inside the module's folder (no absolute paths, '..' or symlinks out)"
    )]
    Outside(String),
    /// No such file.
    #[error("'{0}' does not exist in the module's folder")]
    Missing(String),
    /// A directory, FIFO, device or socket.
    #[error("'{0}' is not a regular file")]
    NotAFile(String),
    /// Larger than allowed.
    #[error("'{path}' is {size} bytes; the host reads at most {limit} bytes")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Any other I/O error.
    #[error("cannot read '{path}': {error}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        error: std::io::Error,
    },
}

/// A module's folder, or a folder inside it, held open as a capability.
pub struct ModuleFolder {
    dir: Dir,
}

/// An opened regular file with its metadata.
pub struct FolderFile {
    /// The open file.
    pub file: std::fs::File,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last modified, if known.
    pub modified: Option<std::time::SystemTime>,
}

impl ModuleFolder {
    /// Opens `dir` (a path the host chose, e.g. the plugin folder).
    pub fn open(dir: &Path) -> Result<ModuleFolder, FolderError> {
        let dir =
            Dir::open_ambient_dir(dir, ambient_authority()).map_err(|error| FolderError::Io {
                path: dir.display().to_string(),
                error,
            })?;
        Ok(ModuleFolder { dir })
    }

    /// The sub-folder `relative` (e.g. `public`), itself beneath this folder.
    pub fn sub_folder(&self, relative: &str) -> Result<ModuleFolder, FolderError> {
        let path = plain_relative(relative)?;
        let dir = self.dir.open_dir(path).map_err(|e| classify(relative, e))?;
        Ok(ModuleFolder { dir })
    }

    /// Opens the regular file `relative`, refusing it if larger than `limit` bytes.
    /// Opening never blocks (a FIFO is opened non-blocking, then refused).
    pub fn open_file(&self, relative: &str, limit: u64) -> Result<FolderFile, FolderError> {
        let path = plain_relative(relative)?;
        let mut options = OpenOptions::new();
        options.read(true).custom_flags(libc::O_NONBLOCK);
        let file = self
            .dir
            .open_with(path, &options)
            .map_err(|e| classify(relative, e))?;
        let metadata = file.metadata().map_err(|error| FolderError::Io {
            path: relative.to_string(),
            error,
        })?;
        if !metadata.is_file() {
            return Err(FolderError::NotAFile(relative.to_string()));
        }
        if metadata.len() > limit {
            return Err(FolderError::TooLarge {
                path: relative.to_string(),
                size: metadata.len(),
                limit,
            });
        }
        Ok(FolderFile {
            modified: metadata.modified().ok().map(|t| t.into_std()),
            size: metadata.len(),
            file: file.into_std(),
        })
    }

    /// Reads the regular file `relative` whole, at most `limit` bytes (checked again
    /// while reading, in case it grows).
    pub fn read(&self, relative: &str, limit: u64) -> Result<Vec<u8>, FolderError> {
        let opened = self.open_file(relative, limit)?;
        let mut bytes = Vec::with_capacity(opened.size as usize);
        opened
            .file
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| FolderError::Io {
                path: relative.to_string(),
                error,
            })?;
        if bytes.len() as u64 > limit {
            return Err(FolderError::TooLarge {
                path: relative.to_string(),
                size: bytes.len() as u64,
                limit,
            });
        }
        Ok(bytes)
    }

    /// Whether `relative` is a directory beneath this folder.
    pub fn is_dir(&self, relative: &str) -> bool {
        plain_relative(relative).is_ok_and(|p| self.dir.metadata(p).is_ok_and(|m| m.is_dir()))
    }

    /// Names of the regular files directly in this folder whose name ends with `suffix`.
    pub fn files_ending_with(&self, suffix: &str) -> Result<Vec<String>, FolderError> {
        let entries = self.dir.entries().map_err(|error| FolderError::Io {
            path: ".".into(),
            error,
        })?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| name.ends_with(suffix))
            .collect();
        names.sort();
        Ok(names)
    }
}

/// `relative` when it is a plain relative path: no root, no `..`, no NUL. The sandbox
/// refuses escapes anyway; this gives the clear message first.
fn plain_relative(relative: &str) -> Result<&Path, FolderError> {
    let path = Path::new(relative);
    let plain = !relative.is_empty()
        && !relative.contains('\0')
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain {
        return Err(FolderError::Outside(relative.to_string()));
    }
    Ok(path)
}

fn classify(path: &str, error: std::io::Error) -> FolderError {
    match error.kind() {
        std::io::ErrorKind::NotFound => FolderError::Missing(path.to_string()),
        // cap-std reports an escape (a symlink leading out, `..` above the root) as
        // PermissionDenied.
        std::io::ErrorKind::PermissionDenied => FolderError::Outside(path.to_string()),
        std::io::ErrorKind::NotADirectory => FolderError::Missing(path.to_string()),
        _ if error.raw_os_error() == Some(libc::ELOOP) => FolderError::Outside(path.to_string()),
        _ => FolderError::Io {
            path: path.to_string(),
            error,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> (tempfile::TempDir, ModuleFolder) {
        let root = tempfile::tempdir().unwrap();
        let module = root.path().join("module");
        std::fs::create_dir_all(module.join("public/css")).unwrap();
        std::fs::write(module.join("public/index.html"), "<h1>hi</h1>").unwrap();
        std::fs::write(module.join("public/css/site.css"), "body{}").unwrap();
        std::fs::write(root.path().join("secret.toml"), "token = 'x'").unwrap();
        let folder = ModuleFolder::open(&module).unwrap();
        (root, folder)
    }

    #[test]
    fn files_inside_the_folder_are_read() {
        let (_root, folder) = folder();
        assert_eq!(
            folder.read("public/index.html", 100).unwrap(),
            b"<h1>hi</h1>"
        );
        let public = folder.sub_folder("public").unwrap();
        assert_eq!(public.read("css/site.css", 100).unwrap(), b"body{}");
    }

    #[test]
    fn absolute_paths_and_parent_components_are_refused() {
        let (_root, folder) = folder();
        for path in [
            "/etc/passwd",
            "../secret.toml",
            "public/../../secret.toml",
            "",
        ] {
            let error = folder.read(path, 1 << 20).unwrap_err();
            assert!(matches!(error, FolderError::Outside(_)), "{path}: {error}");
        }
    }

    #[test]
    fn symlinks_leading_out_of_the_folder_are_refused() {
        let (root, folder) = folder();
        let module = root.path().join("module");
        std::os::unix::fs::symlink("/etc/passwd", module.join("public/passwd")).unwrap();
        std::os::unix::fs::symlink(root.path().join("secret.toml"), module.join("public/s"))
            .unwrap();
        std::os::unix::fs::symlink(root.path(), module.join("public/up")).unwrap();
        for path in ["public/passwd", "public/s", "public/up/secret.toml"] {
            let error = folder.read(path, 1 << 20).unwrap_err();
            assert!(matches!(error, FolderError::Outside(_)), "{path}: {error}");
        }
        let public = folder.sub_folder("public").unwrap();
        assert!(matches!(
            public.read("passwd", 1 << 20),
            Err(FolderError::Outside(_))
        ));
    }

    #[test]
    fn fifos_devices_and_directories_are_not_read_and_size_is_checked_first() {
        let (root, folder) = folder();
        let module = root.path().join("module");
        let fifo = module.join("pipe.wasm");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        assert!(matches!(
            folder.read("pipe.wasm", 1 << 20),
            Err(FolderError::NotAFile(_))
        ));
        std::os::unix::fs::symlink("/dev/zero", module.join("zero.wasm")).unwrap();
        assert!(matches!(
            folder.read("zero.wasm", 1 << 20),
            Err(FolderError::Outside(_))
        ));
        assert!(matches!(
            folder.read("public", 1 << 20),
            Err(FolderError::NotAFile(_))
        ));
        assert!(matches!(
            folder.read("public/index.html", 3),
            Err(FolderError::TooLarge {
                size: 11,
                limit: 3,
                ..
            })
        ));
    }
}
