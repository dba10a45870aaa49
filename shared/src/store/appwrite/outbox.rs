//! The transactional outbox of a job's log: the newest entries ride in the job row's
//! `pendingLog` column, so a change and its entries land (or fail) together in one request,
//! and reach `job_events` only when the outbox is cut. This module owns the entry ([`Pending`]),
//! the column's bounds (in bytes, as the column stores them) and where it is cut
//! ([`push_pending`]); the store decides when the cut entries are moved. [`Outbox`] replays the
//! same rules for a stand-in that must publish what Appwrite would (`jobs-dev`'s Realtime).

use serde_json::{json, Value};

use super::error::malformed;
use super::row::{self, bad_column, decode_event, encode_event, str_field, wrap};
use crate::job::{EventKind, Job, JobEvent, MAX_TEXT_CHARS};
use crate::store::StoreResult;

/// The `pendingLog` column (string, size 65535) is a MariaDB `TEXT`, which holds 65,535 *bytes*,
/// not characters (utopia-php/database 6.0.0 `Adapter/MariaDB.php` `getSQLType`;
/// appwrite-notes: Long text columns hold bytes), so every bound here is in bytes.
const PENDING_COLUMN_BYTES: usize = 65_535;
/// The outbox in the job row holds at most this many entries and this many bytes of JSON.
/// The byte bound is set by the largest entries, not the usual ones (a few hundred bytes, so
/// the entry bound binds first): a message of 2,000 four-byte characters makes an entry of
/// about 8,300 bytes, and the outbox must hold several of them, or every write that logs one
/// would pay a cut (issue 31).
const PENDING_MAX_ENTRIES: usize = 20;
const PENDING_MAX_BYTES: usize = 56_000;
/// ...and once over either bound it is cut back to at most this much, so the request that
/// makes sure the dropped entries are in `job_events` is paid once per ~10 small entries, and
/// once per 6 of the largest messages (no old one fits the keep bound: all are moved at once).
const PENDING_KEEP_ENTRIES: usize = 10;
const PENDING_KEEP_BYTES: usize = 8_000;
/// An entry larger than this (a huge `details`, e.g. a completion's result) is kept in the row
/// without its details, which still reach `job_events` through the normal append.
const PENDING_ENTRY_MAX_BYTES: usize = 12_000;
/// The largest entry the outbox can be asked to keep: details beyond the bound above are left
/// out, a message of `MAX_TEXT_CHARS` characters takes at most 6 bytes a character as JSON
/// (`\u00XX`), and the other columns (ids, times, actor) well under 1,000 bytes.
const PENDING_ENTRY_BOUND: usize = {
    let message = MAX_TEXT_CHARS * 6 + 1_000;
    if message > PENDING_ENTRY_MAX_BYTES {
        message
    } else {
        PENDING_ENTRY_MAX_BYTES
    }
};
/// What the column holds after any write: the outbox under its bound, or, after a cut, what
/// was kept plus a write's new entries (at most two: a `started` and a `progress`), plus the
/// `{"v":1,"data":[…]}` wrapper.
const _: () = assert!(
    PENDING_MAX_BYTES + 64 <= PENDING_COLUMN_BYTES
        && PENDING_KEEP_BYTES + 2 * (PENDING_ENTRY_BOUND + 1) + 64 <= PENDING_COLUMN_BYTES
);
/// What such an entry's details say in the outbox.
const OMITTED: &str = "too large for the job row";

/// One log entry as kept in the job row's `pendingLog`: the event, the job revision it was
/// written with (its place in the log) and its row id in `job_events` (the event id, or the
/// job id for a created entry).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Pending {
    pub(super) event: JobEvent,
    pub(super) rev: u64,
    pub(super) row: String,
}

impl Pending {
    pub(super) fn new(event: &JobEvent, rev: u64, row: String) -> Self {
        Pending {
            event: event.clone(),
            rev,
            row,
        }
    }

    /// The entries a write of `job` brings: a created entry's row id is the job id (whoever
    /// creates the row, its log has exactly one created entry), any other's its event id.
    pub(super) fn of_write(job: &Job, events: &[JobEvent]) -> Vec<Self> {
        events
            .iter()
            .map(|e| {
                let id = if e.kind == EventKind::Created {
                    job.id.clone()
                } else {
                    e.id.clone()
                };
                Pending::new(e, job.rev, id)
            })
            .collect()
    }

    /// The entry as stored: the `job_events` row's columns plus its row id. An entry too large
    /// for the outbox goes without its details (the append still stores them in full).
    fn encode(&self) -> Value {
        let mut value = self.encode_full();
        if bytes(&value) > PENDING_ENTRY_MAX_BYTES {
            value["details"] = wrap(&json!({ "omitted": OMITTED }));
        }
        value
    }

