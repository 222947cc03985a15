//! `gantry inspect`: an image's names, digests, manifest and configuration as JSON; or a pod's (or one app's)
//! plan and status; or a single container's record and state.

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::lookup::{find_image, open_store};
use crate::Global;

/// Arguments of `gantry inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// Images (name, short name or digest prefix), pods (name or ID), pod apps (`POD/APP`) or single
    /// containers (name or ID).
    #[arg(required = true)]
    pub images: Vec<String>,
}

fn document(
    store: &gantry_image::Store,
    d: &gantry_image::Digest,
    what: &'static str,
) -> Result<Value> {
    let bytes = store.read_document(d, what).with_context(|| {
        format!("read the {what} {d} (the store is damaged: pull the image again)")
    })?;
    serde_json::from_slice(&bytes).with_context(|| format!("parse the {what} {d}"))
}

/// A pod (`POD`) or one of its apps (`POD/APP`) as JSON: its plan and last recorded status, the pod's phase as
/// seen now (`exited` once its supervisor is gone).
fn inspect_pod(pods: &super::pod::record::Pods, key: &str) -> Result<Option<Value>> {
    let (pod_key, app) = match key.split_once('/') {
        Some((p, a)) if !a.contains('/') && !a.contains(':') => (p, Some(a)),
        _ => (key, None),
    };
    let Some(rec) = pods.find(pod_key)? else {
        return Ok(None);
    };
    let phase = rec.live_phase();
    let Some(app) = app else {
        let mut v = serde_json::to_value(&rec)?;
        v["kind"] = json!("pod");
        v["phase"] = json!(phase.as_str());
        return Ok(Some(v));
    };
    let Some(i) = rec.plan.apps.iter().position(|x| x.name == app) else {
        return Ok(None);
    };
    Ok(Some(json!({
        "kind": "app",
        "pod": rec.plan.id,
        "podName": rec.plan.name,
        "plan": rec.plan.apps[i],
        "status": rec.apps[i],
        "podPhase": phase.as_str(),
    })))
}

/// A single container (a foreground `gantry run` of one image): its record, with the state and PID as seen
/// now.
fn inspect_container(g: &Global, rec: super::container::record::Record) -> Result<Value> {
    let mut v = serde_json::to_value(&rec)?;
    let row = super::ps::container_row(g, rec);
    v["kind"] = json!("container");
    v["status"] = json!(row.state);
    v["exit_code"] = json!(row.exit_code);
    v["pid"] = json!(row.pid);
    Ok(v)
}

/// Runs `gantry inspect`: prints a JSON array, one object per image.
pub fn run(g: &Global, a: &InspectArgs) -> Result<i32> {
    let store = open_store(g)?;
    let mut out = Vec::new();
    let pods = super::pod::record::Pods::open(&g.root)?;
    let records = super::container::record::Records::open(&g.root)?;
    for input in &a.images {
        if let Some(v) = inspect_pod(&pods, input)? {
            out.push(v);
            continue;
        }
        if let Ok(rec) = records.find(input) {
            out.push(inspect_container(g, rec)?);
            continue;
        }
        let img = find_image(&store, input)?;
        let rec = store
            .manifest(&img.manifest)
            .with_context(|| format!("manifest record of {}", img.name))?;
        let names: Vec<String> = store
            .images()?
            .into_iter()
            .filter(|i| i.manifest == img.manifest)
            .map(|i| i.name)
            .collect();
        let index = (img.target != img.manifest)
            .then(|| document(&store, &img.target, "index"))
            .transpose()?;
        let config = document(&store, &rec.config, "image config")?;
        out.push(json!({
            "name": img.name,
            "names": names,
            "id": rec.config.to_string(),
            "digest": img.target.to_string(),
            "mediaType": img.target_media_type,
            "manifestDigest": img.manifest.to_string(),
            "os": config.get("os"),
            "architecture": config.get("architecture"),
            "variant": config.get("variant"),
            "layers": rec.layers.iter().map(|l| json!({
                "digest": l.digest.to_string(), "size": l.size, "mediaType": l.media_type,
                "diffID": l.diff_id.to_string(), "chainID": l.chain_id.to_string(),
                "unpacked": store.snapshot(&l.chain_id).ok().flatten().is_some(),
            })).collect::<Vec<_>>(),
            "index": index,
            "manifest": document(&store, &img.manifest, "manifest")?,
            "config": config,
        }));
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(0)
}
