//! The optional HTTP listener (`http-port`, `http-bind`): Prometheus metrics, load-balancer probes and a
//! JSON status, read-only.
//!
//! | path | answer |
//! |---|---|
//! | `/metrics` | OpenMetrics text: `redis_exporter`'s `redis_sentinel_*` families plus `vedette_*` ([`metrics`]) |
//! | `/primary/<master>` | 200 + `ip:port` when this sentinel knows the master and it is neither SDOWN nor ODOWN; 503 otherwise; 404 for an unknown master |
//! | `/replica/<master>?lag=<bytes>` | 200 + `ip:port` of the least-lagging up replica within `lag` (any up replica without `lag`); 503 if none; 404 for an unknown master |
//! | `/health` | 200 when not in TILT and state writes succeed; 503 otherwise |
//! | `/status` | JSON: masters, replicas (flags, offsets, lag), peers, epochs, failover in progress |
//!
//! It runs on the sentinel's runtime but never touches the core: handlers read the snapshot the driver
//! publishes ([`feed`]), so a slow or hostile HTTP client cannot delay the sentinel loop, and no endpoint
//! can change state. With `requirepass` set every request needs `Authorization: Bearer <password>` or
//! basic auth as user `default` (the only user a sentinel has); others get 401.

pub mod feed;
pub mod metrics;

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use feed::{Counters, Published, StatusFeed};

use vedette_core::status::{MasterStatus, ReplicaStatus};

/// What the handlers share.
#[derive(Debug, Clone)]
struct Ctx {
    feed: StatusFeed,
    /// `requirepass`: required of every request when set.
    password: Option<Arc<str>>,
}

/// Serve `listeners` until `shutdown` is cancelled.
pub async fn serve(
    listeners: Vec<TcpListener>,
    feed: StatusFeed,
    password: Option<String>,
    shutdown: CancellationToken,
) {
    let ctx = Ctx {
        feed,
        password: password.map(Arc::from),
    };
    let app = router(ctx);
    let mut tasks = tokio::task::JoinSet::new();
    for l in listeners {
        let app = app.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            let addr = l.local_addr().ok();
            if let Err(e) = axum::serve(l, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
            {
                tracing::warn!(?addr, "HTTP listener failed: {e}");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/health", get(health))
        .route("/status", get(status))
        .route("/primary/{master}", get(primary))
        .route("/replica/{master}", get(replica))
        .layer(axum::middleware::from_fn_with_state(ctx.clone(), auth))
        .with_state(ctx)
}

/// Whether the request's `Authorization` header carries the password (bearer token, or basic auth as
/// `default`). Compared in constant time.
fn authorized(headers: &HeaderMap, password: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return crate::server::ct_eq(rest.as_bytes(), password.as_bytes());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest) else {
            return false;
        };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return false;
        };
        let (user, pass) = (&decoded[..colon], &decoded[colon + 1..]);
        return user == b"default" && crate::server::ct_eq(pass, password.as_bytes());
    }
    false
}

async fn auth(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    if let Some(p) = &ctx.password {
        if !authorized(req.headers(), p) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"vedette\"")],
                "authentication required\n",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// The current snapshot, or 503 before the driver published its first.
async fn snapshot(ctx: &Ctx) -> Result<Arc<Published>, Response> {
    ctx.feed
        .current()
        .await
        .ok_or_else(|| (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response())
}

fn text(code: StatusCode, body: String) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A 200 with `render` of the current snapshot, computed off the runtime's thread (which the sentinel
/// loop shares): encoding 1000 masters takes a while.
async fn rendered(
    ctx: &Ctx,
    content_type: &'static str,
    render: fn(&Published) -> String,
) -> Response {
    let p = match snapshot(ctx).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match tokio::task::spawn_blocking(move || render(&p)).await {
        Ok(body) => (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

async fn metrics_handler(State(ctx): State<Ctx>) -> Response {
    let openmetrics = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    rendered(&ctx, openmetrics, metrics::render).await
}

async fn health(State(ctx): State<Ctx>) -> Response {
    let p = match snapshot(&ctx).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let st = &p.status;
    if st.tilt {
        text(StatusCode::SERVICE_UNAVAILABLE, "tilt\n".into())
    } else if st.state_write_failing {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            "state writes failing\n".into(),
        )
    } else {
        text(StatusCode::OK, "ok\n".into())
    }
}

fn find<'a>(p: &'a Published, name: &str) -> Option<&'a MasterStatus> {
    p.status.masters.iter().find(|m| m.name == name)
}

fn addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

async fn primary(State(ctx): State<Ctx>, Path(master): Path<String>) -> Response {
    let p = match snapshot(&ctx).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(m) = find(&p, &master) else {
        return text(StatusCode::NOT_FOUND, "no such master\n".into());
    };
    if m.s_down || m.o_down {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", m.status_word()),
        );
    }
    text(StatusCode::OK, addr(&m.addr_host, m.addr_port))
}

