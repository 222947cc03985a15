//! `gantry ps`: the engine's containers and the apps of its pods (named `POD/APP`), with their live status.

use std::collections::HashMap;

use serde::Serialize;

use super::container::record::{Record, Records};
use super::container::runtime_root;
use super::pod::record::{Phase, Pods};
use crate::Global;

/// Arguments of `gantry ps`.
#[derive(Debug, Clone, clap::Args)]
pub struct PsArgs {
    /// Show all containers (default: only running ones).
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Output format: `table` or `json`.
    #[arg(long, default_value = "table")]
    pub format: Format,
    /// Show full IDs and commands.
    #[arg(long)]
    pub no_trunc: bool,
}

/// Output formats of `ps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// A JSON array.
    Json,
}

/// One container as `ps` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Full ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Process arguments.
    pub command: Vec<String>,
    /// Creation time (RFC 3339).
    pub created: String,
    /// `created`, `running`, `paused` or `exited`.
    pub state: String,
    /// Exit code, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Init PID while running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// The pod this app belongs to (its ID); absent for a single container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
}

/// The live state of each record: the runtime's view when it has one, else what the engine last wrote.
pub fn rows(g: &Global) -> anyhow::Result<Vec<Row>> {
    let records = Records::open(&g.root)?;
    let live: HashMap<String, (String, i32)> = if g.state_root.exists() {
        gantry_container::verbs::list::list(&runtime_root(&g.state_root))?
            .into_iter()
            .map(|e| (e.id, (e.status.to_owned(), e.pid)))
            .collect()
    } else {
        HashMap::new()
    };
    let mut rows: Vec<Row> = records.list()?.into_iter().map(|r| row(r, &live)).collect();
    rows.extend(pod_rows(g)?);
    Ok(rows)
}

/// The live state of one container record (as `rows` sees it), for `status` and `inspect`.
pub fn container_row(g: &Global, r: Record) -> Row {
    let mut live = HashMap::new();
    if let Ok(dir) = runtime_root(&g.state_root).open(&r.id) {
        if let Ok(state) = dir.read_state() {
            let pid = state.as_ref().map_or(0, |s| s.pid);
            live.insert(
                r.id.clone(),
                (dir.status(state.as_ref()).as_str().to_owned(), pid),
            );
        }
    }
    row(r, &live)
}

/// One row per app of every pod, named `POD/APP`.
fn pod_rows(g: &Global) -> anyhow::Result<Vec<Row>> {
    let mut out = Vec::new();
    for p in Pods::open(&g.root)?.list()? {
        let pod_phase = p.live_phase();
        for (plan, st) in p.plan.apps.iter().zip(&p.apps) {
            let phase = if pod_phase == Phase::Exited {
                Phase::Exited
            } else {
                st.phase
            };
            out.push(Row {
                id: plan.id.clone(),
                name: format!("{}/{}", p.plan.name, plan.name),
                image: plan.image.clone(),
                command: st.command.clone(),
                created: p.created.clone(),
                state: phase.as_str().to_owned(),
                exit_code: st.exit_code.filter(|_| phase == Phase::Exited),
                pid: st.pid.filter(|_| phase == Phase::Running),
                pod: Some(p.plan.id.clone()),
            });
        }
    }
    Ok(out)
}

fn row(r: Record, live: &HashMap<String, (String, i32)>) -> Row {
    let (state, pid) = match live.get(&r.id) {
        Some((s, pid)) if s == "stopped" => ("exited".to_owned(), (*pid != 0).then_some(*pid)),
        Some((s, pid)) => (s.clone(), (*pid != 0).then_some(*pid)),
        // A "running" record without runtime state: its supervisor died before recording the end.
        None if r.status == "running" || r.status == "created" => ("exited".to_owned(), None),
        None => (r.status.clone(), None),
    };
    Row {
        pid: pid.filter(|_| state != "exited"),
        id: r.id,
        name: r.name,
        image: r.image,
        command: r.command,
        created: r.created,
        exit_code: if state == "exited" { r.exit_code } else { None },
        state,
        pod: None,
    }
}

fn status_text(r: &Row) -> String {
    match (r.state.as_str(), r.exit_code) {
        ("exited", Some(c)) => format!("Exited ({c})"),
        ("exited", None) => "Exited".into(),
        ("running", _) => "Up".into(),
        (s, _) => {
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

/// Seconds since the epoch of an RFC 3339 UTC time as the engine writes it (`YYYY-MM-DDTHH:MM:SS[.frac]Z`).
pub fn parse_rfc3339(t: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from 1970-01-01 to y-mo-d in the proleptic Gregorian calendar (March-based years).
    let (y, mo) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

/// "3 minutes ago", as docker and podman show ages.
fn age(created: &str, now: i64) -> String {
    let Some(t) = parse_rfc3339(created) else {
        return created.to_owned();
    };
    let secs = (now - t).max(0);
    let (n, unit) = match secs {
        0..=59 => (secs, "second"),
        60..=3599 => (secs / 60, "minute"),
        3600..=86_399 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Runs `gantry ps`.
pub fn run(g: &Global, a: &PsArgs) -> anyhow::Result<i32> {
    let rows: Vec<Row> = rows(g)?
        .into_iter()
        .filter(|r| a.all || r.state == "running" || r.state == "paused")
        .collect();
    // The global `-q`/`--quiet` means IDs only here, as in docker and podman.
    if g.quiet {
        // A pod is listed (once) by its own ID: that is what `gantry rm`, `stop` and `logs` take.
        let mut seen = std::collections::HashSet::new();
        for r in &rows {
            let id = r.pod.as_ref().unwrap_or(&r.id);
            if seen.insert(id.clone()) {
                println!("{}", if a.no_trunc { id } else { &id[..12] });
            }
        }
        return Ok(0);
    }
    if a.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let cmd = r.command.join(" ");
            [
                if a.no_trunc {
                    r.id.clone()
                } else {
                    r.id[..12].to_owned()
                },
                r.image.clone(),
                if a.no_trunc { cmd } else { truncate(&cmd, 24) },
                age(&r.created, now),
                status_text(r),
                r.name.clone(),
            ]
        })
        .collect();
    crate::table::print(
        [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "NAMES",
        ],
        &table,
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:01.5Z"), Some(951_868_801));
        assert_eq!(parse_rfc3339("2024-02-29T12:00:00Z"), Some(1_709_208_000));
        assert_eq!(age("1970-01-01T00:00:00Z", 1), "1 second ago");
        assert_eq!(age("1970-01-01T00:00:00Z", 7200), "2 hours ago");
        assert_eq!(age("garbage", 0), "garbage");
    }
}
