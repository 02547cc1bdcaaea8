//! The hello payload of `__sentinel__:hello`:
//! `<ip>,<port>,<runid>,<current_epoch>,<master_name>,<master_ip>,<master_port>,<master_config_epoch>`.

/// Longest payload we look at; anything longer is not a hello (real ones are ~120 bytes).
pub const MAX_HELLO_LEN: usize = 4096;

/// A parsed hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Sender's announced IP (or hostname).
    pub ip: String,
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
        Ok(Hello {
            ip: nonempty(f[0], "sentinel_ip")?,
            port: f[1]
                .parse()
                .map_err(|_| HelloError::BadNumber("sentinel_port"))?,
            runid: nonempty(f[2], "runid")?,
            current_epoch: f[3]
                .parse()
                .map_err(|_| HelloError::BadNumber("current_epoch"))?,
            master_name: nonempty(f[4], "master_name")?,
            master_ip: nonempty(f[5], "master_ip")?,
            master_port: f[6]
                .parse()
                .map_err(|_| HelloError::BadNumber("master_port"))?,
            master_config_epoch: f[7]
                .parse()
                .map_err(|_| HelloError::BadNumber("master_config_epoch"))?,
        })
    }

    /// The wire form.
    pub fn render(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{}",
            self.ip,
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

    #[test]
    fn malformed_hellos_are_errors() {
        assert_eq!(Hello::parse(b"a,b,c"), Err(HelloError::FieldCount(3)));
        assert_eq!(
            Hello::parse(b"127.0.0.1,xx,id,0,m,127.0.0.1,1,0"),
            Err(HelloError::BadNumber("sentinel_port"))
        );
        assert_eq!(
            Hello::parse(b"127.0.0.1,1,id,-1,m,127.0.0.1,1,0"),
            Err(HelloError::BadNumber("current_epoch"))
        );
        assert!(matches!(
            Hello::parse(&vec![b'a'; 100_000]),
            Err(HelloError::TooLong(_))
        ));
        assert_eq!(Hello::parse(&[0xff, 0xfe]), Err(HelloError::NotUtf8));
        assert_eq!(
            Hello::parse(b"127.0.0.1,70000,id,0,m,127.0.0.1,1,0"),
            Err(HelloError::BadNumber("sentinel_port"))
        );
    }
}
