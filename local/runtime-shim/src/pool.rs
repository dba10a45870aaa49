//! Owns the threads handlers run on.
//!
//! Handlers are synchronous and may block for seconds (HTTP calls to Appwrite), so they never
//! run on the async workers. tokio's `spawn_blocking` would do, but its pool hands every task
//! over through one mutex and one condvar shared by all its threads, and most of the shim's
//! system calls under load were that pool's futex traffic (docs/runtime.md, "Where the time
//! went"). Here each idle thread waits on its own slot:
//!
//! * handing a job over is a pop from the idle stack and a store into that thread's slot, both
//!   under the idle stack's lock, then an `unpark` only if the thread is really asleep;
//! * a thread that has finished a job first yields the CPU a few times ([`YIELDS`]) before it
//!   parks: under load the next job usually arrives meanwhile, which saves both the unpark and
//!   the park (two futex calls and a context switch per request). Yielding, unlike spinning,
//!   never keeps the async workers from the CPU they need to produce that next job.
//!
//! The idle stack is LIFO, so the most recently busy (cache-warm) thread gets the next job and
//! the others age out: a thread leaves after its pool's keep-alive without work, and every idle
//! thread leaves at once on [`Pool::shutdown`]. The pool itself has no cap: the server bounds how
//! many handlers run at once (`cap.rs`) before it hands one over.
//!
//! **No job is lost to a thread that is leaving.** A thread decides to leave, and a dispatcher
//! pops it and fills its slot, each inside one critical section of the idle stack's lock. So a
//! leaving thread, holding that lock, sees exactly one of two things: it is still on the stack
//! with an empty slot (nobody can hand it anything any more once it is off), or it was popped
//! and its slot already holds the job, which it then runs instead of leaving.

use crate::lock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long an idle thread waits for work before it exits, unless the pool says otherwise.
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// How many times a thread that just finished a job yields before it parks.
const YIELDS: u32 = 3;

pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// A grow-on-demand pool of threads. Cheap to clone; clones share the threads.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    name: &'static str,
    keep_alive: Duration,
    /// Idle threads, most recently busy last. Also the lock every handover and every departure
    /// is decided under (see the module doc).
    idle: Mutex<Vec<Arc<Worker>>>,
    /// Set under `idle`'s lock by [`Pool::shutdown`]; read without it by waiting threads.
    closed: AtomicBool,
    /// Threads alive (busy, idle or on their way out).
    threads: AtomicUsize,
    /// Called by a thread that has decided to leave, just before it takes the idle lock: lets a
    /// test hand it a job at exactly that moment.
    #[cfg(test)]
    before_leaving: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
}

struct Worker {
    thread: Thread,
    /// Filled only under the idle stack's lock, by whoever popped this worker.
    job: Mutex<Option<Job>>,
    /// Set just before the thread parks; the dispatcher unparks only when it is set.
    parked: AtomicBool,
}

impl Pool {
    /// An empty pool whose threads are called `name` and leave after [`KEEP_ALIVE`] idle.
    pub fn new(name: &'static str) -> Pool {
        Pool::with_keep_alive(name, KEEP_ALIVE)
    }

    /// An empty pool whose idle threads leave after `keep_alive`.
    pub fn with_keep_alive(name: &'static str, keep_alive: Duration) -> Pool {
        Pool {
            inner: Arc::new(Inner {
                name,
                keep_alive,
                idle: Mutex::default(),
                closed: AtomicBool::new(false),
                threads: AtomicUsize::new(0),
                #[cfg(test)]
                before_leaving: Mutex::default(),
            }),
        }
    }

    /// Runs `job` on a pool thread and waits for its result without blocking the async
    /// worker. `None` when no thread could be started, the pool is shut down, or the job died
    /// without an answer.
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

