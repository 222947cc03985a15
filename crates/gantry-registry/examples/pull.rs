//! Pulls an image into a directory (an OCI blob directory, see `DirSink`).
//!
//! `cargo run -p gantry-registry --example pull -- REFERENCE DIR [--platform os/arch[/variant]] [--quiet]`

use std::process::ExitCode;

use gantry_registry::{
    pull, DirSink, Platform, ProgressMode, PullOptions, Reference, RegistryConfig,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let mut platform = None;
    let mut quiet = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--platform" => platform = it.next().cloned(),
            "--quiet" => quiet = true,
            _ => positional.push(a.clone()),
        }
    }
    let [reference, dir] = positional.as_slice() else {
        eprintln!("usage: pull REFERENCE DIR [--platform os/arch[/variant]] [--quiet]");
        return ExitCode::from(2);
    };
    match run(reference, dir, platform.as_deref(), quiet) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    reference: &str,
    dir: &str,
    platform: Option<&str>,
    quiet: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut opts = PullOptions::new(Reference::parse(reference)?);
    opts.config = RegistryConfig::load_default()?;
    opts.platform = platform.map(Platform::parse).transpose()?;
    if quiet {
        opts.progress = ProgressMode::Quiet;
    }
    let sink = DirSink::new(dir)?;
    let img = pull(&opts, &sink)?;
    println!("{} {}", img.reference, img.digest);
    println!(
        "manifest {} ({} layers), fetched {}, skipped {}, {} bytes downloaded",
        img.manifest.digest,
        img.image.layers.len(),
        img.fetched.len(),
        img.skipped.len(),
        img.bytes_downloaded
    );
    Ok(())
}
