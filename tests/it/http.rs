//! Step 11 — the HTTP listener (`http-port`): `/metrics` with redis_exporter's names, the load-balancer
//! probes (`/primary/<master>`, `/replica/<master>`), `/health`, `/status`, and auth.
//!
//! These run vedette only (redis-sentinel has no HTTP port), against real redis-servers.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{
    free_port, wait_for, wait_until, Events, Sentinel, SentinelConf, Topology, Value, MASTER,
};

/// One `GET path` over a fresh connection: (status code, body). `auth` is the whole `Authorization`
/// header value. Errors (refused, reset) are `None`.
fn get(port: u16, path: &str, auth: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// `get` that must succeed at the HTTP level.
fn must_get(port: u16, path: &str, auth: Option<&str>) -> (u16, String) {
    get(port, path, auth).unwrap_or_else(|| panic!("GET {path} on {port} failed"))
}

/// A scrape as `name{labels}` → value (comments and `# EOF` dropped).
fn scrape(port: u16) -> BTreeMap<String, f64> {
    let (code, body) = must_get(port, "/metrics", None);
    assert_eq!(code, 200, "{body}");
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// A vedette with an HTTP port, and that port.
fn start_vedette(conf: SentinelConf) -> (Sentinel, u16) {
    let http = free_port();
    let s = Sentinel::vedette(conf.line(&format!("http-port {http}")));
    // The listener is bound before the RESP port answers; the first snapshot may take a moment.
    wait_until(Duration::from_secs(10), "HTTP /health answers", || {
        get(http, "/health", None).is_some()
    });
    (s, http)
}

fn master_fields(s: &Sentinel) -> BTreeMap<String, String> {
    s.master(MASTER)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_str()?)))
        .collect()
}

/// Whether the redis_exporter-named metrics in `m` agree with `SENTINEL MASTER` / `CKQUORUM` / INFO on
/// `s` (both read now; the caller retries, since the scrape and the commands are two instants). Returns
/// what differs.
fn metrics_disagree(s: &Sentinel, m: &BTreeMap<String, f64>) -> Vec<String> {
    let f = master_fields(s);
    let addr = format!("{}:{}", f["ip"], f["port"]);
    let l = format!("{{master_name=\"{MASTER}\",master_address=\"{addr}\"}}");
    let num = |k: &str| f.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(-1.0);
    let mut want: Vec<(String, f64)> = vec![
        ("redis_sentinel_masters".into(), 1.0),
        ("redis_sentinel_tilt".into(), 0.0),
        (format!("redis_sentinel_master_setting_ckquorum{l}"), num("quorum")),
        (
            format!("redis_sentinel_master_setting_failover_timeout{l}"),
            num("failover-timeout"),
        ),
        (
            format!("redis_sentinel_master_setting_parallel_syncs{l}"),
            num("parallel-syncs"),
        ),
        (
            format!("redis_sentinel_master_setting_down_after_milliseconds{l}"),
            num("down-after-milliseconds"),
        ),
        (
            format!("redis_sentinel_master_config_epoch{l}"),
            num("config-epoch"),
        ),
        (format!("redis_sentinel_master_slaves{l}"), num("num-slaves")),
        (
            format!("redis_sentinel_master_sentinels{l}"),
            num("num-other-sentinels") + 1.0,
        ),
        (
            format!(
                "redis_sentinel_master_status{{master_name=\"{MASTER}\",master_address=\"{addr}\",master_status=\"ok\"}}"
            ),
            1.0,
        ),
    ];
    if let Value::Status(ck) = s.cmd(&["SENTINEL", "CKQUORUM", MASTER]) {
        want.push((
            format!(
                "redis_sentinel_master_ckquorum_status{{master_name=\"{MASTER}\",message=\"{ck}\"}}"
            ),
            1.0,
        ));
    }
    let mut bad = Vec::new();
    for (k, v) in want {
        match m.get(&k) {
            Some(got) if *got == v => {}
            other => bad.push(format!("{k}: metrics {other:?}, SENTINEL {v}")),
        }
    }
    let ping = m
        .get(&format!(
            "redis_sentinel_master_last_ok_ping_reply_seconds{l}"
        ))
        .copied();
    if !ping.is_some_and(|p| (0.0..5.0).contains(&p)) {
        bad.push(format!("last_ok_ping_reply_seconds {ping:?}"));
    }
    bad
}

