//! Python modules: componentize-py builds the module's sources with the SDK and the
//! module's own dependencies (`requirements.txt` or `pyproject.toml`), installed into an
//! environment of their own, never the system's site-packages.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use super::{How, installed_above, sdk_files, tempfile_dir, uses};

/// Builds the Python module in `dir` with componentize-py into `staged`.
pub fn build(dir: &Path, staged: &Path, how: &How) -> anyhow::Result<()> {
    let componentize = find_componentize_py(dir)?;
    let work = tempfile_dir()?;
    let wit = work.join("wit");
    let sdk = work.join("sdk");
    sdk_files::write_all(&wit, sdk_files::WIT)?;
    sdk_files::write_all(&sdk, sdk_files::PYTHON_SDK)?;
    let errors = super::pycheck::syntax_errors(dir, &componentize);
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    let environment = environment(dir)?;
    // componentize-py's own Rust backtrace says nothing about the module: leave it out.
    // It adds $VIRTUAL_ENV's site-packages to the module's path, else the system's: point
    // it at the module's own environment.
    let output = Command::new(&componentize)
        .env("RUST_BACKTRACE", "0")
        .env("VIRTUAL_ENV", &environment)
        .arg("-d")
        .arg(&wit)
        .args(["-w", sdk_files::PYTHON_WORLD, "componentize"])
        .arg(match how.dev {
            true => sdk_files::PYTHON_DEV_ENTRY,
            false => sdk_files::PYTHON_ENTRY,
        })
        .arg("-p")
        .arg(dir)
        .arg("-p")
        .arg(&sdk)
        .arg("-o")
        .arg(staged)
        .stderr(std::process::Stdio::piped())
        .output()
        .with_context(|| format!("cannot run {}", componentize.display()))?;
    let _ = std::fs::remove_dir_all(&work);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("{}", python_errors(&stderr, how.compact));
    }
    uses::record(staged, &uses::python(dir))
}

/// The CPython componentize-py embeds: dependencies are chosen for it, not for the
/// interpreter that runs pip.
const EMBEDDED_PYTHON: &str = "3.14";

/// The module's dependencies as requirement lines: `requirements.txt`, else
/// `pyproject.toml`'s `[project] dependencies`; empty when it declares none.
fn requirements(dir: &Path) -> anyhow::Result<String> {
    let file = dir.join("requirements.txt");
    if file.is_file() {
        return std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()));
    }
    let file = dir.join("pyproject.toml");
    if !file.is_file() {
        return Ok(String::new());
    }
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let parsed: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", file.display()))?;
    let listed = parsed
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
        .cloned()
        .unwrap_or_default();
    let mut lines = String::new();
    for item in listed {
        let Some(requirement) = item.as_str() else {
            bail!(
                "{}: [project] dependencies must be strings such as \"requests>=2\"",
                file.display()
            );
        };
        lines.push_str(requirement);
        lines.push('\n');
    }
    Ok(lines)
}

