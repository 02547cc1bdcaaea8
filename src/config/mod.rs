//! Configuration: `sentinel.conf` and TOML readers, the Redis-style rewriter, CLI overrides.
