//! Owns the bound on handlers running at once in one server (`OPEN_RUNTIMES_MAX_HANDLERS`).
//!
//! Rust cannot cancel a handler, so one that outlives its request's timeout keeps its thread
//! until it returns. Without a bound, a burst against a stalled dependency would start threads
//! until the OS refuses one. A [`Permit`] is taken before a handler is handed to the pool and
//! travels with it to its thread, so it is returned when the handler's work there is done (its
//! response built, its log files written), never when its request merely timed out.
//!
//! Over the cap the server answers at once (503, `protocol::BUSY`) rather than queueing: while
//! over the cap nothing grows (a queue would hold each waiting connection and its body, up to
//! 20 MiB), and against a stalled dependency a queued request would only reach the same
//! timeout later. Every caller in this project already retries a 5xx with backoff.
//!
//! The count is one atomic: taking a permit is a load and a compare-and-swap, returning it one
//! decrement, no lock, so the cap costs the hot path nothing measurable.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// At most `max` permits out at once.
pub struct Cap {
    max: usize,
    taken: AtomicUsize,
}

/// One running handler's share of a [`Cap`]; returned when dropped.
pub struct Permit(Arc<Cap>);

impl Cap {
    pub fn new(max: usize) -> Arc<Cap> {
        Arc::new(Cap {
            max,
            taken: AtomicUsize::new(0),
        })
    }

    /// A permit, or `None` when `max` are already out.
    pub fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        // A compare-and-swap rather than an increment undone on refusal: a refused caller must
        // never make the count look full to one that would fit.
        let mut taken = self.taken.load(Ordering::Acquire);
        loop {
            if taken >= self.max {
                return None;
            }
            match self.taken.compare_exchange_weak(
                taken,
                taken + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(Permit(Arc::clone(self))),
                Err(now) => taken = now,
            }
        }
    }

    /// Permits out now.
    #[cfg(test)]
    pub fn taken(&self) -> usize {
        self.taken.load(Ordering::Acquire)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_than_max_permits_are_out_and_a_returned_one_can_be_taken_again() {
        let cap = Cap::new(2);
        let a = cap.try_acquire().expect("first");
        let b = cap.try_acquire().expect("second");
        assert!(cap.try_acquire().is_none());
        assert_eq!(cap.taken(), 2, "a refusal leaves the count as it was");
        drop(a);
        let c = cap.try_acquire().expect("the returned permit");
        assert!(cap.try_acquire().is_none());
        drop((b, c));
        assert_eq!(cap.taken(), 0);
    }

    #[test]
    fn racing_threads_never_hold_more_than_max_permits() {
        let cap = Cap::new(3);
        let (holding, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        if let Some(permit) = cap.try_acquire() {
                            // Counted strictly within the permit's life.
                            let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            holding.fetch_sub(1, Ordering::SeqCst);
                            drop(permit);
                        }
                    }
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert_eq!(cap.taken(), 0);
    }
}