    /// The entry's `job_events` row in full, with its row id: what a bulk upsert writes.
    pub(super) fn encode_full(&self) -> Value {
        let mut value = encode_event(&self.event, self.rev);
        value["$id"] = json!(self.row);
        value
    }

    /// Whether this entry, as read back from the outbox, lost its details there.
    pub(super) fn details_omitted(&self) -> bool {
        self.event.details.get("omitted") == Some(&json!(OMITTED))
    }

    /// Whether the outbox keeps this entry without its details.
    pub(super) fn is_oversized(&self) -> bool {
        bytes(&self.encode_full()) > PENDING_ENTRY_MAX_BYTES
    }

    fn decode(value: &Value) -> StoreResult<Self> {
        Ok(Pending {
            event: decode_event(value)?,
            rev: value
                .get("jobRev")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed("pendingLog entry without a numeric `jobRev`"))?,
            row: str_field(value, "$id")?.to_owned(),
        })
    }
}

/// Size of a value's JSON in bytes, as the column stores it (UTF-8).
fn bytes(value: &Value) -> usize {
    value.to_string().len()
}

/// The `pendingLog` column's value: the entries, oldest first, in the JSON wrapper.
pub(super) fn encode_pending(pending: &[Pending]) -> Value {
    wrap(&Value::Array(pending.iter().map(Pending::encode).collect()))
}

/// The outbox of job row `job_id`, read from its `pendingLog` column; an error names the row
/// and the column.
pub(super) fn decode_pending(row: &Value, job_id: &str) -> StoreResult<Vec<Pending>> {
    let bad = |why: String| bad_column("job", job_id, "pendingLog", why);
    match row::wrapped_column(row, "pendingLog").map_err(bad)? {
        // Rows written before the outbox existed have none.
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(entries)) => entries
            .iter()
            .map(Pending::decode)
            .collect::<StoreResult<_>>()
            .map_err(|e| bad(e.to_string())),
        Some(other) => Err(bad(format!("expected an array, got {other}"))),
    }
}

/// Appends `new` to the outbox and, if that breaks a bound, cuts the oldest entries (never the
/// new ones: they must be written with their change) down to the keep bounds. Returns what was
/// cut, which the caller must make sure is in `job_events` before the row is written.
pub(super) fn push_pending(pending: &mut Vec<Pending>, new: &[Pending]) -> Vec<Pending> {
    pending.extend_from_slice(new);
    let sizes: Vec<usize> = pending.iter().map(|p| bytes(&p.encode()) + 1).collect();
    let total: usize = sizes.iter().sum();
    if pending.len() <= PENDING_MAX_ENTRIES && total <= PENDING_MAX_BYTES {
        return Vec::new();
    }
    let droppable = pending.len() - new.len();
    let (mut cut, mut left, mut count) = (0, total, pending.len());
    while cut < droppable && (count > PENDING_KEEP_ENTRIES || left > PENDING_KEEP_BYTES) {
        left -= sizes[cut];
        count -= 1;
        cut += 1;
    }
    pending.drain(..cut).collect()
}

/// One job row's outbox as `AppwriteStore` keeps it, for a stand-in that must publish what
/// Appwrite would for the same writes (`jobs-dev`'s Realtime): `pendingLog` grows with each
/// logged write and entries reach `job_events` only when it is cut.
#[derive(Debug, Default, Clone)]
pub struct Outbox {
    pending: Vec<Pending>,
}

impl Outbox {
    /// Adds the entries written with `job`'s change (a created entry's row id is the job id, as
    /// the store writes it). Returns the row's new `pendingLog` value and the `job_events`
    /// rows the store upserts first because the outbox was cut (empty when it was not); `None`
    /// for a write without entries, which leaves `pendingLog` unchanged.
    pub fn push(&mut self, job: &Job, events: &[JobEvent]) -> Option<(Value, Vec<Value>)> {
        if events.is_empty() {
            return None;
        }
        let cut = push_pending(&mut self.pending, &Pending::of_write(job, events));
        let rows = cut.iter().map(Pending::encode_full).collect();
        Some((encode_pending(&self.pending), rows))
    }

