//! The fuzz target's entry point (`parse_and_validate`) over a deterministic corpus of broken
//! documents, so CI exercises it without nightly: every prefix of real configs, single-byte
//! mutations, wrong JSON types in every field, deep nesting and edge values. Nothing may panic,
//! and every error must be a single line.

use gantry_spec::parse_and_validate;
use serde_json::{json, Value};

const RUNC: &str = include_str!("fixtures/runc-1.1-spec.json");
const ROOTLESS: &str = include_str!("fixtures/runc-1.1-spec-rootless.json");
const RICH: &str = include_str!("fixtures/rich.json");

fn run(bytes: &[u8]) {
    if let Err(e) = parse_and_validate(bytes) {
        let text = e.to_string();
        assert!(
            !text.contains('\n'),
            "multi-line error for {:?}: {text}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn seeds_are_valid() {
    for doc in [RUNC, ROOTLESS, RICH] {
        parse_and_validate(doc.as_bytes()).unwrap();
    }
}

#[test]
fn every_prefix() {
    for doc in [RUNC, RICH] {
        for end in 0..doc.len() {
            run(&doc.as_bytes()[..end]);
        }
    }
}

#[test]
fn byte_mutations() {
    // A small xorshift: deterministic, no dependency.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let specials = [
        b'"', b'{', b'}', b'[', b']', b',', b':', b'\\', 0, 0xff, b'0', b'-', b'.',
    ];
    for doc in [RUNC, RICH] {
        for _ in 0..3000 {
            let mut bytes = doc.as_bytes().to_vec();
            for _ in 0..(1 + next() % 3) {
                let i = (next() as usize) % bytes.len();
                bytes[i] = specials[(next() as usize) % specials.len()];
            }
            run(&bytes);
        }
    }
}

/// Replaces every value in the document, one at a time, by values of other JSON types.
#[test]
fn wrong_type_everywhere() {
    let doc: Value = serde_json::from_str(RICH).unwrap();
    let replacements = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1.5),
        json!(18446744073709551615u64),
        json!(""),
        json!("\u{0}"),
        json!("../../.."),
        json!([]),
        json!({}),
    ];
    let mut paths = Vec::new();
    collect_paths(&doc, &mut Vec::new(), &mut paths);
    for path in &paths {
        for r in &replacements {
            let mut d = doc.clone();
            *pointer(&mut d, path) = r.clone();
            run(&serde_json::to_vec(&d).unwrap());
        }
    }
    assert!(paths.len() > 40, "corpus too small: {}", paths.len());
}

fn collect_paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(k.clone());
                collect_paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(i.to_string());
                collect_paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn pointer<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Object(m) => m.get_mut(k).unwrap(),
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        _ => unreachable!(),
    })
}

#[test]
fn edge_documents() {
    let deep_array = "[".repeat(100_000);
    let deep_object = "{\"a\":".repeat(100_000);
    let long_string = format!("{{\"ociVersion\":\"{}\"}}", "9".repeat(1 << 20));
    let many_mounts = format!(
        "{{\"ociVersion\":\"1.2.0\",\"root\":{{\"path\":\"r\"}},\"mounts\":[{}]}}",
        vec!["{\"destination\":\"/x\"}"; 50_000].join(",")
    );
    let many_maps = format!(
        "{{\"ociVersion\":\"1.2.0\",\"root\":{{\"path\":\"r\"}},\"linux\":{{\"namespaces\":[{{\"type\":\"user\"}}],\"uidMappings\":[{}]}}}}",
        (0..5000)
            .map(|i| format!("{{\"containerID\":{i},\"hostID\":{i},\"size\":1}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    for doc in [
        "",
        " ",
        "\u{feff}{}",
        "{}",
        "{\"ociVersion\":\"1.2.0\"}",
        "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},\"process\":{}}",
        "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"uidMappings\":[{\"containerID\":4294967295,\"hostID\":4294967295,\"size\":4294967295}]}}",
        "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"sysctl\":{\"\":\"\",\"..\":\"\"}}}",
        "{\"ociVersion\":\"1.2.0\",\"ociVersion\":\"2.0.0\"}",
        "{\"ociVersion\":\"1.2.0\"} trailing",
        "\"\\ud800\"",
        &deep_array,
        &deep_object,
        &long_string,
        &many_mounts,
        &many_maps,
    ] {
        run(doc.as_bytes());
    }
}
