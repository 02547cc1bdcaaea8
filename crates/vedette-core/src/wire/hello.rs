//! The hello payload of `__sentinel__:hello`:
//! `<ip>,<port>,<runid>,<current_epoch>,<master_name>,<master_ip>,<master_port>,<master_config_epoch>`.
//!
//! Anyone who can publish on a master's channel (or `PUBLISH` to a sentinel) can send one, and what a
//! hello says is persisted (`known-sentinel`, `current-epoch`, a new master address), so [`Hello::parse`]
//! checks every field where it enters: ports 1–65535, a 40-hex run id, epochs up to [`MAX_EPOCH`];
//! [`Hello::check_addresses`] adds Redis's address rule, which depends on `resolve-hostnames`.

use crate::config::{is_valid_myid, valid_host, MAX_EPOCH};

/// Longest payload we look at; anything longer is not a hello (real ones are ~120 bytes).
pub const MAX_HELLO_LEN: usize = 4096;

/// A parsed hello. `Ip` is the announced address: a `String` in a hello received or ready to send, an
/// `Option<String>` in the one the core asks the shell to publish ([`crate::HelloTemplate`]), where only the
/// shell knows the local IP to put in when no `announce-ip` is set; the other fields are the same in both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello<Ip = String> {
    /// Sender's announced IP (or hostname).
    pub ip: Ip,
    /// Sender's announced port.
    pub port: u16,
    /// Sender's run id.
    pub runid: String,
    /// Sender's current epoch.
    pub current_epoch: u64,
    /// Master the hello is about.
    pub master_name: String,
    /// Master address in the sender's view.
    pub master_ip: String,
    /// Master port in the sender's view.
    pub master_port: u16,
    /// Master config epoch in the sender's view.
    pub master_config_epoch: u64,
}

