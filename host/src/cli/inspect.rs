//! `host inspect FILE.wasm`: prints the component's WIT world.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use wit_component::{DecodedWasm, WitPrinter};

/// Arguments of `host inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// The component file.
    pub file: PathBuf,
}

/// Decodes the component and prints its world with every package it uses.
pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    print!("{}", world_text(&args.file)?);
    Ok(())
}

/// The WIT text of a component's world.
pub fn world_text(file: &std::path::Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let decoded = wit_component::decode(&bytes)
        .with_context(|| format!("{} is not a WebAssembly component", file.display()))?;
    let resolve = decoded.resolve();
    let main = decoded.package();
    let nested: Vec<_> = resolve
        .packages
        .iter()
        .map(|(id, _)| id)
        .filter(|id| *id != main)
        .collect();
    let mut printer = WitPrinter::default();
    printer.print(resolve, main, &nested)?;
    if let DecodedWasm::WitPackage(..) = decoded {
        eprintln!("note: {} is a WIT package, not a component", file.display());
    }
    Ok(printer.output.to_string())
}