/// Polls `/primary/<master>` on one port every few ms until stopped, recording every change of answer.
struct Prober {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(Instant, u16, String)>>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Prober {
    fn start(port: u16) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let seen: Arc<Mutex<Vec<(Instant, u16, String)>>> = Arc::default();
        let (st, sn) = (stop.clone(), seen.clone());
        let thread = thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !st.load(Ordering::Relaxed) && Instant::now() < deadline {
                let (code, body) =
                    get(port, &format!("/primary/{MASTER}"), None).unwrap_or((0, String::new()));
                let mut v = sn.lock().unwrap_or_else(|p| p.into_inner());
                if v.last().is_none_or(|(_, c, b)| *c != code || *b != body) {
                    v.push((Instant::now(), code, body));
                }
                drop(v);
                thread::sleep(Duration::from_millis(5));
            }
        });
        Prober {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Vec<(Instant, u16, String)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Three vedettes with HTTP ports over a master and two replicas: the redis_exporter metrics match
/// `SENTINEL MASTER` before and after a failover, the failover is counted, and `/primary/<master>` polled
/// on every sentinel through the failover switches to the promoted replica (delay after `+switch-master`
/// printed).
#[test]
fn http_metrics_and_primary_probe_through_a_failover() {
    let mut topo = Topology::start(2);
    let conf = SentinelConf::new()
        .monitor(MASTER, topo.master.port, 2)
        .down_after(1000)
        .failover_timeout(10000);
    let nodes: Vec<(Sentinel, u16)> = (0..3).map(|_| start_vedette(conf.on_new_port())).collect();
    for (s, _) in &nodes {
        s.wait_settled(MASTER, 2, Some(2));
    }
    let old_addr = format!("127.0.0.1:{}", topo.master.port);
    for (s, http) in &nodes {
        wait_until(
            Duration::from_secs(10),
            format!("metrics on {http} match SENTINEL MASTER before the failover"),
            || metrics_disagree(s, &scrape(*http)).is_empty(),
        );
        let m = scrape(*http);
        let l = format!("{{master_name=\"{MASTER}\",master_address=\"{old_addr}\"}}");
        assert_eq!(
            m.get(&format!("redis_sentinel_master_ok_slaves{l}")),
            Some(&2.0)
        );
        assert_eq!(
            m.get(&format!("redis_sentinel_master_ok_sentinels{l}")),
            Some(&3.0)
        );
        assert_eq!(
            must_get(*http, &format!("/primary/{MASTER}"), None),
            (200, old_addr.clone())
        );
    }

    let events: Vec<Events> = nodes.iter().map(|(s, _)| s.events()).collect();
    let probers: Vec<Prober> = nodes.iter().map(|(_, h)| Prober::start(*h)).collect();
    topo.master.kill();
    let switches: Vec<(Instant, String)> = events
        .iter()
        .map(|e| {
            let ev = e.wait_for("+switch-master", MASTER, Duration::from_secs(45));
            let parts: Vec<&str> = ev.payload.split(' ').collect();
            (ev.at, format!("{}:{}", parts[3], parts[4]))
        })
        .collect();
    let new_addr = switches[0].1.clone();
    assert!(switches.iter().all(|(_, a)| *a == new_addr), "{switches:?}");
    assert_ne!(new_addr, old_addr);
    for (_, http) in &nodes {
        wait_until(
            Duration::from_secs(5),
            format!("/primary on {http} answers the new master"),
            || get(*http, &format!("/primary/{MASTER}"), None) == Some((200, new_addr.clone())),
        );
    }
    for ((prober, (at, _)), (_, http)) in probers.into_iter().zip(&switches).zip(&nodes) {
        let seen = prober.finish();
        let flip = seen
            .iter()
            .find(|(_, c, b)| *c == 200 && *b == new_addr)
            .map(|(t, _, _)| *t)
            .unwrap_or_else(|| panic!("{http}: /primary never answered {new_addr}: {seen:?}"));
        let delay_ms = flip.saturating_duration_since(*at).as_secs_f64() * 1000.0;
        let early_ms = at.saturating_duration_since(flip).as_secs_f64() * 1000.0;
        println!(
            "http {http}: /primary switched to {new_addr} {delay_ms:.1} ms after +switch-master \
             was read from pub/sub ({early_ms:.1} ms before); answers: {:?}",
            seen.iter().map(|(_, c, b)| (c, b)).collect::<Vec<_>>()
        );
        assert!(
            delay_ms < 100.0,
            "{http}: /primary switched {delay_ms:.1} ms after +switch-master"
        );
        // Once switched it stays switched, and the old master is never answered after it.
        assert!(
            seen.iter()
                .skip_while(|(_, c, b)| !(*c == 200 && *b == new_addr))
                .all(|(_, c, b)| *c == 200 && *b == new_addr),
            "{http}: {seen:?}"
        );
    }

    for (s, http) in &nodes {
        wait_until(
            Duration::from_secs(10),
            format!("metrics on {http} match SENTINEL MASTER after the failover"),
            || {
                let m = scrape(*http);
                let bad = metrics_disagree(s, &m);
                let at_new = m.keys().any(|k| {
                    k.starts_with("redis_sentinel_master_config_epoch")
                        && k.contains(&format!("master_address=\"{new_addr}\""))
                });
                bad.is_empty() && at_new
            },
        );
        let m = scrape(*http);
        assert_eq!(
            m.get(&format!(
                "vedette_switch_master_total{{master_name=\"{MASTER}\"}}"
            )),
            Some(&1.0),
            "{m:?}"
        );
    }
    // Exactly one sentinel led the failover and counted it as a success.
    wait_until(
        Duration::from_secs(20),
        "one successful failover counted",
        || {
            let total: f64 = nodes
                .iter()
                .map(|(_, h)| {
                    scrape(*h)
                        .iter()
                        .filter(|(k, _)| {
                            k.starts_with("vedette_failovers_total")
                                && k.contains("outcome=\"success")
                        })
                        .map(|(_, v)| v)
                        .sum::<f64>()
                })
                .sum();
            total == 1.0
        },
    );
    // The phase histograms counted it: the leader timed every phase (another sentinel may learn the new
    // configuration from the leader's hellos before its own down-after runs out, and then detects
    // nothing).
    let count = |h: u16, phase: &str| {
        scrape(h)
            .get(&format!(
                "vedette_failover_phase_seconds_count{{phase=\"{phase}\"}}"
            ))
            .copied()
            .unwrap_or(0.0)
    };
    for phase in ["election", "promotion", "reconfiguration"] {
        let total: f64 = nodes.iter().map(|(_, h)| count(*h, phase)).sum();
        assert_eq!(total, 1.0, "{phase} timed once over all sentinels");
    }
    let leader = nodes
        .iter()
        .map(|(_, h)| *h)
        .find(|h| count(*h, "election") == 1.0)
        .unwrap_or(0);
    assert!(
        count(leader, "detection") >= 1.0,
        "detection on the leader {leader}"
    );
}

/// With `requirepass`, every endpoint answers 401 unless the request carries the password as a bearer
/// token or basic auth for user `default`.
#[test]
fn http_requires_auth_when_requirepass_is_set() {
    let http = free_port();
    let s = Sentinel::vedette(
        SentinelConf::new()
            .line("requirepass s3cret")
            .line(&format!("http-port {http}")),
    );
    let basic = |user_pass: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    };
    for path in ["/metrics", "/health", "/status", "/primary/x", "/replica/x"] {
        assert_eq!(must_get(http, path, None).0, 401, "{path} without auth");
        assert_eq!(must_get(http, path, Some("Bearer wrong")).0, 401, "{path}");
        assert_eq!(
            must_get(http, path, Some(&basic("admin:s3cret"))).0,
            401,
            "{path}"
        );
    }
    assert_eq!(must_get(http, "/health", Some("Bearer s3cret")).0, 200);
    assert_eq!(
        must_get(http, "/metrics", Some(&basic("default:s3cret"))).0,
        200
    );
    assert_eq!(must_get(http, "/primary/x", Some("Bearer s3cret")).0, 404);
    drop(s);
}

