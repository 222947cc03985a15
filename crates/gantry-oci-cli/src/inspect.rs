//! Verbs that report: list, ps, events, spec, features.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::values::parse_go_duration;

/// `--format` of list and ps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// JSON for programs.
    Json,
}

/// `list [-q] [--format table|json]`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct List {
    /// select one of: table or json
    #[arg(short, long, value_name = "value", value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// display only container IDs
    #[arg(short, long)]
    pub quiet: bool,
}

/// `ps [--format table|json] ID [PS-ARGS...]`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Ps {
    /// select one of: table or json
    #[arg(short, long, value_name = "value", value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// the container id
    #[arg(value_name = "container-id")]
    pub id: String,
    /// options passed to ps(1) (table format only)
    #[arg(
        value_name = "ps options",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub ps_args: Vec<String>,
}

/// `events [--stats] [--interval 5s] ID`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct Events {
    /// set the stats collection interval
    #[arg(long, value_name = "value", default_value = "5s", value_parser = parse_go_duration)]
    pub interval: Duration,
    /// display the container's stats then exit
    #[arg(long)]
    pub stats: bool,
    /// the container id
    #[arg(value_name = "container-id")]
    pub id: String,
}

/// `spec [--bundle DIR] [--rootless]`: write a template config.json.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SpecCmd {
    /// path to the root of the bundle directory
    #[arg(short, long, value_name = "value")]
    pub bundle: Option<PathBuf>,
    /// generate a configuration for a rootless container
    #[arg(long)]
    pub rootless: bool,
}
