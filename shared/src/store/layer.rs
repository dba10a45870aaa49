//! A store wrapped by a [`Hook`] that sees every call before it is delegated, and may refuse it:
//! the one way tests count store calls, inject faults or share a store they own, instead of a
//! hand-written `JobStore` impl forwarding each method (which silently loses any method it
//! forgets, such as `get_many`, to the trait's slower default).

use super::{Count, Created, JobQuery, JobStore, Page, Pruned, Retention, StoreResult, Write};
use crate::job::{Job, JobEvent, JobStatus, JobType, Timestamp};

/// Which call a [`Hook`] is shown, with the argument a hook most often needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call<'a> {
    Create(&'a str),
    Get(&'a str),
    GetMany,
    List,
    Write(&'a str),
    Events(&'a str),
    JobWithEvents(&'a str),
    Prune,
    Stale,
    Counts,
    Note,
    Noted,
}

impl Call<'_> {
    /// Whether the call writes (create, write, prune, note).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Call::Create(_) | Call::Write(_) | Call::Prune | Call::Note
        )
    }
}

/// Runs before each call of a [`Layered`] store; an error is the call's answer.
pub trait Hook: Send + Sync {
    fn before(&self, call: Call<'_>) -> StoreResult<()>;
}

/// No hook: a store that is only owned by something else (a test app holding its fake).
impl Hook for () {
    fn before(&self, _: Call<'_>) -> StoreResult<()> {
        Ok(())
    }
}

/// `inner` with `hook` run before every call; every method, `get_many` and `job_with_events`
/// included, is delegated as one call, so an adapter's one-request answers stay one request.
pub struct Layered<S, H> {
    pub inner: S,
    pub hook: H,
}

impl<S: JobStore, H: Hook> JobStore for Layered<S, H> {
    fn create(&self, job: &Job, created: &JobEvent) -> StoreResult<Created> {
        self.hook.before(Call::Create(&job.id))?;
        self.inner.create(job, created)
    }
    fn get(&self, id: &str) -> StoreResult<Job> {
        self.hook.before(Call::Get(id))?;
        self.inner.get(id)
    }
    fn get_many(&self, ids: &[&str]) -> StoreResult<Vec<Job>> {
        self.hook.before(Call::GetMany)?;
        self.inner.get_many(ids)
    }
    fn list(&self, query: &JobQuery) -> StoreResult<Page> {
        self.hook.before(Call::List)?;
        self.inner.list(query)
    }
    fn write(&self, write: &Write) -> StoreResult<Job> {
        self.hook.before(Call::Write(&write.job.id))?;
        self.inner.write(write)
    }
    fn events(&self, job_id: &str, limit: usize) -> StoreResult<Vec<JobEvent>> {
        self.hook.before(Call::Events(job_id))?;
        self.inner.events(job_id, limit)
    }
    fn job_with_events(&self, job_id: &str, limit: usize) -> StoreResult<(Job, Vec<JobEvent>)> {
        self.hook.before(Call::JobWithEvents(job_id))?;
        self.inner.job_with_events(job_id, limit)
    }
    fn prune(&self, retention: &Retention, batch: usize) -> StoreResult<Pruned> {
        self.hook.before(Call::Prune)?;
        self.inner.prune(retention, batch)
    }
    fn stale(
        &self,
        job_type: JobType,
        status: JobStatus,
        before: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Job>> {
        self.hook.before(Call::Stale)?;
        self.inner.stale(job_type, status, before, limit)
    }
    fn counts(&self) -> StoreResult<Vec<Count>> {
        self.hook.before(Call::Counts)?;
        self.inner.counts()
    }
    fn note(&self, rev: u64, events: &[JobEvent]) -> StoreResult<()> {
        self.hook.before(Call::Note)?;
        self.inner.note(rev, events)
    }
    fn noted(&self, ids: &[&str]) -> StoreResult<Vec<String>> {
        self.hook.before(Call::Noted)?;
        self.inner.noted(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::StoreError;
    use std::sync::Mutex;

    struct Recorder(Mutex<Vec<String>>);

    impl Hook for Recorder {
        fn before(&self, call: Call<'_>) -> StoreResult<()> {
            self.0.lock().unwrap().push(format!("{call:?}"));
            if call.writes() {
                return Err(StoreError::Unavailable("refused".into()));
            }
            Ok(())
        }
    }

    #[test]
    fn the_hook_sees_each_call_once_and_its_error_is_the_answer() {
        let store = Layered {
            inner: MemoryStore::new(),
            hook: Recorder(Mutex::new(Vec::new())),
        };
        assert!(store.get_many(&["a", "b"]).unwrap().is_empty());
        assert!(matches!(store.get("a"), Err(StoreError::NotFound(_))));
        assert!(matches!(store.counts(), Ok(c) if c.is_empty()));
        assert!(matches!(
            store.prune(&Retention::newest(1, None), 1),
            Err(StoreError::Unavailable(_))
        ));
        assert_eq!(
            *store.hook.0.lock().unwrap(),
            ["GetMany", "Get(\"a\")", "Counts", "Prune"]
        );
    }
}