/// `/health` is 503 while the sentinel is in TILT (the process was stopped for longer than
/// `tilt-trigger`, so its next timer run sees the clock jump) and 200 again after `tilt-period`;
/// `redis_sentinel_tilt` follows.
#[test]
fn http_health_is_503_in_tilt() {
    let topo = Topology::start(1);
    // down-after 1 s: PINGs every 100 ms, so the sleep planned before the freeze is short and the
    // freeze exceeds it by more than tilt-trigger (with Redis's default 30 s the next deadline may be
    // seconds away, and TILT allows for it).
    let (mut s, http) = start_vedette(
        SentinelConf::new()
            .monitor(MASTER, topo.master.port, 1)
            .down_after(1000),
    );
    s.wait_settled(MASTER, 1, None);
    wait_until(Duration::from_secs(10), "/health 200", || {
        get(http, "/health", None).is_some_and(|(c, _)| c == 200)
    });
    assert_eq!(
        s.cmd(&["SENTINEL", "DEBUG", "tilt-period", "3000"]),
        Value::Status("OK".into())
    );
    let ev = s.events();
    s.stop();
    // A freeze longer than tilt-trigger (2 s) plus the planned sleep is what TILT detects; there is no
    // condition to poll.
    thread::sleep(Duration::from_millis(4000));
    s.cont();
    ev.wait_for("+tilt", "", Duration::from_secs(10));
    let (code, body) = wait_for(Duration::from_secs(5), "/health 503 in TILT", || {
        get(http, "/health", None).filter(|(c, _)| *c == 503)
    });
    assert_eq!((code, body.as_str()), (503, "tilt\n"));
    assert_eq!(scrape(http).get("redis_sentinel_tilt"), Some(&1.0));
    ev.wait_for("-tilt", "", Duration::from_secs(15));
    wait_until(Duration::from_secs(5), "/health 200 after TILT", || {
        get(http, "/health", None).is_some_and(|(c, _)| c == 200)
    });
    assert_eq!(scrape(http).get("redis_sentinel_tilt"), Some(&0.0));
    assert!(scrape(http)
        .get("vedette_tilt_entered_total")
        .is_some_and(|v| *v >= 1.0));
    s.kill();
}

