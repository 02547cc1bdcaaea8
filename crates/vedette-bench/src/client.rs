//! Thin helpers over the `redis` crate: connections with short timeouts, one-shot commands, reply parsing.
//!
//! Every network operation is bounded twice: by the connection's own response / connect timeouts and by an
//! outer `tokio::time::timeout`, so a SIGSTOPped server (whose kernel still accepts TCP connections) can
//! never stall the bench.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use redis::aio::MultiplexedConnection;
use redis::Value;

/// A multiplexed connection to `127.0.0.1:port`; connect and every later reply bounded by `timeout`.
pub async fn connect(port: u16, timeout: Duration) -> Result<MultiplexedConnection> {
    let client = redis::Client::open(("127.0.0.1", port))?;
    let con = tokio::time::timeout(
        timeout + Duration::from_millis(50),
        client.get_multiplexed_async_connection_with_config(
            &redis::AsyncConnectionConfig::new()
                .set_connection_timeout(timeout)
                .set_response_timeout(timeout),
        ),
    )
    .await
    .map_err(|_| anyhow!("connect to 127.0.0.1:{port} timed out"))??;
    Ok(con)
}

/// Runs one command on `con`, bounded by `timeout`.
pub async fn run(
    con: &mut MultiplexedConnection,
    args: &[&str],
    timeout: Duration,
) -> Result<Value> {
    let mut cmd = redis::cmd(args.first().copied().unwrap_or("PING"));
    for a in args.iter().skip(1) {
        cmd.arg(*a);
    }
    let v = tokio::time::timeout(timeout, cmd.query_async::<Value>(con))
        .await
        .map_err(|_| anyhow!("{} timed out", args.join(" ")))??;
    Ok(v)
}

/// Opens a connection to `port`, runs one command, closes it.
pub async fn cmd_once(port: u16, args: &[&str], timeout: Duration) -> Result<Value> {
    let mut con = connect(port, timeout).await?;
    run(&mut con, args, timeout).await
}

/// `SENTINEL MASTERS` of the sentinel on `port` as one field map per master, given 5 s plus 1 ms per
/// master monitored (`masters`; 10,000 masters are a 4 MB reply).
pub async fn sentinel_masters(port: u16, masters: usize) -> Result<Vec<HashMap<String, String>>> {
    let timeout = Duration::from_secs(5) + Duration::from_millis(masters as u64);
    let v = cmd_once(port, &["SENTINEL", "masters"], timeout)
        .await
        .with_context(|| format!("SENTINEL MASTERS (timeout {timeout:?})"))?;
    let Value::Array(items) = v else {
        bail!("SENTINEL MASTERS: unexpected reply");
    };
    Ok(items.iter().map(as_map).collect())
}

/// A status, bulk or verbatim string as text.
pub fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::SimpleString(s) => Some(s.clone()),
        Value::Okay => Some("OK".into()),
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// A flat `[k, v, k, v...]` array (or a RESP3 map) as a map of strings.
pub fn as_map(v: &Value) -> HashMap<String, String> {
    let mut out = HashMap::new();
    match v {
        Value::Array(items) => {
            for pair in items.chunks(2) {
                if let [k, v] = pair {
                    if let (Some(k), Some(v)) = (as_string(k), as_string(v)) {
                        out.insert(k, v);
                    }
                }
            }
        }
        Value::Map(pairs) => {
            for (k, v) in pairs {
                if let (Some(k), Some(v)) = (as_string(k), as_string(v)) {
                    out.insert(k, v);
                }
            }
        }
        _ => {}
    }
    out
}

/// `SENTINEL GET-MASTER-ADDR-BY-NAME` reply → port (the bench only uses 127.0.0.1).
pub fn as_addr_port(v: &Value) -> Option<u16> {
    match v {
        Value::Array(items) if items.len() == 2 => as_string(&items[1])?.parse().ok(),
        _ => None,
    }
}

/// `INFO` text → `field:value` map.
pub fn info_fields(v: &Value) -> HashMap<String, String> {
    as_string(v)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim_end().split_once(':')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Asks the sentinel behind `con` where `name`'s master is.
pub async fn master_port(
    con: &mut MultiplexedConnection,
    name: &str,
    timeout: Duration,
) -> Option<u16> {
    let v = run(con, &["SENTINEL", "get-master-addr-by-name", name], timeout)
        .await
        .ok()?;
    as_addr_port(&v)
}

/// Lazily opened connections by port, reused across polls; a connection that fails once is dropped and
/// reopened on the next use.
pub struct Conns {
    timeout: Duration,
    map: HashMap<u16, MultiplexedConnection>,
}

impl Conns {
    pub fn new(timeout: Duration) -> Conns {
        Conns {
            timeout,
            map: HashMap::new(),
        }
    }

    /// Runs one command on the connection to `port`, opening it first when needed.
    pub async fn run(&mut self, port: u16, args: &[&str]) -> Result<Value> {
        let con = match self.map.entry(port) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(connect(port, self.timeout).await?)
            }
        };
        match run(con, args, self.timeout).await {
            Ok(v) => Ok(v),
            Err(e) => {
                self.map.remove(&port);
                Err(e)
            }
        }
    }
}
