//! gantry-runtime: an OCI runtime, drop-in for runc. Each verb is a thin file in `commands/` over
//! `gantry-container`; this file parses the command line, dispatches, and reports errors the way runc does (one
//! line on stderr, a JSON record in `--log` when `--log-format json`, exit status 1).
#![forbid(unsafe_code)]

mod commands;
mod log;
mod out;
mod seal;

use gantry_oci_cli::{Cli, Command};

fn main() {
    // Before anything else: a re-exec repeats all the work done before it.
    let sealed = if seal::needed_for(std::env::args_os().skip(1)) {
        gantry_sys::exe::seal()
            .map(drop)
            .map_err(anyhow::Error::from)
    } else {
        Ok(())
    };
    let cli = match Cli::parse_args(std::env::args_os()) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    if cli.version {
        if let Err(e) = out::print(&gantry_oci_cli::version_text()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                out::die_of_sigpipe();
            }
            out::eprintln(&format!("gantry-runtime: write to standard output: {e}"));
            std::process::exit(1);
        }
        return;
    }
    let logger = log::Logger::new(&cli.global);
    let code = match sealed.and_then(|()| commands::dispatch(&cli)) {
        Ok(code) => code,
        Err(e) if out::is_broken_pipe(&e) => out::die_of_sigpipe(),
        Err(e) => {
            let msg = format!("{e}");
            logger.error(&msg);
            out::eprintln(&format!("gantry-runtime: {msg}"));
            1
        }
    };
    std::process::exit(code);
}

#[allow(dead_code)]
fn _assert_command_is_used(c: &Command) -> bool {
    matches!(c, Command::Features)
}
