//! The container library: process model, namespaces, root filesystem, hooks, state and lifecycle verbs.
