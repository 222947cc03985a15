//! One entry point over every parser of untrusted input in this crate, shared by the `cni_inputs` fuzz target
//! (`fuzz/`) and the malformed-input test that runs it on stable in CI.

use std::path::Path;

use crate::{
    etcfiles, CniResult, Conflist, HostEntry, LoopbackResolver, NetMode, PortMapping, ResolvInput,
};

/// Feeds `data` to the conflist, CNI result and CNI error parsers, and (as text) to the `-p`, `--net`,
/// `--add-host`, `--dns` and `--hostname` parsers and the resolv.conf generator. Panics only if a parser
/// panicked or an error message spans more than one line.
pub fn parse_untrusted(data: &[u8]) {
    let one_line = |e: &dyn std::fmt::Display| {
        let text = e.to_string();
        assert!(!text.contains('\n'), "multi-line error: {text}");
    };
    match Conflist::parse(data, Path::new("fuzz.conflist")) {
        Ok(c) => {
            let again = Conflist::from_value(c.to_json(), Path::new("again"))
                .expect("a parsed conflist re-parses");
            assert_eq!(again.plugins, c.plugins);
            let _ = c.supports_check();
        }
        Err(e) => one_line(&e),
    }
    if let Ok(r) = CniResult::parse(data) {
        let _ = (r.pod_ip(), r.gateway());
    }
    let err = crate::result::CniError::parse(data, data);
    assert!(!err.msg.contains('\n'));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = PortMapping::parse(text) {
        one_line(&e);
    }
    if let Err(e) = NetMode::parse(text) {
        one_line(&e);
    }
    if let Err(e) = HostEntry::parse(text) {
        one_line(&e);
    }
    if let Err(e) = etcfiles::parse_dns(text) {
        one_line(&e);
    }
    if let Err(e) = etcfiles::parse_hostname(text) {
        one_line(&e);
    }
    let input = ResolvInput {
        host: text,
        resolved_upstream: Some(text),
        dns: &[],
        gateway: None,
        loopback: LoopbackResolver::Refuse,
        host_network: false,
    };
    match etcfiles::resolv_conf(&input) {
        Ok(out) => assert!(out.lines().all(|l| !l.is_empty())),
        Err(e) => one_line(&e),
    }
}
