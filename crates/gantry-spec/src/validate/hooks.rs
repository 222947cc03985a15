//! `hooks`: config.md "POSIX-platform Hooks": each hook's `path` "MUST be absolute"; `timeout`,
//! "if set, MUST be greater than zero"; `env` has environ semantics.

use oci_spec::runtime::{Hook, Hooks};

use super::{paths, process::check_env};
use crate::{Problem, SpecError};

pub(super) fn check(hooks: &Hooks) -> Result<(), SpecError> {
    #[allow(deprecated)] // prestart is deprecated but still run by runtimes, so still checked
    let lists: [(&str, &Option<Vec<Hook>>); 6] = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    for (name, list) in lists {
        for (i, hook) in list.as_deref().unwrap_or(&[]).iter().enumerate() {
            paths::absolute(|| format!("hooks.{name}[{i}].path"), hook.path())?;
            if let Some(t) = hook.timeout() {
                if t <= 0 {
                    return Err(SpecError::invalid(
                        format!("hooks.{name}[{i}].timeout"),
                        Problem::BadTimeout { found: t },
                    ));
                }
            }
            if let Some(env) = hook.env() {
                check_env(env, &format!("hooks.{name}[{i}].env"))?;
            }
        }
    }
    Ok(())
}
