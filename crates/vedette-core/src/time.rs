//! Time as a value: the core never reads a clock.

/// Milliseconds on the shell's monotonic clock. Only differences between two `Instant`s mean anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    /// Milliseconds since `earlier`, or 0 if `earlier` is in the future (a caller that went backwards never
    /// makes time count negatively).
    pub fn since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
    /// `self + ms`.
    pub fn plus(self, ms: u64) -> Instant {
        Instant(self.0.saturating_add(ms))
    }
    /// `self - ms`, floored at zero.
    pub fn minus(self, ms: u64) -> Instant {
        Instant(self.0.saturating_sub(ms))
    }
}
