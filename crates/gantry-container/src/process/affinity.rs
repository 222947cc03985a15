//! `process.execCPUAffinity` (config.md "Linux process"): the CPU list syntax (`0-3,7`), and where each part
//! applies. `initial` is the affinity of the exec process before it joins the container's cgroup (the runtime sets
//! it on itself just before cloning, so the child is born with it); `final` is set by the exec child right before
//! `execve`. Neither applies to the container's init (the spec says so).

use oci_spec::runtime::Process;
use rustix::thread::CpuSet;

/// Parses a CPU or NUMA node list: comma-separated numbers and `a-b` ranges, ascending within a range.
/// Returns the listed numbers in order (duplicates kept out).
pub fn parse_list(s: &str, max: usize) -> Result<Vec<usize>, String> {
    let mut out: Vec<usize> = Vec::new();
    if s.trim().is_empty() {
        return Err("empty list".into());
    }
    for part in s.split(',') {
        let part = part.trim();
        let num = |t: &str| -> Result<usize, String> {
            t.parse::<usize>()
                .map_err(|_| format!("{t:?} is not a number (expected a list like \"0-3,7\")"))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(part)?;
                (n, n)
            }
        };
        if lo > hi {
            return Err(format!("range {part:?} is backwards"));
        }
        if hi >= max {
            return Err(format!("{hi} is out of range (at most {})", max - 1));
        }
        for n in lo..=hi {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    Ok(out)
}

/// A CPU set from a list in the `0-3,7` syntax; `field` names it in errors.
pub fn cpu_set(list: &str, field: &str) -> Result<CpuSet, String> {
    let cpus = parse_list(list, CpuSet::MAX_CPU).map_err(|e| format!("{field}: {e}"))?;
    let mut set = CpuSet::new();
    for c in cpus {
        set.set(c);
    }
    Ok(set)
}

/// The non-empty `initial` and `final` lists of `process.execCPUAffinity`, checked.
pub fn lists(p: &Process) -> Result<(Option<CpuSet>, Option<CpuSet>), String> {
    let Some(a) = p.exec_cpu_affinity() else {
        return Ok((None, None));
    };
    let pick = |v: &Option<String>, field: &str| -> Result<Option<CpuSet>, String> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => cpu_set(s, field).map(Some),
        }
    };
    Ok((
        pick(a.initial(), "process.execCPUAffinity.initial")?,
        pick(a.cpu_affinity_final(), "process.execCPUAffinity.final")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(parse_list("0-3,7", 64).unwrap(), vec![0, 1, 2, 3, 7]);
        assert_eq!(parse_list("5", 64).unwrap(), vec![5]);
        assert_eq!(parse_list("1,1,0-1", 64).unwrap(), vec![1, 0]);
    }

    #[test]
    fn bad_lists_are_refused() {
        assert!(parse_list("", 64).is_err());
        assert!(parse_list("3-1", 64).is_err());
        assert!(parse_list("a", 64).is_err());
        assert!(parse_list("1,,2", 64).is_err());
        assert!(parse_list("64", 64).unwrap_err().contains("out of range"));
        assert!(parse_list("-1", 64).is_err());
    }

    #[test]
    fn cpu_sets_carry_the_field() {
        let s = cpu_set("0,2", "f").unwrap();
        assert!(s.is_set(0) && !s.is_set(1) && s.is_set(2));
        assert!(cpu_set("x", "process.execCPUAffinity.final")
            .unwrap_err()
            .starts_with("process.execCPUAffinity.final: "));
    }
}
