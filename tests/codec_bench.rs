//! Micro-benchmark of the link reply codec against the `redis` crate's value parser and the
//! `redis-protocol` crate, on the replies a sentinel's links read all day: `+PONG`, a 4.9 KB `INFO`
//! reply (captured from redis-server 7.0), a `__sentinel__:hello` pub/sub message, an
//! `IS-MASTER-DOWN-BY-ADDR` answer and a `PUBLISH` count.
//!
//! Ignored by default (a timing, not a check); run it with
//! `cargo test --release --test codec_bench -- --ignored --nocapture`. The figures and the decision
//! they led to are in docs/benchmarks.md ("Link reply codec").

use std::hint::black_box;
use std::time::Instant;

use vedette::link::codec::{parse, Limits};

const INFO: &[u8] = include_bytes!("data/info_reply.resp");

fn replies() -> Vec<(&'static str, Vec<u8>)> {
    let hello =
        b"127.0.0.1,26379,0123456789012345678901234567890123456789,3,mymaster,127.0.0.1,6379,2";
    let mut msg = Vec::new();
    msg.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$18\r\n__sentinel__:hello\r\n");
    msg.extend_from_slice(format!("${}\r\n", hello.len()).as_bytes());
    msg.extend_from_slice(hello);
    msg.extend_from_slice(b"\r\n");
    vec![
        ("+PONG", b"+PONG\r\n".to_vec()),
        ("INFO (4.9 KB bulk)", INFO.to_vec()),
        ("hello message", msg),
        (
            "is-master-down-by-addr",
            b"*3\r\n:0\r\n$1\r\n*\r\n:0\r\n".to_vec(),
        ),
        ("PUBLISH count", b":2\r\n".to_vec()),
    ]
}

/// Nanoseconds per call of `f` (best of 5 rounds, so a busy machine's hiccups do not count).
fn ns_per(iters: u32, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(iters)
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn all_three_parse_every_sample() {
    for (name, bytes) in replies() {
        let ours = parse(&bytes, &Limits::default());
        assert!(
            matches!(ours, Ok(Some((_, n))) if n == bytes.len()),
            "{name}"
        );
        assert!(redis::parse_redis_value(&bytes).is_ok(), "{name}");
        let rp = redis_protocol::resp2::decode::decode(&bytes);
        assert!(matches!(rp, Ok(Some((_, n))) if n == bytes.len()), "{name}");
    }
}

#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn codec_micro_benchmark() {
    let limits = Limits::default();
    println!("| reply | bytes | vedette codec | redis::parse_redis_value | redis-protocol resp2 decode |");
    println!("|---|---|---|---|---|");
    for (name, bytes) in replies() {
        let iters = if bytes.len() > 1000 { 20_000 } else { 500_000 };
        let ours = ns_per(iters, || {
            black_box(parse(black_box(&bytes), &limits).ok());
        });
        let redis = ns_per(iters, || {
            black_box(redis::parse_redis_value(black_box(&bytes)).ok());
        });
        let rp = ns_per(iters, || {
            black_box(redis_protocol::resp2::decode::decode(black_box(&bytes)).ok());
        });
        println!(
            "| {name} | {} | {ours:.0} ns | {redis:.0} ns | {rp:.0} ns |",
            bytes.len()
        );
    }
}
