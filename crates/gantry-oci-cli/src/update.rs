//! `update`: change a running container's resource limits.

use std::path::PathBuf;

use clap::Args;

use crate::values::parse_mem_bytes;

/// `update [flags] ID`. With `--resources` (a file, or `-` for stdin) the per-field flags are
/// ignored, as in runc.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Update {
    /// path to the file containing the resources to update or '-' to read from the standard input
    #[arg(short, long, value_name = "value")]
    pub resources: Option<PathBuf>,
    /// Specifies per cgroup weight, range is from 10 to 1000
    #[arg(long, value_name = "value")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period to be used for hardcapping (in usecs). 0 to use system default
    #[arg(long, value_name = "value")]
    pub cpu_period: Option<u64>,
    /// CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period
    #[arg(long, value_name = "value", allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight vs. other containers)
    #[arg(long, value_name = "value")]
    pub cpu_share: Option<u64>,
    /// CPU realtime period to be used for hardcapping (in usecs). 0 to use system default
    #[arg(long, value_name = "value")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period
    #[arg(long, value_name = "value", allow_negative_numbers = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPU(s) to use
    #[arg(long, value_name = "value")]
    pub cpuset_cpus: Option<String>,
    /// Memory node(s) to use
    #[arg(long, value_name = "value")]
    pub cpuset_mems: Option<String>,
    /// Kernel memory limit (in bytes); not supported (deprecated by the kernel)
    #[arg(long, value_name = "value", value_parser = parse_mem_bytes, allow_negative_numbers = true)]
    pub kernel_memory: Option<i64>,
    /// Kernel memory limit for tcp buffer (in bytes); not supported (deprecated by the kernel)
    #[arg(long, value_name = "value", value_parser = parse_mem_bytes, allow_negative_numbers = true)]
    pub kernel_memory_tcp: Option<i64>,
    /// Memory limit (in bytes; k/m/g suffixes accepted)
    #[arg(long, value_name = "value", value_parser = parse_mem_bytes, allow_negative_numbers = true)]
    pub memory: Option<i64>,
    /// Memory reservation or soft_limit (in bytes)
    #[arg(long, value_name = "value", value_parser = parse_mem_bytes, allow_negative_numbers = true)]
    pub memory_reservation: Option<i64>,
    /// Total memory usage (memory + swap); set '-1' to enable unlimited swap
    #[arg(long, value_name = "value", value_parser = parse_mem_bytes, allow_negative_numbers = true)]
    pub memory_swap: Option<i64>,
    /// Maximum number of pids allowed in the container
    #[arg(long, value_name = "value", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// The string of Intel RDT/CAT L3 cache schema
    #[arg(long, value_name = "value")]
    pub l3_cache_schema: Option<String>,
    /// The string of Intel RDT/MBA memory bandwidth schema
    #[arg(long, value_name = "value")]
    pub mem_bw_schema: Option<String>,
    /// the container id
    #[arg(value_name = "container-id")]
    pub id: String,
}
