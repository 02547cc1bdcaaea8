//! Per-node clocks: the global virtual time seen through an offset, a rate and stalls.
//!
//! Sentinel only ever compares "now" with its own earlier readings, so a constant offset cannot break
//! safety; what bites is rate drift (one node's timers elapse early relative to its peers), a monotonic
//! clock that stops for a while, and wall-clock jumps (which must put the node in TILT). The clock is
//! piecewise linear in global time: `set_rate` starts a new segment.

/// Parts per million of "normal speed".
pub const PPM: u64 = 1_000_000;

/// A node's view of time.
#[derive(Debug, Clone)]
pub struct LocalClock {
    seg_global: u64,
    seg_local: u64,
    rate_ppm: u64,
    /// Wall clock minus monotonic clock, in ms (changed by clock-jump faults).
    wall_offset: i64,
}

impl LocalClock {
    /// A clock reading `offset` at global time `now`, running at `rate_ppm`, with a wall clock at `wall_base`.
    pub fn new(now: u64, offset: u64, rate_ppm: u64, wall_base: i64) -> Self {
        LocalClock {
            seg_global: now,
            seg_local: offset,
            rate_ppm,
            wall_offset: wall_base - offset as i64,
        }
    }

    /// Monotonic local milliseconds at global time `g` (never decreasing in `g`).
    pub fn local(&self, g: u64) -> u64 {
        let dg = g.saturating_sub(self.seg_global);
        self.seg_local + dg.saturating_mul(self.rate_ppm) / PPM
    }

    /// Wall-clock milliseconds at global time `g`.
    pub fn wall(&self, g: u64) -> u64 {
        let w = self.local(g) as i64 + self.wall_offset;
        w.max(0) as u64
    }

    /// Current rate.
    pub fn rate_ppm(&self) -> u64 {
        self.rate_ppm
    }

    /// From global time `g` on, run at `rate_ppm` (0 = the monotonic clock stands still).
    pub fn set_rate(&mut self, g: u64, rate_ppm: u64) {
        self.seg_local = self.local(g);
        self.seg_global = g;
        self.rate_ppm = rate_ppm;
    }

    /// Jump the wall clock by `delta_ms` (monotonic time is unaffected).
    pub fn jump_wall(&mut self, delta_ms: i64) {
        self.wall_offset += delta_ms;
    }

    /// The earliest global time `>= g_now` at which the local clock reads at least `local`, or None if the
    /// clock is stopped and will not get there in this segment.
    pub fn global_at(&self, g_now: u64, local: u64) -> Option<u64> {
        if self.local(g_now) >= local {
            return Some(g_now);
        }
        if self.rate_ppm == 0 {
            return None;
        }
        let need = local - self.seg_local;
        let dg = (need.saturating_mul(PPM)).div_ceil(self.rate_ppm);
        Some((self.seg_global + dg).max(g_now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_is_consistent() {
        let mut c = LocalClock::new(0, 5_000, 900_000, 1_700_000_000_000);
        for l in [5_000u64, 5_001, 6_000, 9_999, 123_456] {
            let g = c.global_at(0, l).unwrap();
            assert!(c.local(g) >= l);
            if g > 0 {
                assert!(c.local(g - 1) < l);
            }
        }
        c.set_rate(1000, 0);
        let l = c.local(1000);
        assert_eq!(c.local(5000), l);
        assert_eq!(c.global_at(2000, l + 1), None);
    }
}
