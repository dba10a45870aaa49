//! Reproducible synthetic job histories for benchmarks (the store's and the action API's), so
//! every figure in BENCHMARKS.md is measured on the same shape of data: jobs spread evenly over
//! a span before [`now`], 97% finished (mostly completed), the rest active, four types evenly.

use chrono::{DateTime, Duration};
use serde_json::{json, Map, Value};
use shared::job::{EventKind, Job, JobEvent, JobStatus, JobType, Timestamp};

/// "Now" for the generated data: the newest job was created just before it.
pub fn now() -> Timestamp {
    DateTime::from_timestamp_millis(1_798_761_600_000).expect("a valid instant")
}

/// A cheap, well-spread hash (SplitMix64) so the data is varied but reproducible.
fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Job `i` of `count` spread over `span` before [`now`] (newest last), with its created event,
/// ready for [`crate::SqliteStore::bulk_load`].
pub fn job(i: u64, count: u64, span: Duration) -> (Job, Vec<JobEvent>) {
    let h = mix(i);
    let created =
        now() - span + Duration::milliseconds(span.num_milliseconds() * i as i64 / count as i64);
    let status = match (h >> 8) % 100 {
        0..=79 => JobStatus::Completed,
        80..=89 => JobStatus::Failed,
        90..=96 => JobStatus::Cancelled,
        97 => JobStatus::Queued,
        98 => JobStatus::Running,
        _ => JobStatus::Paused,
    };
    let started = (status != JobStatus::Queued).then(|| created + Duration::seconds(2));
    let completed = status
        .is_final()
        .then(|| created + Duration::seconds(60 + ((h >> 16) % 7_200) as i64));
    let updated = completed.or(started).unwrap_or(created);
    let mut result = Map::new();
    result.insert("sent".into(), json!(200));
    let mut job = Job::queued(
        format!("j{:011x}{:016x}", created.timestamp_millis(), h),
        JobType::ALL[(h % 4) as usize],
        format!("campaign-{}", (h >> 24) % 5_000),
        created,
    );
    job.status = status;
    job.progress = if status == JobStatus::Completed {
        100
    } else {
        ((h >> 32) % 100) as u8
    };
    job.progress_message = Some("sent 120 of 200".into());
    job.started_at = started;
    job.updated_at = updated;
    job.completed_at = completed;
    job.error_message = (status == JobStatus::Failed).then(|| "SES throttled".into());
    if let Value::Object(map) = json!({"campaignId": format!("c-{}", h % 5_000), "listSize": 200}) {
        job.metadata = map;
    }
    job.heartbeat_at = updated;
    job.done = Some(120);
    job.total = Some(200);
    job.result = (status == JobStatus::Completed).then_some(result);
    job.run = 1;
    let created_event = JobEvent {
        id: format!("e{}", &job.id[1..]),
        job_id: job.id.clone(),
        at: created,
        kind: EventKind::Created,
        actor: "function:hook-campaign-run".into(),
        message: None,
        from_status: None,
        to_status: Some(JobStatus::Running),
        details: Map::new(),
    };
    (job, vec![created_event])
}
