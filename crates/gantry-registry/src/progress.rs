//! Progress reporting: bars on a terminal (indicatif), plain lines otherwise, or nothing.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How to report transfer progress on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// Bars if stderr is a terminal, else plain lines.
    #[default]
    Auto,
    /// Always bars.
    Bars,
    /// One line when a blob starts and one when it ends.
    Lines,
    /// Nothing.
    Quiet,
}

/// Progress of a whole transfer.
pub(crate) struct Progress {
    multi: Option<MultiProgress>,
    lines: bool,
}

impl Progress {
    pub(crate) fn new(mode: ProgressMode) -> Progress {
        let bars = match mode {
            ProgressMode::Auto => std::io::stderr().is_terminal(),
            ProgressMode::Bars => true,
            ProgressMode::Lines | ProgressMode::Quiet => false,
        };
        Progress {
            multi: bars.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            lines: mode != ProgressMode::Quiet && !bars,
        }
    }

    /// A reporter for one blob of `total` bytes named `name` (e.g. a short digest).
    pub(crate) fn blob(&self, name: &str, total: u64) -> BlobProgress {
        let bar = self.multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new(total));
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.set_prefix(name.to_string());
            b
        });
        BlobProgress {
            bar,
            lines: self.lines,
            name: name.to_string(),
            total,
        }
    }

    /// A one-off message (e.g. the resolved digest).
    pub(crate) fn message(&self, msg: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(msg);
            }
            None if self.lines => eprintln!("{msg}"),
            None => {}
        }
    }
}

/// Progress of one blob.
#[derive(Clone)]
pub(crate) struct BlobProgress {
    bar: Option<ProgressBar>,
    lines: bool,
    name: String,
    total: u64,
}

impl BlobProgress {
    pub(crate) fn start(&self, offset: u64) {
        if let Some(b) = &self.bar {
            b.set_position(offset);
        } else if self.lines {
            if offset > 0 {
                eprintln!(
                    "{}: resuming at {offset} of {} bytes",
                    self.name, self.total
                );
            } else {
                eprintln!("{}: downloading {} bytes", self.name, self.total);
            }
        }
    }

    pub(crate) fn restart(&self) {
        if let Some(b) = &self.bar {
            b.set_position(0);
        }
    }

    pub(crate) fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    pub(crate) fn finish(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.finish_with_message(msg.to_string());
        } else if self.lines {
            eprintln!("{}: {msg}", self.name);
        }
    }
}
