//! `--log` / `--log-format`: where errors are recorded for the caller (containerd's shim reads the last JSON
//! record of `log.json` to report why a runtime call failed).

use std::io::Write;
use std::path::PathBuf;

use gantry_oci_cli::{GlobalOpts, LogFormat};

/// Writes error records to the `--log` file, in runc's formats.
pub struct Logger {
    path: Option<PathBuf>,
    json: bool,
}

impl Logger {
    /// A logger for the global flags.
    pub fn new(g: &GlobalOpts) -> Self {
        Logger {
            path: g.log.clone(),
            json: matches!(g.log_format, LogFormat::Json),
        }
    }

    /// Records an error (best effort: a log that cannot be written must not hide the error itself).
    pub fn error(&self, msg: &str) {
        let Some(path) = &self.path else { return };
        let time = gantry_container::time::rfc3339(std::time::SystemTime::now());
        let line = if self.json {
            serde_json::json!({"level": "error", "msg": msg, "time": time}).to_string()
        } else {
            format!("time=\"{time}\" level=error msg={msg:?}")
        };
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}
