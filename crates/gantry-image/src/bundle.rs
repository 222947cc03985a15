//! Image config + user overrides → the `process` part of an OCI runtime spec.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::{Process, User};

use crate::error::{ImageError, Result};
use crate::passwd::resolve_user;

/// The PATH used when neither the image nor the overrides set one.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the user asked for on the command line (all optional).
#[derive(Debug, Clone, Default)]
pub struct RunOverrides {
    /// Replaces the image's Entrypoint (and then drops the image's Cmd, as docker does).
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's Cmd.
    pub cmd: Option<Vec<String>>,
    /// `KEY=VALUE` entries added to (or replacing those of) the image's Env.
    pub env: Vec<String>,
    /// Replaces WorkingDir.
    pub workdir: Option<String>,
    /// Replaces User (`name`, `uid`, `name:group`, `uid:gid`).
    pub user: Option<String>,
    /// Extra volume mount points.
    pub volumes: Vec<String>,
}

/// The runtime-facing result.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// `process` with args, env, cwd and user filled in (other fields: oci-spec defaults).
    pub process: Process,
    /// Volume destinations (image Volumes + overrides), absolute, deduplicated, sorted.
    pub volumes: Vec<String>,
    /// ExposedPorts (`80/tcp`, ...).
    pub exposed_ports: Vec<String>,
    /// Image labels.
    pub labels: HashMap<String, String>,
    /// StopSignal, if set by the image.
    pub stop_signal: Option<String>,
}

fn merge_env(image: &[String], overrides: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in image.iter().chain(overrides) {
        let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
        if let Some(slot) = out
            .iter_mut()
            .find(|x| x.split_once('=').map_or(x.as_str(), |(k, _)| k) == key)
        {
            *slot = e.clone();
        } else {
            out.push(e.clone());
        }
    }
    if !out.iter().any(|e| e.starts_with("PATH=")) {
        out.insert(0, DEFAULT_PATH.to_owned());
    }
    out
}

fn clean_abs(p: &str, field: &'static str) -> Result<String> {
    if p.contains('\0') {
        return Err(ImageError::RunConfig {
            field,
            reason: "contains a NUL byte".into(),
        });
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// Builds the process (and mount/metadata hints) for a container of an image.
/// `rootfs` is the image's root filesystem, used only to resolve user/group names.
pub fn run_config(
    image: &ImageConfiguration,
    o: &RunOverrides,
    rootfs: &Path,
) -> Result<RunConfig> {
    let cfg = image.config().clone().unwrap_or_default();
    let (entrypoint, cmd) = match &o.entrypoint {
        Some(ep) => (ep.clone(), o.cmd.clone().unwrap_or_default()),
        None => (
            cfg.entrypoint().clone().unwrap_or_default(),
            o.cmd
                .clone()
                .or_else(|| cfg.cmd().clone())
                .unwrap_or_default(),
        ),
    };
    let args: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if args.is_empty() || args[0].is_empty() {
        return Err(ImageError::RunConfig {
            field: "process.args",
            reason: "the image has no Entrypoint or Cmd and none was given".into(),
        });
    }
    let env = merge_env(cfg.env().as_deref().unwrap_or(&[]), &o.env);
    let cwd = o
        .workdir
        .clone()
        .or_else(|| cfg.working_dir().clone())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    let cwd = clean_abs(&cwd, "process.cwd")?;
    let user_spec = o
        .user
        .clone()
        .or_else(|| cfg.user().clone())
        .unwrap_or_default();
    let resolved = resolve_user(rootfs, &user_spec)?;
    let mut user = User::default();
    user.set_uid(resolved.uid);
    user.set_gid(resolved.gid);
    if !resolved.additional_gids.is_empty() {
        user.set_additional_gids(Some(resolved.additional_gids.clone()));
    }
    let mut env = env;
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!(
            "HOME={}",
            resolved
                .home
                .clone()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "/".into())
        ));
    }
    let mut process = Process::default();
    process.set_args(Some(args));
    process.set_env(Some(env));
    process.set_cwd(PathBuf::from(cwd));
    process.set_user(user);
    let mut volumes = Vec::new();
    for v in cfg
        .volumes()
        .clone()
        .unwrap_or_default()
        .iter()
        .chain(&o.volumes)
    {
        let v = clean_abs(v, "volumes")?;
        if v == "/" {
            return Err(ImageError::RunConfig {
                field: "volumes",
                reason: "a volume cannot be mounted on /".into(),
            });
        }
        if !volumes.contains(&v) {
            volumes.push(v);
        }
    }
    volumes.sort();
    Ok(RunConfig {
        process,
        volumes,
        exposed_ports: cfg.exposed_ports().clone().unwrap_or_default(),
        labels: cfg.labels().clone().unwrap_or_default(),
        stop_signal: cfg.stop_signal().clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(json: &str) -> ImageConfiguration {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn entrypoint_cmd_env_cwd_user() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(
            root.path().join("etc/passwd"),
            "app:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        let img = image(
            r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},
            "config":{"Entrypoint":["/ep"],"Cmd":["a"],"Env":["A=1","PATH=/x"],"WorkingDir":"srv/../app","User":"app",
            "Volumes":{"/data":{}},"ExposedPorts":{"80/tcp":{}},"Labels":{"k":"v"}}}"#,
        );
        let rc = run_config(&img, &RunOverrides::default(), root.path()).unwrap();
        assert_eq!(rc.process.args().clone().unwrap(), ["/ep", "a"]);
        assert_eq!(rc.process.cwd(), Path::new("/app"));
        assert_eq!(rc.process.user().uid(), 1000);
        assert!(rc
            .process
            .env()
            .clone()
            .unwrap()
            .contains(&"HOME=/home/app".to_string()));
        assert_eq!(rc.volumes, ["/data"]);
        assert_eq!(rc.exposed_ports, ["80/tcp"]);
        let o = RunOverrides {
            cmd: Some(vec!["b".into()]),
            env: vec!["A=2".into()],
            user: Some("0:0".into()),
            volumes: vec!["/v/../w".into()],
            ..Default::default()
        };
        let rc = run_config(&img, &o, root.path()).unwrap();
        assert_eq!(rc.process.args().clone().unwrap(), ["/ep", "b"]);
        let env = rc.process.env().clone().unwrap();
        assert!(env.contains(&"A=2".to_string()) && !env.contains(&"A=1".to_string()));
        assert_eq!(rc.volumes, ["/data", "/w"]);
        let o = RunOverrides {
            entrypoint: Some(vec!["/bin/sh".into()]),
            ..Default::default()
        };
        assert_eq!(
            run_config(&img, &o, root.path())
                .unwrap()
                .process
                .args()
                .clone()
                .unwrap(),
            ["/bin/sh"]
        );
        let empty = image(
            r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
        );
        let e = run_config(&empty, &RunOverrides::default(), root.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("process.args"), "{e}");
        let rc = run_config(
            &empty,
            &RunOverrides {
                cmd: Some(vec!["x".into()]),
                ..Default::default()
            },
            root.path(),
        )
        .unwrap();
        assert!(rc.process.env().clone().unwrap()[0].starts_with("PATH="));
    }
}