    /// Runs `job` on an idle thread, or a new one when none is idle. Errors when the pool is
    /// shut down or the OS refuses a new thread; `job` is then dropped unrun.
    pub fn execute(&self, job: Job) -> std::io::Result<()> {
        let mut idle = lock(&self.inner.idle);
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("the pool is shut down"));
        }
        let Some(worker) = idle.pop() else {
            drop(idle);
            return self.start(job);
        };
        // Filled before the idle lock is released: see the module doc.
        *lock(&worker.job) = Some(job);
        drop(idle);
        // SeqCst pairs with the worker's store of `parked` before its last look at the slot:
        // either it sees the job, or we see it parked and wake it.
        if worker.parked.load(Ordering::SeqCst) {
            worker.thread.unpark();
        }
        Ok(())
    }

    /// Idle threads leave now, busy ones when their job ends; later jobs are refused. Jobs
    /// already handed over still run.
    pub fn shutdown(&self) {
        let leaving = {
            let mut idle = lock(&self.inner.idle);
            self.inner.closed.store(true, Ordering::SeqCst);
            std::mem::take(&mut *idle)
        };
        for worker in leaving {
            worker.thread.unpark();
        }
    }

    /// Threads alive in this pool, busy or idle.
    #[cfg(test)]
    pub fn threads(&self) -> usize {
        self.inner.threads.load(Ordering::SeqCst)
    }

    fn start(&self, first: Job) -> std::io::Result<()> {
        let inner = Arc::clone(&self.inner);
        self.inner.threads.fetch_add(1, Ordering::SeqCst);
        let spawned = thread::Builder::new()
            .name(self.inner.name.into())
            .spawn(move || {
                // Counts the thread out however it ends, a job's panic included.
                let _alive = Alive(&inner.threads);
                let worker = Arc::new(Worker {
                    thread: thread::current(),
                    job: Mutex::new(None),
                    parked: AtomicBool::new(false),
                });
                let mut job = first;
                let mut yields = YIELDS;
                loop {
                    job();
                    if !inner.go_idle(&worker) {
                        return;
                    }
                    match worker.next_job(&inner, &mut yields) {
                        Some(next) => job = next,
                        None => return,
                    }
                }
            });
        if spawned.is_err() {
            self.inner.threads.fetch_sub(1, Ordering::SeqCst);
        }
        spawned.map(drop)
    }
}

impl Inner {
    /// Puts a thread that finished its job back on the idle stack; false once the pool is
    /// shut down (the thread then leaves).
    fn go_idle(&self, worker: &Arc<Worker>) -> bool {
        let mut idle = lock(&self.idle);
        if self.closed.load(Ordering::SeqCst) {
            return false;
        }
        idle.push(Arc::clone(worker));
        true
    }
}

