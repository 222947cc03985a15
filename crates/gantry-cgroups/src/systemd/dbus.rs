//! The D-Bus conversation with systemd's manager (zbus, blocking API): start a transient scope, stop a unit, and
//! wait for the job either started.
//!
//! zbus runs an executor thread for its connection, so these functions are only ever called through
//! [`gantry_sys::helper::run_in_child`]: the thread lives and dies in a short-lived child, and the runtime, which
//! clones container processes, never has a second thread.

use zbus::blocking::{Connection, Proxy};
use zbus::zvariant::{OwnedObjectPath, Value};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

fn manager(conn: &Connection) -> Result<Proxy<'_>, String> {
    Proxy::new(conn, DEST, PATH, MANAGER).map_err(|e| format!("systemd manager proxy: {e}"))
}

fn system_bus() -> Result<Connection, String> {
    Connection::system().map_err(|e| {
        format!("connect to the system D-Bus (is dbus running? /run/dbus/system_bus_socket): {e}")
    })
}

/// Starts the transient scope `unit` in `slice` holding `pid`, with `Delegate=yes` (the runtime writes the
/// cgroup's files itself) and the accounting runc turns on, and waits until systemd's job for it is done.
pub fn start_scope(unit: &str, slice: &str, pid: u32, description: &str) -> Result<(), String> {
    let conn = system_bus()?;
    let mgr = manager(&conn)?;
    let props: Vec<(&str, Value<'_>)> = vec![
        ("Description", Value::from(description)),
        ("Slice", Value::from(slice)),
        ("Delegate", Value::from(true)),
        ("PIDs", Value::from(vec![pid])),
        ("DefaultDependencies", Value::from(false)),
        ("MemoryAccounting", Value::from(true)),
        ("CPUAccounting", Value::from(true)),
        ("IOAccounting", Value::from(true)),
        ("TasksAccounting", Value::from(true)),
    ];
    let aux: Vec<(&str, Vec<(&str, Value<'_>)>)> = Vec::new();
    run_job(&mgr, unit, "start", |m| {
        m.call("StartTransientUnit", &(unit, "fail", props, aux))
    })
}

/// Stops `unit` and waits until its job is done. A unit that is already gone is not an error.
pub fn stop_unit(unit: &str) -> Result<(), String> {
    let conn = system_bus()?;
    let mgr = manager(&conn)?;
    match run_job(&mgr, unit, "stop", |m| {
        m.call("StopUnit", &(unit, "replace"))
    }) {
        Err(e) if e.contains("org.freedesktop.systemd1.NoSuchUnit") => Ok(()),
        r => r,
    }
}

/// Sets `props` on the running `unit` (runtime only: nothing is written under /etc).
pub fn set_properties(unit: &str, props: &[(&str, u64)]) -> Result<(), String> {
    let conn = system_bus()?;
    let mgr = manager(&conn)?;
    let values: Vec<(&str, Value<'_>)> = props.iter().map(|(k, v)| (*k, Value::from(*v))).collect();
    mgr.call::<_, _, ()>("SetUnitProperties", &(unit, true, values))
        .map_err(|e| format!("systemd: set properties of {unit}: {e}"))
}

/// Subscribes to `JobRemoved` before calling `call` (so the signal cannot be missed), then waits for the
/// signal of the job `call` returned and checks its result.
fn run_job(
    mgr: &Proxy<'_>,
    unit: &str,
    what: &str,
    call: impl FnOnce(&Proxy<'_>) -> zbus::Result<OwnedObjectPath>,
) -> Result<(), String> {
    let removed = mgr
        .receive_signal("JobRemoved")
        .map_err(|e| format!("subscribe to systemd's JobRemoved signal: {e}"))?;
    // Signals go out only while someone is subscribed; "already subscribed" is fine.
    let _: zbus::Result<()> = mgr.call("Subscribe", &());
    let job = call(mgr).map_err(|e| format!("systemd: {what} unit {unit}: {e}"))?;
    for msg in removed {
        let body = msg.body();
        let Ok((_id, path, _unit, result)) =
            body.deserialize::<(u32, OwnedObjectPath, String, String)>()
        else {
            continue;
        };
        if path == job {
            return if result == "done" {
                Ok(())
            } else {
                Err(format!(
                    "systemd: {what} job for unit {unit} ended with result \"{result}\" \
                     (see journalctl -u {unit})"
                ))
            };
        }
    }
    Err(format!(
        "systemd: the D-Bus connection closed before the {what} job for {unit} finished"
    ))
}