/// The module's own environment (a folder with `lib/pythonX.Y/site-packages`), in the
/// host's cache and named by its requirements, installed with pip on first use: modules
/// with the same requirements share one, and an unchanged module reuses it.
fn environment(dir: &Path) -> anyhow::Result<PathBuf> {
    use sha2::{Digest, Sha256};
    let requirements = requirements(dir)?;
    let digest = Sha256::digest(format!("{EMBEDDED_PYTHON}\n{requirements}").as_bytes());
    let root = sdk_files::cache_root()
        .join("python-envs")
        .join(crate::runtime::compile_cache::hex(&digest[..8]));
    let site = |root: &Path| root.join(format!("lib/python{EMBEDDED_PYTHON}/site-packages"));
    if site(&root).is_dir() {
        return Ok(root);
    }
    let staging = root.with_extension(format!("installing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(site(&staging))
        .with_context(|| format!("cannot create {}", staging.display()))?;
    if !requirements.trim().is_empty() {
        install(dir, &requirements, &staging, &site(&staging))?;
    }
    if std::fs::rename(&staging, &root).is_err() && !site(&root).is_dir() {
        bail!("cannot create the environment {}", root.display());
    }
    let _ = std::fs::remove_dir_all(&staging);
    Ok(root)
}

/// pip installs `requirements` into `site`: wheels only (a package with native code
/// cannot run inside the component), chosen for the embedded CPython.
fn install(dir: &Path, requirements: &str, staging: &Path, site: &Path) -> anyhow::Result<()> {
    let file = staging.join("requirements.txt");
    std::fs::write(&file, requirements)?;
    eprintln!(
        "installing the module's dependencies for Python {EMBEDDED_PYTHON}: {}",
        requirements
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );
    let python = installed_above(dir, ".venv/bin/python3")
        .next()
        .unwrap_or_else(|| PathBuf::from("python3"));
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--root-user-action=ignore", "--no-warn-script-location"])
        .args([
            "--only-binary=:all:",
            "--implementation",
            "py",
            "--platform",
            "any",
        ])
        .args(["--python-version", EMBEDDED_PYTHON, "--target"])
        .arg(site)
        .arg("-r")
        .arg(&file)
        .output()
        .with_context(|| {
            format!(
                "cannot run {} -m pip; is Python installed?",
                python.display()
            )
        })?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(staging);
        bail!(
            "cannot install the module's dependencies (pure-Python wheels only: the module runs \
             CPython {EMBEDDED_PYTHON} inside WebAssembly):\n{}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// What componentize-py's failure says about the module: the Python traceback from
/// importing it, with the module's files named as in its folder (componentize-py mounts
/// the module at `/0/` and the SDK at `/1/`); `compact`: one line, `app.py:9: expected ':'`.
fn python_errors(stderr: &str, compact: bool) -> String {
    let inner = match stderr.find("AssertionError: Traceback") {
        Some(at) => &stderr[at + "AssertionError: ".len()..],
        None => stderr,
    };
    let inner = inner.split("\nCaused by:").next().unwrap_or(inner).trim();
    let inner = inner
        .replace("\"/0/", "\"")
        .replace("\"/1/", "\"plughost-sdk/");
    if !compact {
        return format!("componentize-py failed:\n{inner}");
    }
    let last_frame = inner
        .lines()
        .rev()
        .filter_map(|l| l.trim().strip_prefix("File \""))
        .filter(|l| !l.starts_with("plughost-sdk/") && !l.starts_with('<'))
        .filter_map(|l| {
            let (file, rest) = l.split_once("\", line ")?;
            let line = rest.split(|c: char| !c.is_ascii_digit()).next()?;
            Some(format!("{file}:{line}"))
        })
        .next();
    let exception = inner
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("componentize-py failed")
        .trim();
    let exception = exception
        .strip_prefix("SyntaxError: ")
        .or_else(|| exception.strip_prefix("IndentationError: "))
        .unwrap_or(exception);
    match last_frame {
        Some(at) => format!("{at}: {exception}"),
        None => exception.to_string(),
    }
}

/// The componentize-py release the Python SDK is written for.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// `componentize-py` on PATH, else in a `.venv` of the source folder or one of its parents
/// (scripts/setup installs it into the repository's `.venv`), else the one this host
/// installs, on first use, into a virtual environment in its cache folder.
fn find_componentize_py(dir: &Path) -> anyhow::Result<PathBuf> {
    if Command::new("componentize-py")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(PathBuf::from("componentize-py"));
    }
    if let Some(installed) = installed_above(dir, ".venv/bin/componentize-py").next() {
        return Ok(installed);
    }
    install_componentize_py()
}

/// componentize-py in a virtual environment of the host's cache folder, created once.
fn install_componentize_py() -> anyhow::Result<PathBuf> {
    let venv = super::tools::pip_venv("componentize-py", COMPONENTIZE_PY_VERSION)?;
    let tool = venv.join("bin/componentize-py");
    if !tool.is_file() {
        bail!(
            "componentize-py is not in {} after installing it",
            venv.display()
        );
    }
    Ok(tool)
}

#[cfg(test)]
mod tests {
    #[test]
    fn setup_installs_the_componentize_py_the_host_installs() {
        let setup = include_str!("../../../../scripts/setup");
        let line = format!("COMPONENTIZE_PY_VERSION={}", super::COMPONENTIZE_PY_VERSION);
        assert!(
            setup.lines().any(|l| l == line),
            "scripts/setup lacks {line}"
        );
    }

    const SYNTAX: &str = "Traceback (most recent call last):
  File \"/work/.venv/bin/componentize-py\", line 8, in <module>
    sys.exit(script())
AssertionError: Traceback (most recent call last):
  File \"/1/plughost_component.py\", line 4, in <module>
    import app
  File \"/0/app.py\", line 7
    def greet(request: Request) -> Response
                                           ^
SyntaxError: expected ':'


Caused by:
    SyntaxError: expected ':' (app.py, line 7)
";

    const RAISED: &str = "AssertionError: Traceback (most recent call last):
  File \"/1/plughost_component.py\", line 4, in <module>
    import app
  File \"/0/app.py\", line 3, in <module>
    from helpers import x
  File \"/0/helpers.py\", line 12, in <module>
    y = 1 / 0
ZeroDivisionError: division by zero

Caused by:
    x
";

    #[test]
    fn a_syntax_error_is_one_line_naming_the_file_and_line() {
        assert_eq!(super::python_errors(SYNTAX, true), "app.py:7: expected ':'");
    }

    #[test]
    fn an_exception_at_import_names_the_innermost_frame_of_the_module() {
        assert_eq!(
            super::python_errors(RAISED, true),
            "helpers.py:12: ZeroDivisionError: division by zero"
        );
    }

    #[test]
    fn the_full_form_is_the_modules_traceback_without_componentize_pys() {
        let full = super::python_errors(SYNTAX, false);
        assert!(full.contains("File \"app.py\", line 7"), "{full}");
        assert!(
            !full.contains("Caused by") && !full.contains("sys.exit"),
            "{full}"
        );
    }
}
