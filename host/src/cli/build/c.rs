//! `host build` of a C module (a folder with `plugin.toml` and `app.c`), all in this
//! process but the compiler: C bindings generated from the embedded WIT (wit-bindgen-c),
//! the embedded C SDK, every `.c` file of the folder compiled and linked into a core module
//! by `zig cc` (WASI preview 1, reactor), and that module made a component of the `service`
//! world with the wasi_snapshot_preview1 reactor adapter of this host's wasmtime
//! (wit-component). Nothing is downloaded.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

use super::sdk_files;

/// The `ziglang` version scripts/setup installs, named in the advice when zig is missing.
const ZIGLANG_VERSION: &str = "0.17.1";

/// Builds the C module in `dir` into the component `staged`.
pub(super) fn build(dir: &Path, staged: &Path) -> anyhow::Result<()> {
    let zig = Zig::find(dir)?;
    let sources = c_sources(dir)?;
    let work = super::tempfile_dir()?;
    let built = build_in(&work, dir, &zig, &sources, staged);
    let _ = std::fs::remove_dir_all(&work);
    built
}

fn build_in(
    work: &Path,
    dir: &Path,
    zig: &Zig,
    sources: &[PathBuf],
    staged: &Path,
) -> anyhow::Result<()> {
    let wit = work.join("wit");
    let sdk = work.join("sdk");
    let generated = work.join("bindings");
    sdk_files::write_all(&wit, sdk_files::WIT)?;
    sdk_files::write_all(&sdk, sdk_files::C_SDK)?;
    let anchor = generate_bindings(&wit, &generated)?;
    let core = work.join("core.wasm");
    let mut command = zig.cc();
    command
        .args([
            "--target=wasm32-wasi",
            "-mexec-model=reactor",
            "-O2",
            "-Wall",
        ])
        .arg("-I")
        .arg(&sdk)
        .arg("-I")
        .arg(&generated)
        .arg("-I")
        .arg(dir)
        .arg("-o")
        .arg(&core)
        .args(sources)
        .arg(sdk.join("plughost.c"))
        .arg(generated.join("service.c"))
        .arg(anchor);
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", zig.describe()))?;
    if !status.success() {
        bail!("zig cc could not compile the module (see its output above)");
    }
    let core = std::fs::read(&core).with_context(|| format!("cannot read {}", core.display()))?;
    let component = componentize(&wit, &core)?;
    std::fs::write(staged, component)
        .with_context(|| format!("cannot write {}", staged.display()))?;
    Ok(())
}

/// Every `.c` file directly in the module folder, `app.c` first.
fn c_sources(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort_by_key(|p| (p.file_name() != Some("app.c".as_ref()), p.clone()));
    Ok(sources)
}

/// Writes the C bindings of the `service` world into `out` (`service.h`, `service.c`) and a
/// file defining the symbol by which they pull in wit-bindgen's type-information object.
/// That object is not used: the type information is embedded after linking, by the same
/// wit-component that makes the component. Returns the path of that file.
fn generate_bindings(wit: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    let mut resolve = wit_bindgen_core::wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(wit)
        .context("cannot parse the embedded WIT")?;
    let world = resolve.select_world(&[package], Some(sdk_files::C_WORLD))?;
    let world_name = resolve.worlds[world].name.clone();
    let options = wit_bindgen_c::Opts {
        no_object_file: true,
        ..Default::default()
    };
    let mut files = wit_bindgen_core::Files::default();
    options
        .build()
        .generate(&mut resolve, world, &mut files)
        .context("cannot generate the C bindings")?;
    std::fs::create_dir_all(out)?;
    for (name, bytes) in files.iter() {
        std::fs::write(out.join(name), bytes)?;
    }
    let symbol = wit_bindgen_c::component_type_object::linking_symbol(&world_name);
    let anchor = out.join("component_type_anchor.c");
    std::fs::write(&anchor, format!("void {symbol}(void) {{}}\n"))?;
    Ok(anchor)
}

/// The component of a core module linked against the `service` bindings (C and Go modules).
pub(super) fn componentize(wit: &Path, core: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut module = without_debug_sections(core)?;
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(wit)
        .context("cannot parse the embedded WIT")?;
    let world = resolve.select_world(&[package], Some(sdk_files::C_WORLD))?;
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .encode()
        .context("cannot make a component of the compiled module")
}