/// Decrements a pool's thread count when its thread ends.
struct Alive<'a>(&'a AtomicUsize);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Worker {
    /// Waits (on the idle stack) for the next job; `None` once the keep-alive has passed
    /// without one or the pool is shut down, and the thread is off the stack for good.
    /// `yields` adapts: back to [`YIELDS`] when yielding found a job, one less (down to 1)
    /// when it did not, so a thread whose jobs come slowly (handlers writing log files) stops
    /// paying for context switches that bring nothing.
    fn next_job(self: &Arc<Self>, inner: &Inner, yields: &mut u32) -> Option<Job> {
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
            if waited >= inner.keep_alive || inner.closed.load(Ordering::SeqCst) {
                self.parked.store(false, Ordering::SeqCst);
                return self.leave(inner);
            }
            thread::park_timeout(inner.keep_alive - waited);
            self.parked.store(false, Ordering::SeqCst);
        }
    }

    /// Takes the thread off the idle stack, unless a dispatcher got to it first: then the job
    /// it was handed (already in the slot, see the module doc) is returned to run instead.
    fn leave(self: &Arc<Self>, inner: &Inner) -> Option<Job> {
        #[cfg(test)]
        if let Some(hook) = lock(&inner.before_leaving).clone() {
            hook();
        }
        let mut idle = lock(&inner.idle);
        if let Some(job) = self.take() {
            return Some(job);
        }
        // Not handed a job, so still on the stack (unless shutdown already emptied it).
        if let Some(at) = idle.iter().position(|w| Arc::ptr_eq(w, self)) {
            idle.remove(at);
        }
        None
    }

    fn take(&self) -> Option<Job> {
        lock(&self.job).take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Generous: only a broken pool takes this long.
    const DEADLINE: Duration = Duration::from_secs(30);

    /// Waits until `condition` holds, polling; false if it still does not at the deadline.
    fn eventually(condition: impl Fn() -> bool) -> bool {
        let until = Instant::now() + DEADLINE;
        while Instant::now() < until {
            if condition() {
                return true;
            }
            thread::sleep(Duration::from_millis(1));
        }
        condition()
    }

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
        let (release, blocked) = mpsc::channel::<()>();
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
        assert!(
            eventually(|| pool.threads() == 1),
            "the panicking job's thread is counted out"
        );
    }

    #[test]
    fn an_idle_thread_leaves_after_the_keep_alive() {
        let pool = Pool::with_keep_alive("test", Duration::from_millis(20));
        let (done, ran) = mpsc::channel();
        pool.execute(Box::new(move || done.send(()).unwrap()))
            .unwrap();
        ran.recv_timeout(DEADLINE).unwrap();
        assert!(eventually(|| pool.threads() == 0), "the thread stayed");
        // The pool still works after its last thread left.
        let (done, ran) = mpsc::channel();
        pool.execute(Box::new(move || done.send(()).unwrap()))
            .unwrap();
        ran.recv_timeout(DEADLINE).unwrap();
    }

    #[test]
    fn a_thread_back_on_the_idle_stack_takes_the_next_job() {
        let pool = Pool::with_keep_alive("test", DEADLINE * 10);
        let (done, ran) = mpsc::channel();
        for _ in 0..2 {
            let done = done.clone();
            pool.execute(Box::new(move || done.send(()).unwrap()))
                .unwrap();
            ran.recv_timeout(DEADLINE).unwrap();
            assert!(eventually(|| lock(&pool.inner.idle).len() == 1));
        }
        assert_eq!(pool.threads(), 1);
        pool.shutdown();
    }

    #[test]
    fn a_job_handed_to_a_thread_that_is_leaving_runs_on_that_thread() {
        let pool = Pool::with_keep_alive("test", Duration::ZERO);
        // Freeze the first thread that decides to leave, and say so.
        let (leaving, frozen) = mpsc::channel();
        let (thaw, thawed) = mpsc::channel::<()>();
        let thawed = Mutex::new(thawed);
        *lock(&pool.inner.before_leaving) = Some(Arc::new(move || {
            let _ = leaving.send(thread::current().id());
            let _ = lock(&thawed).recv();
        }));
        let (done, ran) = mpsc::channel();
        let first = done.clone();
        pool.execute(Box::new(move || {
            first.send(thread::current().id()).unwrap()
        }))
        .unwrap();
        let worker = ran.recv_timeout(DEADLINE).unwrap();
        assert_eq!(frozen.recv_timeout(DEADLINE).unwrap(), worker);

        // The thread has decided to leave but is still on the idle stack: the dispatcher
        // pops it and hands it the job.
        pool.execute(Box::new(move || done.send(thread::current().id()).unwrap()))
            .unwrap();
        assert_eq!(pool.threads(), 1, "no second thread was needed");
        assert!(lock(&pool.inner.idle).is_empty());
        thaw.send(()).unwrap();

        assert_eq!(ran.recv_timeout(DEADLINE).unwrap(), worker);
        // Free the hook for the departure that follows, then the thread is gone.
        *lock(&pool.inner.before_leaving) = None;
        let _ = thaw.send(());
        assert!(eventually(|| pool.threads() == 0));
    }

    #[test]
    fn jobs_handed_over_while_threads_expire_all_run() {
        // A zero keep-alive makes every idle moment a departure racing the next handover. The
        // exact moment of the race is forced by the test above; this one shows the bookkeeping
        // of departures (a thread that left must be off the stack) under churn.
        let pool = Pool::with_keep_alive("test", Duration::ZERO);
        let (done, ran) = mpsc::channel();
        let mut seen = Vec::new();
        for burst in 0..500u32 {
            for job in burst * 4..burst * 4 + 4 {
                let done = done.clone();
                pool.execute(Box::new(move || done.send(job).unwrap()))
                    .unwrap();
            }
            // Let the burst finish, then wait a varying while, so the next burst meets threads
            // at every point of their way out.
            for _ in 0..4 {
                seen.push(ran.recv_timeout(DEADLINE).expect("a job was lost"));
            }
            for _ in 0..burst % 16 {
                thread::yield_now();
            }
        }
        drop(done);
        assert!(ran.recv_timeout(DEADLINE).is_err(), "a job ran twice");
        seen.sort_unstable();
        assert_eq!(seen, (0..2_000).collect::<Vec<_>>());
        assert!(eventually(|| pool.threads() == 0));
    }

    #[test]
    fn shutdown_sends_idle_threads_away_and_refuses_later_jobs() {
        let pool = Pool::new("test");
        let (release, blocked) = mpsc::channel::<()>();
        let (started, busy) = mpsc::channel();
        let (done, ran) = mpsc::channel();
        // One thread idle, one busy when the pool shuts down.
        {
            let done = done.clone();
            pool.execute(Box::new(move || done.send("idle").unwrap()))
                .unwrap();
            assert_eq!(ran.recv_timeout(DEADLINE).unwrap(), "idle");
            assert!(eventually(|| lock(&pool.inner.idle).len() == 1));
        }
        {
            let busy_done = done.clone();
            // Pops the idle thread; a second thread is started for the job after it.
            pool.execute(Box::new(move || {
                started.send(()).unwrap();
                let _ = blocked.recv();
                busy_done.send("busy").unwrap();
            }))
            .unwrap();
            busy.recv_timeout(DEADLINE).unwrap();
            pool.execute(Box::new(move || done.send("idle").unwrap()))
                .unwrap();
            assert_eq!(ran.recv_timeout(DEADLINE).unwrap(), "idle");
            assert!(eventually(|| lock(&pool.inner.idle).len() == 1));
        }
        assert_eq!(pool.threads(), 2);

        pool.shutdown();
        assert!(
            eventually(|| pool.threads() == 1),
            "the idle thread left at once"
        );
        assert!(pool.execute(Box::new(|| {})).is_err());
        release.send(()).unwrap();
        assert_eq!(
            ran.recv_timeout(DEADLINE).unwrap(),
            "busy",
            "the running job finished"
        );
        assert!(
            eventually(|| pool.threads() == 0),
            "the busy thread left after its job"
        );
    }
}
