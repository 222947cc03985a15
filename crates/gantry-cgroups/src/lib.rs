//! cgroup v1, hybrid and v2 management behind one interface; every controller takes a root directory.
