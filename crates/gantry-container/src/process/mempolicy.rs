//! `linux.memoryPolicy` (config-linux.md "Memory policy"): NUMA policy for the container's processes, given to
//! `set_mempolicy(2)` by the init before exec (and inherited by everything it forks).

use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType};

/// The highest NUMA node number accepted in `nodes` (the kernel's MAX_NUMNODES is at most 1024).
pub const MAX_NODES: usize = 1024;

/// `(mode | flags, node bitmask words)` for `set_mempolicy(2)`, or why not (naming the field).
pub fn plan(p: &LinuxMemoryPolicy) -> Result<(i32, Vec<u64>), String> {
    let mode = match p.mode() {
        MemoryPolicyModeType::MpolDefault => 0,
        MemoryPolicyModeType::MpolPreferred => 1,
        MemoryPolicyModeType::MpolBind => 2,
        MemoryPolicyModeType::MpolInterleave => 3,
        MemoryPolicyModeType::MpolLocal => 4,
        MemoryPolicyModeType::MpolPreferredMany => 5,
        MemoryPolicyModeType::MpolWeightedInterleave => 6,
    };
    let mut flags = 0i32;
    for f in p.flags().iter().flatten() {
        flags |= match f {
            MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
            MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
            MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
        };
    }
    let nodes = match p.nodes().as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(list) => super::affinity::parse_list(list, MAX_NODES)
            .map_err(|e| format!("linux.memoryPolicy.nodes: {e}"))?,
    };
    match mode {
        // MPOL_DEFAULT and MPOL_LOCAL take no nodes.
        0 | 4 if !nodes.is_empty() => {
            return Err(format!(
                "linux.memoryPolicy.nodes: must be empty for {}",
                p.mode()
            ))
        }
        2 | 3 | 5 | 6 if nodes.is_empty() => {
            return Err(format!(
                "linux.memoryPolicy.nodes: {} needs at least one node",
                p.mode()
            ))
        }
        _ => {}
    }
    let mut mask = Vec::new();
    if !nodes.is_empty() {
        let words = nodes.iter().max().map_or(0, |m| m / 64 + 1);
        mask = vec![0u64; words];
        for n in nodes {
            mask[n / 64] |= 1 << (n % 64);
        }
    }
    Ok((mode | flags, mask))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> Result<(i32, Vec<u64>), String> {
        plan(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn modes_nodes_and_flags() {
        assert_eq!(
            p(r#"{"mode": "MPOL_BIND", "nodes": "0"}"#).unwrap(),
            (2, vec![1])
        );
        assert_eq!(
            p(r#"{"mode": "MPOL_INTERLEAVE", "nodes": "0-1,65", "flags": ["MPOL_F_STATIC_NODES"]}"#)
                .unwrap(),
            (3 | 1 << 15, vec![3, 2])
        );
        assert_eq!(p(r#"{"mode": "MPOL_DEFAULT"}"#).unwrap(), (0, vec![]));
    }

    #[test]
    fn bad_node_lists_name_the_field() {
        assert!(p(r#"{"mode": "MPOL_BIND"}"#)
            .unwrap_err()
            .starts_with("linux.memoryPolicy.nodes"));
        assert!(p(r#"{"mode": "MPOL_LOCAL", "nodes": "0"}"#).is_err());
        assert!(p(r#"{"mode": "MPOL_BIND", "nodes": "x"}"#).is_err());
    }
}
