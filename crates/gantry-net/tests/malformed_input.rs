//! The `cni_inputs` fuzz target's entry point over a deterministic corpus of broken inputs (every prefix and
//! byte mutations of valid conflists and results, wrong types, deep nesting, odd flag values), so CI exercises
//! it on stable: no panic, and every error one line.

use gantry_net::fuzzing::parse_untrusted;

const SEEDS: &[&str] = &[
    r#"{"cniVersion":"1.0.0","name":"gantry0","plugins":[{"type":"bridge","bridge":"gantry0","isGateway":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.89.0.0/16"}]]}},{"type":"portmap","capabilities":{"portMappings":true}},{"type":"firewall"},{"type":"tuning"}]}"#,
    r#"{"cniVersion":"0.4.0","name":"single","type":"ptp","ipMasq":true}"#,
    r#"{"cniVersion":"1.0.0","interfaces":[{"name":"b"},{"name":"eth0","sandbox":"/x"}],"ips":[{"interface":1,"address":"10.89.0.2/16","gateway":"10.89.0.1"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.89.0.1"}],"dns":{"nameservers":["1.1.1.1"]}}"#,
    r#"{"cniVersion":"1.0.0","code":7,"msg":"bad\nthing","details":"x\ny"}"#,
    "127.0.0.1:8080:80/udp",
    "[::1]:443:8443",
    "default,blue",
    "db:[fd00::1]",
    "search a.example\nnameserver 127.0.0.53\noptions ndots:2 edns0\nnameserver fe80::1%eth0\n",
];

#[test]
fn every_prefix_and_mutation_parses_or_fails_on_one_line() {
    let mut count = 0;
    for seed in SEEDS {
        let bytes = seed.as_bytes();
        for end in 0..=bytes.len() {
            parse_untrusted(&bytes[..end]);
            count += 1;
        }
        for i in 0..bytes.len() {
            for replacement in [b'"', b'{', b'[', b':', b',', b'0', b'\\', b'\n', 0xff, b'/'] {
                let mut m = bytes.to_vec();
                m[i] = replacement;
                parse_untrusted(&m);
                count += 1;
            }
        }
    }
    assert!(count > 8_000, "corpus too small: {count}");
}

#[test]
fn wrong_types_and_deep_nesting() {
    for input in [
        r#"{"cniVersion":1,"name":"a","plugins":[{"type":"x"}]}"#,
        r#"{"cniVersion":"1.0.0","name":["a"],"plugins":[{"type":"x"}]}"#,
        r#"{"cniVersion":"1.0.0","name":"a","plugins":{"type":"x"}}"#,
        r#"{"cniVersion":"1.0.0","name":"a","plugins":[{"type":7}]}"#,
        r#"{"cniVersion":"1.0.0","name":"a","plugins":[null]}"#,
        r#"{"ips":[{"address":7}]}"#,
        r#"{"ips":[{"address":"10.0.0.1/8","gateway":"not-an-ip"}]}"#,
        r#"{"interfaces":[{"name":"x","sandbox":null}],"ips":[{"address":"1.2.3.4","interface":99}]}"#,
        "65536:80",
        "0:0",
        "::::",
        "[]:1:2",
        "nameserver\nnameserver 999.1.1.1\n",
    ] {
        parse_untrusted(input.as_bytes());
    }
    parse_untrusted(&vec![b'['; 100_000]);
    parse_untrusted(
        &[b'{'; 50_000]
            .iter()
            .chain(b"}")
            .copied()
            .collect::<Vec<_>>(),
    );
}
