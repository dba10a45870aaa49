//! `spawn_app()`: a fake Appwrite and a store wired to it, with the retry sleeps recorded
//! instead of slept, so fault tests run instantly and can assert the waits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_appwrite::FakeAppwrite;
use shared::appwrite::{AppwriteClient, AppwriteConfig, RetryPolicy};
use shared::job::{Job, JobEvent, JobStatus, JobType, Timestamp};
use shared::store::appwrite::AppwriteStore;
use shared::store::{Count, Created, JobQuery, JobStore, Page, Pruned, StoreResult, Write};

pub const MAX_DELAY: Duration = Duration::from_secs(2);

pub struct App {
    pub fake: FakeAppwrite,
    pub store: AppwriteStore,
    pub sleeps: Arc<Mutex<Vec<Duration>>>,
}

impl App {
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }

    /// A second, independent store on the same fake (another function execution).
    pub fn another_store(&self) -> AppwriteStore {
        store_on(&self.fake, &[], Arc::new(Mutex::new(Vec::new())))
    }
}

pub fn spawn_app() -> App {
    spawn_app_with(&[])
}

/// `overrides` replace configuration variables (e.g. a short timeout, a wrong key).
pub fn spawn_app_with(overrides: &[(&str, &str)]) -> App {
    let fake = FakeAppwrite::start();
    let sleeps = Arc::new(Mutex::new(Vec::new()));
    let store = store_on(&fake, overrides, sleeps.clone());
    App {
        fake,
        store,
        sleeps,
    }
}

pub fn client_on(
    fake: &FakeAppwrite,
    overrides: &[(&str, &str)],
    sleeps: Arc<Mutex<Vec<Duration>>>,
) -> AppwriteClient {
    let mut vars: HashMap<String, String> = fake.variables();
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    let config = AppwriteConfig::from_lookup(|k| vars.get(k).cloned(), None).expect("config");
    AppwriteClient::new(config).with_retry(RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(100),
        max_delay: MAX_DELAY,
        sleep: Arc::new(move |d| sleeps.lock().unwrap().push(d)),
    })
}

fn store_on(
    fake: &FakeAppwrite,
    overrides: &[(&str, &str)],
    sleeps: Arc<Mutex<Vec<Duration>>>,
) -> AppwriteStore {
    AppwriteStore::new(client_on(fake, overrides, sleeps))
}

/// A store that owns its fake, for the conformance macro (one fresh fake per test).
pub struct OnFake(pub App);

pub fn fresh_store() -> Box<dyn JobStore> {
    Box::new(OnFake(spawn_app()))
}

impl JobStore for OnFake {
    fn create(&self, job: &Job, created: &JobEvent) -> StoreResult<Created> {
        self.0.store.create(job, created)
    }
    fn get(&self, id: &str) -> StoreResult<Job> {
        self.0.store.get(id)
    }
    fn list(&self, query: &JobQuery) -> StoreResult<Page> {
        self.0.store.list(query)
    }
    fn write(&self, write: &Write) -> StoreResult<Job> {
        self.0.store.write(write)
    }
    fn events(&self, job_id: &str, limit: usize) -> StoreResult<Vec<JobEvent>> {
        self.0.store.events(job_id, limit)
    }
    fn job_with_events(&self, job_id: &str, limit: usize) -> StoreResult<(Job, Vec<JobEvent>)> {
        self.0.store.job_with_events(job_id, limit)
    }
    fn prune(
        &self,
        keep: usize,
        older_than: Option<Timestamp>,
        batch: usize,
    ) -> StoreResult<Pruned> {
        self.0.store.prune(keep, older_than, batch)
    }
    fn stale(
        &self,
        job_type: JobType,
        status: JobStatus,
        before: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Job>> {
        self.0.store.stale(job_type, status, before, limit)
    }
    fn counts(&self) -> StoreResult<Vec<Count>> {
        self.0.store.counts()
    }
}
