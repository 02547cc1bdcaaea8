//! `/metrics`: the published snapshot in the OpenMetrics text format (which Prometheus scrapes natively).
//!
//! The `redis_sentinel_*` families carry `redis_exporter`'s names, help texts, labels and values (its
//! `exporter/sentinels.go`: `INFO`'s `# Sentinel` section, `SENTINEL MASTERS`, `CKQUORUM`, `SENTINELS`
//! and `SLAVES`), so dashboards and alerts written for a Redis Sentinel plus `redis_exporter` work
//! unchanged against vedette alone. The `vedette_*` families are what a Redis Sentinel never exposed.
//!
//! A registry is built per scrape from the snapshot: the snapshot is the source of truth, and there is no
//! long-lived metric state to keep in step with masters being added or removed.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::feed::Published;

type Labels = Vec<(&'static str, String)>;
type G = Family<Labels, Gauge<f64, AtomicU64>>;
type C = Family<Labels, Counter<u64, AtomicU64>>;

fn gauge(r: &mut Registry, name: &str, help: &str) -> G {
    let f = G::default();
    r.register(name, help, f.clone());
    f
}

fn counter(r: &mut Registry, name: &str, help: &str) -> C {
    let f = C::default();
    r.register(name, help, f.clone());
    f
}

/// A metric without labels (a family with an empty label set would print `name{} v`).
fn gauge0(r: &mut Registry, name: &str, help: &str, v: f64) {
    let g = Gauge::<f64, AtomicU64>::default();
    g.set(v);
    r.register(name, help, g);
}

fn counter0(r: &mut Registry, name: &str, help: &str, v: u64) {
    let c = Counter::<u64, AtomicU64>::default();
    c.inc_by(v);
    r.register(name, help, c);
}

fn set(f: &G, labels: Labels, v: f64) {
    f.get_or_create(&labels).set(v);
}

fn add(f: &C, labels: Labels, v: u64) {
    f.get_or_create(&labels).inc_by(v);
}

/// The scrape body for `p`.
pub fn render(p: &Published) -> String {
    let st = &p.status;
    let mut r = Registry::default();

    // redis_exporter: the `# Sentinel` INFO fields.
    gauge0(
        &mut r,
        "redis_sentinel_masters",
        "The number of masters this sentinel is watching",
        st.masters.len() as f64,
    );
    gauge0(
        &mut r,
        "redis_sentinel_tilt",
        "Sentinel is in TILT mode",
        f64::from(u8::from(st.tilt)),
    );
    gauge0(
        &mut r,
        "redis_sentinel_running_scripts",
        "Number of scripts in execution right now",
        p.running_scripts as f64,
    );
    gauge0(
        &mut r,
        "redis_sentinel_scripts_queue_length",
        "Queue of user scripts to execute",
        p.queued_scripts as f64,
    );
    gauge0(
        &mut r,
        "redis_sentinel_simulate_failure_flags",
        "Failures simulations",
        f64::from(st.simulate_failure_flags),
    );

    // redis_exporter: per master.
    let status = gauge(
        &mut r,
        "redis_sentinel_master_status",
        "Master status on Sentinel",
    );
    let slaves = gauge(
        &mut r,
        "redis_sentinel_master_slaves",
        "The number of slaves of the master",
    );
    let sentinels = gauge(
        &mut r,
        "redis_sentinel_master_sentinels",
        "The number of sentinels monitoring this master",
    );
    let ok_slaves = gauge(
        &mut r,
        "redis_sentinel_master_ok_slaves",
        "The number of okay slaves of the master",
    );
    let ok_sentinels = gauge(
        &mut r,
        "redis_sentinel_master_ok_sentinels",
        "The number of okay sentinels monitoring this master",
    );
    let ckquorum_status = gauge(
        &mut r,
        "redis_sentinel_master_ckquorum_status",
        "Master ckquorum status",
    );
    let s_quorum = gauge(
        &mut r,
        "redis_sentinel_master_setting_ckquorum",
        "Show the current ckquorum config for each master",
    );
    let s_timeout = gauge(
        &mut r,
        "redis_sentinel_master_setting_failover_timeout",
        "Show the current failover-timeout config for each master",
    );
    let s_syncs = gauge(
        &mut r,
        "redis_sentinel_master_setting_parallel_syncs",
        "Show the current parallel-syncs config for each master",
    );
    let s_down_after = gauge(
        &mut r,
        "redis_sentinel_master_setting_down_after_milliseconds",
        "Show the current down-after-milliseconds config for each master",
    );
    let config_epoch = gauge(
        &mut r,
        "redis_sentinel_master_config_epoch",
        "Get the current config epoch for each master",
    );
    let last_ok_ping = gauge(
        &mut r,
        "redis_sentinel_master_last_ok_ping_reply_seconds",
        "The number of seconds since the last successful ping reply from the master",
    );

    // vedette.
    gauge0(
        &mut r,
        "vedette_current_epoch",
        "The sentinel's current epoch",
        st.current_epoch as f64,
    );
    gauge0(
        &mut r,
        "vedette_tilt_seconds",
        "How long TILT has been on (0 when off)",
        st.tilt_since_ms.unwrap_or(0) as f64 / 1000.0,
    );
    gauge0(
        &mut r,
        "vedette_state_write_failing",
        "1 while state writes fail (the last failed, or one hung); commands that change the configuration answer errors meanwhile",
        f64::from(u8::from(st.state_write_failing)),
    );
    counter0(
        &mut r,
        "vedette_state_writes",
        "Durable state writes that succeeded",
        st.state_writes_ok,
    );
    counter0(
        &mut r,
        "vedette_state_write_failures",
        "Durable state writes that failed",
        st.state_writes_failed,
    );
    counter0(
        &mut r,
        "vedette_tilt_entered",
        "Times TILT mode was entered",
        p.counters.events.get("+tilt").copied().unwrap_or(0),
    );
    let v_events = counter(
        &mut r,
        "vedette_events",
        "Sentinel events emitted, by type (+sdown, +switch-master, +tilt, ...)",
    );
    let v_failovers = counter(
        &mut r,
        "vedette_failovers",
        "Failovers this sentinel led, by outcome: success, success_reconf_timeout, not_elected, no_good_replica, promotion_timeout",
    );
    let v_switches = counter(
        &mut r,
        "vedette_switch_master",
        "Master address switches (+switch-master) seen by this sentinel",
    );
    let v_in_failover = gauge(
        &mut r,
        "vedette_master_failover_in_progress",
        "1 while this sentinel runs a failover of the master, labelled with its state",
    );
    let v_replica_offset = gauge(
        &mut r,
        "vedette_replica_repl_offset",
        "A replica's replication offset (slave-repl-offset)",
    );
    let v_replica_lag = gauge(
        &mut r,
        "vedette_replica_lag_bytes",
        "How far a replica's offset trails its master's master_repl_offset, as of their last INFO replies",
    );
    let v_replica_up = gauge(
        &mut r,
        "vedette_replica_up",
        "1 when the replica is not subjectively down and its link to the master is up",
    );

    for (kind, n) in &p.counters.events {
        add(&v_events, vec![("event", (*kind).to_string())], *n);
    }
    for ((master, outcome), n) in &p.counters.failovers {
        add(
            &v_failovers,
            vec![
                ("master_name", master.clone()),
                ("outcome", (*outcome).to_string()),
            ],
            *n,
        );
    }
    for (master, n) in &p.counters.switches {
        add(&v_switches, vec![("master_name", master.clone())], *n);
    }

    for m in &st.masters {
        let addr = format!("{}:{}", m.host, m.port);
        let ml = || -> Labels {
            vec![
                ("master_name", m.name.clone()),
                ("master_address", addr.clone()),
            ]
        };
        let word = m.status_word();
        set(
            &status,
            vec![
                ("master_name", m.name.clone()),
                ("master_address", addr.clone()),
                ("master_status", word.to_string()),
            ],
            if word == "ok" { 1.0 } else { 0.0 },
        );
        set(&slaves, ml(), m.replicas.len() as f64);
        // INFO counts this sentinel too.
        set(&sentinels, ml(), (m.sentinels.len() + 1) as f64);
        let ok_r = m.replicas.iter().filter(|r| !r.s_down).count();
        set(&ok_slaves, ml(), ok_r as f64);
        let ok_s = 1 + m.sentinels.iter().filter(|s| !s.s_down).count();
        set(&ok_sentinels, ml(), ok_s as f64);
        set(
            &ckquorum_status,
            vec![
                ("master_name", m.name.clone()),
                ("message", m.ckquorum_message.clone()),
            ],
            if m.ckquorum_ok { 1.0 } else { 0.0 },
        );
        set(&s_quorum, ml(), f64::from(m.quorum));
        set(&s_timeout, ml(), m.failover_timeout_ms as f64);
        set(&s_syncs, ml(), f64::from(m.parallel_syncs));
        set(&s_down_after, ml(), m.down_after_ms as f64);
        set(&config_epoch, ml(), m.config_epoch as f64);
        set(&last_ok_ping, ml(), m.last_ok_ping_reply_ms as f64 / 1000.0);
        if let Some(f) = &m.failover {
            let mut l = ml();
            l.push(("state", f.state.to_string()));
            set(&v_in_failover, l, 1.0);
        }
        for rep in &m.replicas {
            let l = || -> Labels {
                vec![
                    ("master_name", m.name.clone()),
                    ("replica_address", format!("{}:{}", rep.host, rep.port)),
                ]
            };
            set(&v_replica_offset, l(), rep.repl_offset as f64);
            if let Some(mo) = m.repl_offset {
                set(
                    &v_replica_lag,
                    l(),
                    mo.saturating_sub(rep.repl_offset) as f64,
                );
            }
            let up = !rep.s_down && !rep.disconnected && rep.master_link_up;
            set(&v_replica_up, l(), f64::from(u8::from(up)));
        }
    }

    r.register(
        "vedette_failover_phase_seconds",
        "Failover phase durations: detection (+sdown to +odown of a master), and for failovers led here election (+try-failover to +elected-leader), promotion (+selected-slave to +promoted-slave), reconfiguration (+promoted-slave to +failover-end)",
        p.counters.phases.clone(),
    );

    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &r);
    out
}
