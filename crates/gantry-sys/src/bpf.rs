//! eBPF program loading and cgroup attachment (for the cgroup v2 device controller).
