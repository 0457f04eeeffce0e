//! The jitter source: where the engine's random draws come from (refresh-ahead spread,
//! cool-down spread). Injected like the clock, so tests can make every draw fixed.

use std::fmt;

/// A source of uniform draws in `0.0..=1.0` for the token engine
/// ([`Jitter::spread`](crate::Jitter::spread) and the cool-down spread).
pub trait JitterSource: Send + Sync + fmt::Debug {
    /// One uniform draw in `0.0..=1.0`.
    fn unit(&self) -> f64;
}

/// Draws from the thread-local random generator (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomJitter;

impl JitterSource for RandomJitter {
    fn unit(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// Always the same draw (tests and demos).
#[derive(Debug, Clone, Copy)]
pub struct FixedJitter(pub f64);

impl JitterSource for FixedJitter {
    fn unit(&self) -> f64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_the_unit_interval() {
        for _ in 0..1000 {
            let u = RandomJitter.unit();
            assert!((0.0..=1.0).contains(&u));
        }
        assert_eq!(FixedJitter(0.25).unit(), 0.25);
    }
}
