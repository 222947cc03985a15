//! One container's cgroup lifecycle on the host's real layout, for `strace -c` counts:
//! `cargo run -p gantry-cgroups --example lifecycle -- /gantry-example-$$` (as root).

use gantry_cgroups::{Cgroup, Layout};
use std::process::Command;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: lifecycle /absolute/cgroup/path")?;
    let layout = Layout::detect()?;
    let cgroup = Cgroup::resolve(&layout, Some(&path), "example")?;
    cgroup.create()?;
    let resources = serde_json::from_str(r#"{"memory":{"limit":67108864},"pids":{"limit":32}}"#)?;
    let mut child = Command::new("sleep").arg("30").spawn()?;
    let result = (|| {
        cgroup.apply(&resources)?;
        cgroup.add_process(child.id() as i32)?;
        let state = serde_json::to_string(&cgroup)?;
        let cgroup: Cgroup = serde_json::from_str(&state)?;
        cgroup.kill_all(9)?;
        child.wait()?;
        cgroup.destroy()?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })();
    if result.is_err() {
        let _ = child.kill();
        let _ = child.wait();
        let _ = cgroup.destroy();
    }
    result
}