#[derive(Debug, serde::Deserialize)]
struct LagQuery {
    lag: Option<u64>,
}

/// A replica that can serve reads: not SDOWN, linked to us, and its link to its master up.
fn replica_up(r: &ReplicaStatus) -> bool {
    !r.s_down && !r.disconnected && r.master_link_up
}

/// How far `r` trails the master, as of their last INFO replies (`None` when the master's offset is
/// unknown).
fn lag_of(m: &MasterStatus, r: &ReplicaStatus) -> Option<u64> {
    m.repl_offset.map(|mo| mo.saturating_sub(r.repl_offset))
}

async fn replica(
    State(ctx): State<Ctx>,
    Path(master): Path<String>,
    Query(q): Query<LagQuery>,
) -> Response {
    let p = match snapshot(&ctx).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(m) = find(&p, &master) else {
        return text(StatusCode::NOT_FOUND, "no such master\n".into());
    };
    let best = m
        .replicas
        .iter()
        .filter(|r| replica_up(r))
        .filter(|r| match q.lag {
            None => true,
            // An unknown lag does not qualify when a bound was asked for.
            Some(max) => lag_of(m, r).is_some_and(|l| l <= max),
        })
        .min_by_key(|r| lag_of(m, r).unwrap_or(u64::MAX));
    match best {
        Some(r) => text(StatusCode::OK, addr(&r.host, r.port)),
        None => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "no replica within the lag\n".into(),
        ),
    }
}

async fn status(State(ctx): State<Ctx>) -> Response {
    rendered(&ctx, "application/json", |p| status_json(p).to_string()).await
}