/// `module` without its DWARF custom sections (`.debug_*`, nearly 1 MB from zig's
/// wasi-libc); the `name` section stays, so a trap's backtrace still names functions.
fn without_debug_sections(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    if module.len() < 8 || &module[..4] != b"\0asm" {
        bail!("the compiler did not produce a WebAssembly module");
    }
    let mut out = module[..8].to_vec();
    let mut at = 8;
    while at < module.len() {
        let id = module[at];
        let (size, read) = leb128(&module[at + 1..])?;
        let start = at + 1 + read;
        let end = start
            .checked_add(size)
            .filter(|end| *end <= module.len())
            .context("the compiled module is truncated")?;
        let debug = id == 0 && {
            let (name_len, read) = leb128(&module[start..end])?;
            module[start + read..end]
                .get(..name_len)
                .is_some_and(|name| name.starts_with(b".debug"))
        };
        if !debug {
            out.extend_from_slice(&module[at..end]);
        }
        at = end;
    }
    Ok(out)
}

/// An unsigned LEB128 number at the start of `bytes`, and how many bytes it took.
fn leb128(bytes: &[u8]) -> anyhow::Result<(usize, usize)> {
    let mut value = 0usize;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    bail!("the compiled module has a malformed section size")
}

/// How to run `zig`: a binary, or the `ziglang` Python package.
enum Zig {
    Binary(PathBuf),
    Python(PathBuf),
}

impl Zig {
    /// `zig` on PATH; else `python -m ziglang` with the `.venv` of the source folder, one of
    /// its parents or the working directory (scripts/setup installs it into the
    /// repository's), or with `python3` on PATH.
    fn find(dir: &Path) -> anyhow::Result<Zig> {
        let works = |zig: &Zig| {
            zig.command()
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let binary = Zig::Binary(PathBuf::from("zig"));
        if works(&binary) {
            return Ok(binary);
        }
        let venvs = super::installed_above(dir, ".venv/bin/python");
        for python in venvs.chain([PathBuf::from("python3")]) {
            let zig = Zig::Python(python);
            if works(&zig) {
                return Ok(zig);
            }
        }
        // None: ziglang (zig on PyPI) in the host's cache folder.
        let installed = super::tools::pip_venv("ziglang", ZIGLANG_VERSION)
            .map(|venv| Zig::Python(venv.join("bin/python")));
        if let Ok(zig) = installed
            && works(&zig)
        {
            return Ok(zig);
        }
        bail!(
            "zig is not installed, and C modules are compiled with `zig cc`: run \
             `pip install ziglang=={ZIGLANG_VERSION}` into a .venv in the module's folder or one \
             above it, or for python3 (scripts/setup puts it in the repository's .venv), or put \
             zig on PATH"
        )
    }

    fn command(&self) -> Command {
        match self {
            Zig::Binary(zig) => Command::new(zig),
            Zig::Python(python) => {
                let mut command = Command::new(python);
                command.args(["-m", "ziglang"]);
                command
            }
        }
    }

    fn cc(&self) -> Command {
        let mut command = self.command();
        command.arg("cc");
        command
    }

    fn describe(&self) -> String {
        match self {
            Zig::Binary(zig) => zig.display().to_string(),
            Zig::Python(python) => format!("{} -m ziglang", python.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_sections_are_dropped_and_the_others_kept() {
        let custom = |name: &str, body: &[u8]| {
            let mut section = vec![0u8, (1 + name.len() + body.len()) as u8, name.len() as u8];
            section.extend_from_slice(name.as_bytes());
            section.extend_from_slice(body);
            section
        };
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        let kept_type = [1u8, 1, 0];
        module.extend_from_slice(&kept_type);
        module.extend(custom(".debug_info", b"dwarf"));
        let name = custom("name", b"n");
        module.extend_from_slice(&name);
        let stripped = super::without_debug_sections(&module).unwrap();
        let mut expected = b"\0asm\x01\0\0\0".to_vec();
        expected.extend_from_slice(&kept_type);
        expected.extend_from_slice(&name);
        assert_eq!(stripped, expected);
        assert!(super::without_debug_sections(b"\0asm\x01\0\0\0\x01\x09").is_err());
    }
}