    /// The current `pendingLog` value.
    pub fn value(&self) -> Value {
        encode_pending(&self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobStatus;
    use chrono::Utc;
    use serde_json::Map;

    fn entry(n: u64, message_chars: usize) -> Pending {
        let event = JobEvent {
            id: format!("e{n}"),
            job_id: "j1".into(),
            at: crate::job::millis(Utc::now()),
            kind: EventKind::Progress,
            actor: "system".into(),
            message: Some("m".repeat(message_chars)),
            from_status: Some(JobStatus::Running),
            to_status: Some(JobStatus::Running),
            details: Map::new(),
        };
        Pending::new(&event, n, format!("e{n}"))
    }

    #[test]
    fn the_outbox_survives_the_round_trip_through_its_row() {
        let pending = vec![entry(1, 10), entry(2, 0)];
        let row = json!({ "$id": "j1", "pendingLog": encode_pending(&pending) });
        assert_eq!(decode_pending(&row, "j1").unwrap(), pending);
        // Rows from before the outbox have no such column.
        assert!(decode_pending(&json!({ "$id": "j1" }), "j1")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn an_outbox_that_does_not_decode_is_an_error_naming_the_row_and_column() {
        let row = json!({ "$id": "j1", "pendingLog": wrap(&json!({ "not": "a list" })) });
        let err = decode_pending(&row, "j1").unwrap_err().to_string();
        assert!(err.contains("job row `j1` column `pendingLog`"), "{err}");
    }

    #[test]
    fn the_outbox_is_cut_to_half_only_past_its_bounds_and_never_loses_the_new_entries() {
        let mut pending: Vec<Pending> = (1..=PENDING_MAX_ENTRIES as u64)
            .map(|n| entry(n, 10))
            .collect();
        assert!(push_pending(&mut Vec::new(), &pending).is_empty());
        let cut = push_pending(&mut pending, &[entry(21, 10)]);
        assert_eq!(cut.len(), 21 - PENDING_KEEP_ENTRIES);
        assert_eq!(cut[0].rev, 1, "the oldest go first");
        assert_eq!(pending.len(), PENDING_KEEP_ENTRIES);
        assert_eq!(pending.last().unwrap().rev, 21);

        // By size: long messages (4,000 bytes each) trip the byte bound before the entry bound.
        let long = |n| {
            let mut e = entry(n, 0);
            e.event.message = Some("😀".repeat(1_000));
            e
        };
        let mut pending: Vec<Pending> = (1..=13).map(long).collect();
        assert!(push_pending(&mut pending.clone(), &[]).is_empty());
        let cut = push_pending(&mut pending, &[long(14)]);
        assert!(!cut.is_empty());
        let kept: usize = pending.iter().map(|p| bytes(&p.encode()) + 1).sum();
        assert!(kept <= PENDING_KEEP_BYTES, "{kept}");
        assert_eq!(pending.last().unwrap().rev, 14);
    }

    /// 4-byte characters count four times against the column's 65,535 bytes: the outbox bound
    /// is in bytes, so it holds whatever the text. And it holds several of the longest
    /// messages, so a worker changing one on every call pays a cut once per six writes, each
    /// moving six entries, not one on every write (issue 31).
    #[test]
    fn the_longest_four_byte_messages_fit_the_column_and_are_cut_once_per_six_writes() {
        let mut pending = Vec::new();
        let mut cuts = Vec::new();
        for n in 1..=60u64 {
            let mut e = entry(n, 0);
            e.event.message = Some("😀".repeat(MAX_TEXT_CHARS));
            let cut = push_pending(&mut pending, &[e]);
            if !cut.is_empty() {
                cuts.push(cut.len());
            }
            let size = encode_pending(&pending).as_str().map_or(0, str::len);
            assert!(size <= PENDING_COLUMN_BYTES, "entry {n}: {size} bytes");
        }
        assert!(cuts.len() <= 60 / 6, "{cuts:?}");
        assert!(cuts.iter().all(|&n| n >= 6), "{cuts:?}");
    }

    /// The worst case for the column: every write brings two entries whose messages escape to
    /// six bytes a character (`\u0001`), the most JSON a message can take.
    #[test]
    fn the_outbox_fits_the_column_with_the_largest_entries_a_write_can_bring() {
        let mut pending = Vec::new();
        for n in (1..=40u64).step_by(2) {
            let pair: Vec<Pending> = [n, n + 1]
                .iter()
                .map(|&k| {
                    let mut e = entry(k, 0);
                    e.event.message = Some("\u{1}".repeat(MAX_TEXT_CHARS));
                    e
                })
                .collect();
            push_pending(&mut pending, &pair);
            let size = encode_pending(&pending).as_str().map_or(0, str::len);
            assert!(
                size <= PENDING_COLUMN_BYTES,
                "entries {n}-{}: {size} bytes",
                n + 1
            );
        }
    }

    #[test]
    fn an_entry_too_large_for_the_outbox_is_kept_without_its_details() {
        let mut big = entry(1, 10);
        big.event
            .details
            .insert("blob".into(), json!("x".repeat(PENDING_ENTRY_MAX_BYTES)));
        let kept = Pending::decode(&big.encode()).unwrap();
        assert_eq!(kept.event.id, "e1");
        assert!(kept.event.details.get("blob").is_none());
        assert!(bytes(&big.encode()) <= PENDING_ENTRY_MAX_BYTES);
    }
}
