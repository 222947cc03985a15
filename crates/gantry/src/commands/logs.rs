//! `gantry logs [-f] [--since T] [--timestamps] POD [APP]`: the output a detached pod's apps wrote, from the log
//! files its supervisor keeps (rotated file first). stdout lines go to stdout, stderr lines to stderr; with
//! several apps each line starts with the app's name. `-f` follows until the pod has exited.

use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::pod::log::parse_line;
use super::pod::record::{Phase, Pods};
use crate::Global;

/// Arguments of `gantry logs`.
#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {
    /// Keep printing new output until the pod exits.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only lines written after this: an RFC 3339 time (`2026-12-06T18:00:00Z`) or an age (`30s`, `10m`, `2h`).
    #[arg(long)]
    pub since: Option<String>,
    /// Show each line's time.
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Pod, by name, ID or unique ID prefix.
    pub pod: String,
    /// Only this app (default: every app).
    pub app: Option<String>,
}

/// `--since` as an RFC 3339 lower bound comparable with the log's times (same format, so as strings).
fn since_bound(s: &str) -> anyhow::Result<String> {
    if s.contains('T') {
        anyhow::ensure!(
            s.len() >= 19 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T',
            "--since {s:?}: expected an RFC 3339 UTC time like 2026-12-06T18:00:00Z or an age like 10m"
        );
        return Ok(s.trim_end_matches('Z').to_owned());
    }
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        _ => (s, 1),
    };
    let n: u64 = num.parse().map_err(|_| {
        anyhow::anyhow!("--since {s:?}: expected an RFC 3339 time or an age like 30s, 10m or 2h")
    })?;
    let t = std::time::SystemTime::now() - Duration::from_secs(n * mult);
    Ok(gantry_container::time::rfc3339(t))
}

struct Follow {
    prefix: String,
    path: PathBuf,
    offset: u64,
    ino: u64,
    pending: String,
}

impl Follow {
    /// Prints what was appended since the last call; starts over when the file was rotated.
    fn pump(&mut self, since: Option<&str>, timestamps: bool) -> anyhow::Result<bool> {
        use std::os::unix::fs::MetadataExt;
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Ok(false);
        };
        let meta = f.metadata()?;
        if meta.ino() != self.ino || meta.len() < self.offset {
            self.ino = meta.ino();
            self.offset = 0;
        }
        if meta.len() == self.offset {
            return Ok(false);
        }
        f.seek(std::io::SeekFrom::Start(self.offset))?;
        let mut buf = String::new();
        f.read_to_string(&mut buf)
            .with_context(|| format!("reading {}", self.path.display()))?;
        self.offset += buf.len() as u64;
        self.pending.push_str(&buf);
        let complete = match self.pending.rfind('\n') {
            Some(i) => self.pending.drain(..=i).collect::<String>(),
            None => return Ok(true),
        };
        print_records(&complete, &self.prefix, since, timestamps)?;
        Ok(true)
    }
}

fn print_records(
    text: &str,
    prefix: &str,
    since: Option<&str>,
    timestamps: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    for line in text.lines() {
        let Some(e) = parse_line(line) else { continue };
        if since.is_some_and(|s| e.time.trim_end_matches('Z') < s) {
            continue;
        }
        let w: &mut dyn Write = if e.stream == "stderr" {
            &mut err
        } else {
            &mut out
        };
        let ts = if timestamps {
            format!("{} ", e.time)
        } else {
            String::new()
        };
        let nl = if e.partial { "" } else { "\n" };
        // A closed stdout (`gantry logs | head`) ends the command quietly.
        if write!(w, "{prefix}{ts}{}{nl}", e.text).is_err() {
            return Ok(());
        }
    }
    let _ = out.flush();
    Ok(())
}

/// Runs `gantry logs`.
pub fn run(g: &Global, a: &LogsArgs) -> anyhow::Result<i32> {
    let pods = Pods::open(&g.root)?;
    let Some(rec) = pods.find(&a.pod)? else {
        let c = super::container::record::Records::open(&g.root)?
            .find(&a.pod)
            .map_err(|e| e.context("no pod or container has this name or ID"))?;
        anyhow::bail!(
            "container {} ran in the foreground: its output went to the terminal of gantry run, not to logs \
             (run it with -d to keep logs)",
            c.name
        );
    };
    anyhow::ensure!(
        rec.plan.detach,
        "pod {} ran in the foreground: its output went to the terminal of gantry run, not to logs",
        rec.plan.name
    );
    let apps: Vec<&str> = match &a.app {
        Some(n) => {
            anyhow::ensure!(
                rec.plan.apps.iter().any(|x| &x.name == n),
                "pod {} has no app {n:?} (apps: {})",
                rec.plan.name,
                rec.plan
                    .apps
                    .iter()
                    .map(|x| x.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            vec![n.as_str()]
        }
        None => rec.plan.apps.iter().map(|x| x.name.as_str()).collect(),
    };
    let since = a.since.as_deref().map(since_bound).transpose()?;
    let dir = pods.dir(&rec.plan.id);
    let mut follows = Vec::new();
    for app in apps {
        let prefix = if rec.plan.apps.len() > 1 && a.app.is_none() {
            format!("{app}| ")
        } else {
            String::new()
        };
        let rotated = dir.join(format!("{app}.log.1"));
        if let Ok(t) = std::fs::read_to_string(&rotated) {
            print_records(&t, &prefix, since.as_deref(), a.timestamps)?;
        }
        let mut f = Follow {
            prefix,
            path: dir.join(format!("{app}.log")),
            offset: 0,
            ino: 0,
            pending: String::new(),
        };
        f.pump(since.as_deref(), a.timestamps)?;
        follows.push(f);
    }
    if !a.follow {
        return Ok(0);
    }
    loop {
        let ended = pods
            .read(&rec.plan.id)
            .map_or(true, |r| r.live_phase() == Phase::Exited);
        let mut any = false;
        for f in &mut follows {
            any |= f.pump(since.as_deref(), a.timestamps)?;
        }
        if ended && !any {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
