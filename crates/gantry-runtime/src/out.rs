//! Writing to standard output and error without panicking. A reader that went away (`gantry-runtime state ID |
//! head -c1`) ends the process as it ends runc: silently, by SIGPIPE. Other write errors are reported.

use std::io::{self, Write};

/// Writes `text` to standard output and flushes it.
pub fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes `text` and a newline to standard output and flushes it.
pub fn println(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes one line to standard error; a closed standard error is ignored (there is nowhere left to report it).
pub fn eprintln(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.write_all(b"\n");
}

/// Whether `e` was caused by writing to a pipe whose reader is gone.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Ends the process by SIGPIPE, as a program that does not ignore it would (the shell reports status 141).
pub fn die_of_sigpipe() -> ! {
    gantry_sys::signal::set_default(libc::SIGPIPE);
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::PIPE);
    std::process::exit(128 + libc::SIGPIPE)
}
