//! `spawn_app()`: a fake Appwrite and a store wired to it, with the retry sleeps recorded
//! instead of slept, so fault tests run instantly and can assert the waits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_appwrite::FakeAppwrite;
use shared::appwrite::{AppwriteClient, AppwriteConfig, RetryPolicy};
use shared::store::appwrite::AppwriteStore;
use shared::store::layer::{Call, Hook, Layered};
use shared::store::{JobStore, StoreResult};

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

/// The fake a conformance store talks to, kept alive as long as the store.
pub struct Owns {
    _fake: FakeAppwrite,
}

impl Hook for Owns {
    fn before(&self, _: Call<'_>) -> StoreResult<()> {
        Ok(())
    }
}

/// A store that owns its fake, for the conformance macro (one fresh fake per test).
pub fn fresh_store() -> Box<dyn JobStore> {
    let App { fake, store, .. } = spawn_app();
    Box::new(Layered {
        inner: store,
        hook: Owns { _fake: fake },
    })
}
