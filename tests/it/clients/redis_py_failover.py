#!/usr/bin/env python3
"""Write through redis-py's Sentinel client (unmodified) until a deadline.

Usage: redis_py_failover.py <sentinel-port,sentinel-port,...> <master-name> <seconds>

Prints one line per attempt, flushed, for the Rust test (tests/it/clients.rs) to read:
  ok <n> <port>      SET py:<n> <n> succeeded on the master listening on <port>
  err <n> <error>    the attempt failed (the client reconnects by itself on the next one)
"""

import sys
import time

from redis.exceptions import RedisError
from redis.sentinel import Sentinel


def main() -> int:
    ports = [int(p) for p in sys.argv[1].split(",")]
    name = sys.argv[2]
    deadline = time.monotonic() + float(sys.argv[3])
    timeouts = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
    sentinel = Sentinel([("127.0.0.1", p) for p in ports], sentinel_kwargs=timeouts, **timeouts)
    master = sentinel.master_for(name, **timeouts)
    n = 0
    while time.monotonic() < deadline:
        n += 1
        try:
            master.set(f"py:{n}", n)
            port = master.config_get("port")["port"]
            print(f"ok {n} {port}", flush=True)
            time.sleep(0.01)
        except (RedisError, OSError) as e:
            print(f"err {n} {type(e).__name__}: {e}", flush=True)
            time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
