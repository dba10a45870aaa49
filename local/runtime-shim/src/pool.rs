//! Owns the threads handlers run on.
//!
//! Handlers are synchronous and may block for seconds (HTTP calls to Appwrite), so they never
//! run on the async workers. tokio's `spawn_blocking` would do, but its pool hands every task
//! over through one mutex and one condvar shared by all its threads, and most of the shim's
//! system calls under load were that pool's futex traffic (docs/runtime.md, "Where the time
//! went"). Here each idle thread waits on its own slot:
//!
//! * handing a job over is a pop from the idle stack (a lock held for one `Vec::pop`), a store
//!   into that thread's slot, and an `unpark` only if the thread is really asleep;
//! * a thread that has finished a job first yields the CPU a few times ([`YIELDS`]) before it
//!   parks: under load the next job usually arrives meanwhile, which saves both the unpark and
//!   the park (two futex calls and a context switch per request). Yielding, unlike spinning,
//!   never keeps the async workers from the CPU they need to produce that next job.
//!
//! The idle stack is LIFO, so the most recently busy (cache-warm) thread gets the next job and
//! the others age out. Threads start on demand, without a cap (a handler waiting on the network
//! must not hold up the next request), and leave after [`KEEP_ALIVE`] without work.

use crate::lock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long an idle thread waits for work before it exits.
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// How many times a thread that just finished a job yields before it parks.
const YIELDS: u32 = 3;

pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// A grow-on-demand pool of threads. Cheap to clone.
#[derive(Clone)]
pub struct Pool {
    name: &'static str,
    idle: Arc<Mutex<Vec<Arc<Worker>>>>,
}

struct Worker {
    thread: Thread,
    job: Mutex<Option<Job>>,
    /// Set just before the thread parks; the dispatcher unparks only when it is set.
    parked: AtomicBool,
}

impl Pool {
    /// An empty pool whose threads are called `name`.
    pub fn new(name: &'static str) -> Pool {
        Pool {
            name,
            idle: Arc::default(),
        }
    }

    /// Runs `job` on a pool thread and waits for its result without blocking the async
    /// worker. `None` when no thread could be started or the job died without an answer.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.execute(Box::new(move || {
            let _ = answer.send(job());
        }))
        .ok()?;
        answered.await.ok()
    }

    /// Runs `job` on an idle thread, or a new one when none is idle; errors only when the OS
    /// refuses a new thread.
    pub fn execute(&self, job: Job) -> std::io::Result<()> {
        let idle = lock(&self.idle).pop();
        let Some(worker) = idle else {
            return self.start(job);
        };
        *lock(&worker.job) = Some(job);
        // SeqCst pairs with the worker's store of `parked` before its last look at the slot:
        // either it sees the job, or we see it parked and wake it.
        if worker.parked.load(Ordering::SeqCst) {
            worker.thread.unpark();
        }
        Ok(())
    }

    fn start(&self, first: Job) -> std::io::Result<()> {
        let idle = Arc::clone(&self.idle);
        thread::Builder::new()
            .name(self.name.into())
            .spawn(move || {
                let worker = Arc::new(Worker {
                    thread: thread::current(),
                    job: Mutex::new(None),
                    parked: AtomicBool::new(false),
                });
                first();
                lock(&idle).push(Arc::clone(&worker));
                let mut yields = YIELDS;
                while let Some(job) = worker.next_job(&idle, &mut yields) {
                    job();
                    lock(&idle).push(Arc::clone(&worker));
                }
            })
            .map(drop)
    }
}

impl Worker {
    /// Waits (on the idle stack) for the next job; `None` once KEEP_ALIVE has passed without
    /// one and the thread has taken itself off the stack.
    /// `yields` adapts: back to [`YIELDS`] when yielding found a job, one less (down to 1)
    /// when it did not, so a thread whose jobs come slowly (handlers writing log files) stops
    /// paying for context switches that bring nothing.
    fn next_job(self: &Arc<Self>, idle: &Mutex<Vec<Arc<Worker>>>, yields: &mut u32) -> Option<Job> {
        for _ in 0..*yields {
            if let Some(job) = self.take() {
                *yields = YIELDS;
                return Some(job);
            }
            thread::yield_now();
        }
        *yields = yields.saturating_sub(1).max(1);
        let since = Instant::now();
        loop {
            self.parked.store(true, Ordering::SeqCst);
            if let Some(job) = self.take() {
                self.parked.store(false, Ordering::SeqCst);
                return Some(job);
            }
            let waited = since.elapsed();
            if waited >= KEEP_ALIVE {
                let mut stack = lock(idle);
                if let Some(at) = stack.iter().position(|w| Arc::ptr_eq(w, self)) {
                    stack.remove(at);
                    return None;
                }
                // Someone popped this thread and is about to hand it a job: wait for it.
                drop(stack);
            }
            thread::park_timeout(
                KEEP_ALIVE
                    .saturating_sub(waited)
                    .max(Duration::from_millis(1)),
            );
            self.parked.store(false, Ordering::SeqCst);
        }
    }

    fn take(&self) -> Option<Job> {
        lock(&self.job).take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_job_runs_once_and_answers() {
        let pool = Pool::new("test");
        let mut answers = Vec::new();
        for i in 0..2_000u32 {
            let pool = pool.clone();
            answers.push(tokio::spawn(async move { pool.run(move || i * 2).await }));
        }
        for (i, answer) in answers.into_iter().enumerate() {
            assert_eq!(answer.await.unwrap(), Some(i as u32 * 2));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_blocked_job_does_not_hold_up_the_next() {
        let pool = Pool::new("test");
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(move || blocked.recv().is_ok()).await }
        });
        // Runs while the first job is still blocked: a second thread is started for it.
        assert_eq!(pool.run(|| 7).await, Some(7));
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Some(true));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_panics_answers_none_and_the_pool_goes_on() {
        let pool = Pool::new("test");
        assert_eq!(pool.run(|| -> u8 { panic!("boom") }).await, None);
        assert_eq!(pool.run(|| 1).await, Some(1));
    }
}