/// `/replica/<master>`, `/status` and the unknown-master answers.
#[test]
fn http_replica_probe_and_status() {
    let mut topo = Topology::start(1);
    let (s, http) = start_vedette(
        SentinelConf::new()
            .monitor(MASTER, topo.master.port, 1)
            .down_after(1000),
    );
    s.wait_settled(MASTER, 1, None);
    let replica = format!("127.0.0.1:{}", topo.replicas[0].port);
    wait_until(
        Duration::from_secs(10),
        "/replica answers the replica",
        || get(http, &format!("/replica/{MASTER}"), None) == Some((200, replica.clone())),
    );
    // A generous lag bound is met; lag is measured from the INFO offsets.
    wait_until(
        Duration::from_secs(10),
        "/replica?lag=1000000 answers",
        || {
            get(http, &format!("/replica/{MASTER}?lag=1000000"), None)
                == Some((200, replica.clone()))
        },
    );
    assert_eq!(must_get(http, "/primary/nosuch", None).0, 404);
    assert_eq!(must_get(http, "/replica/nosuch", None).0, 404);
    assert_eq!(must_get(http, "/nosuch", None).0, 404);

    let (code, body) = must_get(http, "/status", None);
    assert_eq!(code, 200);
    let v: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let m = &v["masters"][0];
    assert_eq!(m["name"], MASTER);
    assert_eq!(m["status"], "ok");
    assert_eq!(m["address"], format!("127.0.0.1:{}", topo.master.port));
    assert_eq!(m["replicas"][0]["name"], replica.as_str());
    assert_eq!(m["replicas"][0]["up"], true);
    assert_eq!(v["tilt"], false);
    assert_eq!(
        v["myid"].as_str(),
        s.cli(&["SENTINEL", "MYID"]).lines().next()
    );

    // The replica stops: no replica qualifies any more.
    topo.replicas[0].kill();
    wait_until(
        Duration::from_secs(10),
        "/replica 503 once the replica is down",
        || get(http, &format!("/replica/{MASTER}"), None).is_some_and(|(c, _)| c == 503),
    );
    // The master stops: /primary is 503 once it is SDOWN.
    topo.master.kill();
    wait_until(
        Duration::from_secs(10),
        "/primary 503 once the master is down",
        || {
            get(http, &format!("/primary/{MASTER}"), None) == Some((503, "sdown\n".into()))
                || get(http, &format!("/primary/{MASTER}"), None) == Some((503, "odown\n".into()))
        },
    );
}