/// Why a payload is not a hello.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    /// Longer than [`MAX_HELLO_LEN`].
    #[error("hello payload too long ({0} bytes)")]
    TooLong(usize),
    /// Not UTF-8.
    #[error("hello payload is not UTF-8")]
    NotUtf8,
    /// Not exactly 8 comma-separated fields.
    #[error("hello payload has {0} fields, expected 8")]
    FieldCount(usize),
    /// A numeric field did not parse.
    #[error("hello field {0} is not a valid number")]
    BadNumber(&'static str),
    /// An empty address, run id or name.
    #[error("hello field {0} is empty")]
    Empty(&'static str),
    /// Port 0 (nothing can be reached there).
    #[error("hello field {0} is port 0")]
    PortZero(&'static str),
    /// A run id that is not 40 hex characters (every sentinel's id is).
    #[error("hello run id is not 40 hex characters")]
    BadRunId,
    /// An epoch above [`MAX_EPOCH`].
    #[error("hello field {0} is above the largest epoch")]
    EpochTooLarge(&'static str),
    /// An address that is not an IP literal (or, with `resolve-hostnames yes`, a host name).
    #[error("hello field {0} is not a valid address")]
    BadAddress(&'static str),
}

impl<Ip> Hello<Ip> {
    /// The payload, with `ip` as the announced address.
    pub(crate) fn render_with_ip(&self, ip: &str) -> String {
        format!(
            "{},{},{},{},{},{},{},{}",
            ip,
            self.port,
            self.runid,
            self.current_epoch,
            self.master_name,
            self.master_ip,
            self.master_port,
            self.master_config_epoch
        )
    }
}

impl Hello {
    /// Parse a payload.
    pub fn parse(payload: &[u8]) -> Result<Hello, HelloError> {
        if payload.len() > MAX_HELLO_LEN {
            return Err(HelloError::TooLong(payload.len()));
        }
        let text = std::str::from_utf8(payload).map_err(|_| HelloError::NotUtf8)?;
        let f: Vec<&str> = text.split(',').collect();
        if f.len() != 8 {
            return Err(HelloError::FieldCount(f.len()));
        }
        let nonempty = |s: &str, name: &'static str| {
            if s.is_empty() {
                Err(HelloError::Empty(name))
            } else {
                Ok(s.to_string())
            }
        };
        let port = |s: &str, name: &'static str| match s.parse::<u16>() {
            Ok(0) => Err(HelloError::PortZero(name)),
            Ok(p) => Ok(p),
            Err(_) => Err(HelloError::BadNumber(name)),
        };
        let epoch = |s: &str, name: &'static str| match s.parse::<u64>() {
            Ok(e) if e <= MAX_EPOCH => Ok(e),
            Ok(_) => Err(HelloError::EpochTooLarge(name)),
            Err(_) => Err(HelloError::BadNumber(name)),
        };
        let runid = nonempty(f[2], "runid")?;
        if !is_valid_myid(&runid) {
            return Err(HelloError::BadRunId);
        }
        Ok(Hello {
            ip: nonempty(f[0], "sentinel_ip")?,
            port: port(f[1], "sentinel_port")?,
            runid,
            current_epoch: epoch(f[3], "current_epoch")?,
            master_name: nonempty(f[4], "master_name")?,
            master_ip: nonempty(f[5], "master_ip")?,
            master_port: port(f[6], "master_port")?,
            master_config_epoch: epoch(f[7], "master_config_epoch")?,
        })
    }

    /// Both addresses must be IP literals, or host names when `resolve_hostnames` (Redis's
    /// `createSentinelAddr` with `ANET_IP_ONLY` unless `resolve-hostnames yes`).
    pub fn check_addresses(&self, resolve_hostnames: bool) -> Result<(), HelloError> {
        if !valid_host(&self.ip, resolve_hostnames) {
            return Err(HelloError::BadAddress("sentinel_ip"));
        }
        if !valid_host(&self.master_ip, resolve_hostnames) {
            return Err(HelloError::BadAddress("master_ip"));
        }
        Ok(())
    }

    /// The wire form.
    pub fn render(&self) -> String {
        self.render_with_ip(&self.ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p =
            "127.0.0.1,26500,1dcf5ac3da71892133bb1103d02f7327a1c2f45b,0,mymaster,127.0.0.1,6500,0";
        let h = Hello::parse(p.as_bytes()).unwrap();
        assert_eq!(h.port, 26500);
        assert_eq!(h.master_name, "mymaster");
        assert_eq!(h.render(), p);
    }

    const ID: &str = "1dcf5ac3da71892133bb1103d02f7327a1c2f45b";

    fn hello(ip: &str, port: &str, id: &str, epoch: &str, mport: &str, mepoch: &str) -> String {
        format!("{ip},{port},{id},{epoch},m,127.0.0.1,{mport},{mepoch}")
    }

    #[test]
    fn malformed_hellos_are_errors() {
        let parse = |s: String| Hello::parse(s.as_bytes());
        assert_eq!(Hello::parse(b"a,b,c"), Err(HelloError::FieldCount(3)));
        assert_eq!(
            parse(hello("127.0.0.1", "xx", ID, "0", "1", "0")),
            Err(HelloError::BadNumber("sentinel_port"))
        );
        assert_eq!(
            parse(hello("127.0.0.1", "1", ID, "-1", "1", "0")),
            Err(HelloError::BadNumber("current_epoch"))
        );
        assert!(matches!(
            Hello::parse(&vec![b'a'; 100_000]),
            Err(HelloError::TooLong(_))
        ));
        assert_eq!(Hello::parse(&[0xff, 0xfe]), Err(HelloError::NotUtf8));
        assert_eq!(
            parse(hello("127.0.0.1", "70000", ID, "0", "1", "0")),
            Err(HelloError::BadNumber("sentinel_port"))
        );
        assert_eq!(
            parse(hello("127.0.0.1", "0", ID, "0", "1", "0")),
            Err(HelloError::PortZero("sentinel_port"))
        );
        assert_eq!(
            parse(hello("127.0.0.1", "1", ID, "0", "0", "0")),
            Err(HelloError::PortZero("master_port"))
        );
        assert_eq!(
            parse(hello("127.0.0.1", "1", &ID[..39], "0", "1", "0")),
            Err(HelloError::BadRunId)
        );
        assert_eq!(
            parse(hello(
                "127.0.0.1",
                "1",
                &format!("{}g", &ID[..39]),
                "0",
                "1",
                "0"
            )),
            Err(HelloError::BadRunId)
        );
        assert_eq!(
            parse(hello("127.0.0.1", "1", ID, &u64::MAX.to_string(), "1", "0")),
            Err(HelloError::EpochTooLarge("current_epoch"))
        );
        assert_eq!(
            parse(hello(
                "127.0.0.1",
                "1",
                ID,
                "0",
                "1",
                &(MAX_EPOCH + 1).to_string()
            )),
            Err(HelloError::EpochTooLarge("master_config_epoch"))
        );
        let max = parse(hello(
            "127.0.0.1",
            "1",
            ID,
            &MAX_EPOCH.to_string(),
            "1",
            "0",
        ))
        .unwrap();
        assert_eq!(max.current_epoch, MAX_EPOCH);
    }

    #[test]
    fn addresses_follow_resolve_hostnames() {
        let h = |ip: &str, mip: &str| Hello {
            ip: ip.into(),
            port: 1,
            runid: ID.into(),
            current_epoch: 0,
            master_name: "m".into(),
            master_ip: mip.into(),
            master_port: 1,
            master_config_epoch: 0,
        };
        assert_eq!(h("127.0.0.1", "::1").check_addresses(false), Ok(()));
        assert_eq!(
            h("x", "127.0.0.1").check_addresses(false),
            Err(HelloError::BadAddress("sentinel_ip"))
        );
        assert_eq!(
            h("127.0.0.1", "db.example").check_addresses(false),
            Err(HelloError::BadAddress("master_ip"))
        );
        assert_eq!(h("s-1.example", "db_1").check_addresses(true), Ok(()));
        assert_eq!(
            h("a b", "127.0.0.1").check_addresses(true),
            Err(HelloError::BadAddress("sentinel_ip"))
        );
    }
}