/// The `/status` document.
pub fn status_json(p: &Published) -> serde_json::Value {
    use serde_json::json;
    let st = &p.status;
    let masters: Vec<serde_json::Value> = st
        .masters
        .iter()
        .map(|m| {
            let replicas: Vec<serde_json::Value> = m
                .replicas
                .iter()
                .map(|r| {
                    json!({
                        "name": r.name,
                        "ip": r.host,
                        "port": r.port,
                        "flags": r.flags,
                        "up": replica_up(r),
                        "master_link_up": r.master_link_up,
                        "master_link_down_time_ms": r.master_link_down_time_ms,
                        "repl_offset": r.repl_offset,
                        "lag_bytes": lag_of(m, r),
                        "priority": r.priority,
                        "last_ok_ping_reply_ms": r.last_ok_ping_reply_ms,
                    })
                })
                .collect();
            let sentinels: Vec<serde_json::Value> = m
                .sentinels
                .iter()
                .map(|s| {
                    json!({
                        "runid": s.runid,
                        "ip": s.host,
                        "port": s.port,
                        "flags": s.flags,
                        "voted_leader": s.leader,
                        "voted_leader_epoch": s.leader_epoch,
                        "last_hello_ms": s.last_hello_ms,
                    })
                })
                .collect();
            let failover = m.failover.as_ref().map(|f| {
                json!({
                    "state": f.state,
                    "epoch": f.epoch,
                    "state_age_ms": f.state_age_ms,
                    "started_ms_ago": f.started_ms_ago,
                    "promoted": f.promoted,
                })
            });
            json!({
                "name": m.name,
                "ip": m.host,
                "port": m.port,
                "address": addr(&m.addr_host, m.addr_port),
                "status": m.status_word(),
                "flags": m.flags,
                "config_epoch": m.config_epoch,
                "leader_epoch": m.leader_epoch,
                "quorum": m.quorum,
                "down_after_milliseconds": m.down_after_ms,
                "failover_timeout": m.failover_timeout_ms,
                "parallel_syncs": m.parallel_syncs,
                "last_ok_ping_reply_ms": m.last_ok_ping_reply_ms,
                "repl_offset": m.repl_offset,
                "ckquorum": { "ok": m.ckquorum_ok, "message": m.ckquorum_message },
                "failover": failover,
                "replicas": replicas,
                "sentinels": sentinels,
            })
        })
        .collect();
    json!({
        "myid": st.myid,
        "current_epoch": st.current_epoch,
        "tilt": st.tilt,
        "tilt_since_ms": st.tilt_since_ms,
        "simulate_failure_flags": st.simulate_failure_flags,
        "state_write_failing": st.state_write_failing,
        "state_writes": st.state_writes_ok,
        "state_write_failures": st.state_writes_failed,
        "running_scripts": p.running_scripts,
        "queued_scripts": p.queued_scripts,
        "snapshot_age_ms": p.taken.elapsed().as_millis() as u64,
        "masters": masters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn bearer_and_basic_auth() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(authorized(&headers("Bearer s3cret"), "s3cret"));
        assert!(authorized(&headers("bearer  s3cret "), "s3cret"));
        assert!(!authorized(&headers("Bearer s3cre"), "s3cret"));
        assert!(authorized(
            &headers(&format!("Basic {}", b64("default:s3cret"))),
            "s3cret"
        ));
        assert!(!authorized(
            &headers(&format!("Basic {}", b64("admin:s3cret"))),
            "s3cret"
        ));
        assert!(!authorized(
            &headers(&format!("Basic {}", b64("default:nope"))),
            "s3cret"
        ));
        assert!(!authorized(&headers("Basic !!!"), "s3cret"));
        assert!(!authorized(&HeaderMap::new(), "s3cret"));
    }

    /// The master `m`, or its replica, as events describe them.
    fn inst(master: bool) -> vedette_core::Instance {
        use vedette_core::{Addr, Instance};
        let m = Addr {
            name: "m".into(),
            host: "127.0.0.1".into(),
            port: 6379,
        };
        if master {
            return Instance::Master(m);
        }
        Instance::Slave {
            slave: Addr {
                name: "127.0.0.1:6380".into(),
                host: "127.0.0.1".into(),
                port: 6380,
            },
            master: m,
        }
    }

    fn switch() -> vedette_core::EventKind {
        vedette_core::EventKind::SwitchMaster {
            name: "m".into(),
            old: ("127.0.0.1".into(), 6379),
            new: ("127.0.0.1".into(), 6380),
        }
    }

    #[test]
    fn failover_outcomes() {
        use vedette_core::EventKind::*;
        let mut c = Counters::default();
        c.record(&FailoverEnd(inst(true)), Some("m"));
        c.record(&FailoverAbortNotElected(inst(true)), Some("m"));
        c.record(&switch(), Some("m"));
        c.record(&Tilt, None);
        assert_eq!(c.failovers.get(&("m".into(), "success")), Some(&1));
        assert_eq!(c.failovers.get(&("m".into(), "not_elected")), Some(&1));
        assert_eq!(c.switches.get("m"), Some(&1));
        assert_eq!(c.total(), 4);
    }

    #[test]
    fn failover_phases_are_timed() {
        use vedette_core::EventKind::*;
        let mut c = Counters::default();
        let odown = |master| Odown {
            master,
            count: 2,
            quorum: 2,
        };
        // A replica's SDOWN times nothing; the master's does.
        c.record(&Sdown(inst(false)), Some("m"));
        c.record(&odown(inst(false)), Some("m"));
        c.record(&Sdown(inst(true)), Some("m"));
        c.record(&odown(inst(true)), Some("m"));
        for k in [
            TryFailover(inst(true)),
            ElectedLeader(inst(true)),
            SelectedSlave(inst(false)),
            PromotedSlave(inst(false)),
            FailoverEnd(inst(true)),
            switch(),
        ] {
            c.record(&k, Some("m"));
        }
        let p = Published {
            taken: std::time::Instant::now(),
            status: vedette_core::status::Status::default(),
            running_scripts: 0,
            queued_scripts: 0,
            counters: c,
        };
        let text = metrics::render(&p);
        for phase in feed::PHASES {
            let line = format!("vedette_failover_phase_seconds_count{{phase=\"{phase}\"}} 1");
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn metrics_use_redis_exporter_names() {
        use vedette_core::status::{MasterStatus, Status};
        let p = Published {
            taken: std::time::Instant::now(),
            status: Status {
                masters: vec![MasterStatus {
                    name: "mymaster".into(),
                    host: "127.0.0.1".into(),
                    port: 6379,
                    quorum: 2,
                    down_after_ms: 5000,
                    last_ok_ping_reply_ms: 1500,
                    ckquorum_ok: true,
                    ckquorum_message: "OK 1 usable Sentinels".into(),
                    ..MasterStatus::default()
                }],
                ..Status::default()
            },
            running_scripts: 0,
            queued_scripts: 0,
            counters: Counters::default(),
        };
        let text = metrics::render(&p);
        for line in [
            "redis_sentinel_masters 1.0",
            "redis_sentinel_tilt 0.0",
            "redis_sentinel_master_setting_ckquorum{master_name=\"mymaster\",master_address=\"127.0.0.1:6379\"} 2.0",
            "redis_sentinel_master_setting_down_after_milliseconds{master_name=\"mymaster\",master_address=\"127.0.0.1:6379\"} 5000.0",
            "redis_sentinel_master_last_ok_ping_reply_seconds{master_name=\"mymaster\",master_address=\"127.0.0.1:6379\"} 1.5",
            "redis_sentinel_master_status{master_name=\"mymaster\",master_address=\"127.0.0.1:6379\",master_status=\"ok\"} 1.0",
            "redis_sentinel_master_ckquorum_status{master_name=\"mymaster\",message=\"OK 1 usable Sentinels\"} 1.0",
            "redis_sentinel_master_ok_sentinels{master_name=\"mymaster\",master_address=\"127.0.0.1:6379\"} 1.0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
