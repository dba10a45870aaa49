//! Test support for the hook crates: an app on a fresh in-memory store (`MemoryStore`) with a clock
//! the test moves, a store wrapper that counts writes, and requests built as Appwrite delivers
//! them. The other hook crates include this file by path, so every hook is tested the same way.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use openruntimes::{Context, Response};
use serde_json::{json, Value};
use shared::job::{Job, JobEvent, Timestamp};
use shared::platform::Platform;
use shared::store::layer::{Call, Hook, Layered};
use shared::store::memory::MemoryStore;
use shared::store::{JobStore, StoreResult};
use shared::tracker::server_context;
use shared::usecase::{self, Act};

/// The test store: the calls that write (create, write, prune) counted.
pub type Counting = Layered<MemoryStore, WriteCounter>;

/// The hook of [`Counting`].
#[derive(Default)]
pub struct WriteCounter(AtomicUsize);

impl WriteCounter {
    pub fn writes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Hook for WriteCounter {
    fn before(&self, call: Call<'_>) -> StoreResult<()> {
        if call.writes() {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

pub type Handler = fn(Context, &Platform) -> Response;

/// One hook on its own store, at a fixed instant the test moves with [`App::advance`].
pub struct App {
    pub handler: Handler,
    pub store: Arc<Counting>,
    pub platform: Platform,
    now: Arc<Mutex<Timestamp>>,
}

pub fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

pub fn spawn_app(handler: Handler) -> App {
    let store = Arc::new(Layered {
        inner: MemoryStore::new(),
        hook: WriteCounter::default(),
    });
    let now = Arc::new(Mutex::new(t0()));
    let clock_now = now.clone();
    let mut platform = Platform::new(store.clone(), Arc::new(|_| None));
    platform.clock = Arc::new(move || *clock_now.lock().unwrap());
    App {
        handler,
        store,
        platform,
        now,
    }
}

impl App {
    pub fn now(&self) -> Timestamp {
        *self.now.lock().unwrap()
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap() += by;
    }

    /// Sends `context` through the real handler; answers (status, JSON body).
    pub fn send(&self, context: Context) -> (u16, Value) {
        let response = (self.handler)(context, &self.platform);
        let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        (response.status_code, body)
    }

    /// A server call with a JSON body, as another function's `createExecution` delivers it.
    pub fn call(&self, body: Value) -> (u16, Value) {
        self.send(server_context(body.to_string().as_bytes(), None).unwrap())
    }

    pub fn call_raw(&self, body: &[u8]) -> (u16, Value) {
        self.send(server_context(body, None).unwrap())
    }

    /// Starts a job for `reference` and returns its id.
    pub fn start(&self, reference: &str) -> String {
        let (status, body) = self.call(json!({"event": "start", "referenceId": reference}));
        assert_eq!(status, 201, "{body}");
        body["job"]["$id"].as_str().unwrap().to_owned()
    }

    pub fn job(&self, id: &str) -> Job {
        self.store.get(id).unwrap()
    }

    pub fn events(&self, id: &str) -> Vec<JobEvent> {
        self.store.events(id, 1000).unwrap()
    }

    pub fn writes(&self) -> usize {
        self.store.hook.writes()
    }

    /// A dashboard user's pause / resume / cancel, through the shared use case.
    pub fn user(&self, job_id: &str, event: shared::job::Event) -> Job {
        let act = Act::new(&*self.store, "user:u1", self.now());
        usecase::control(&act, job_id, event, Some("from the test")).unwrap()
    }
}
