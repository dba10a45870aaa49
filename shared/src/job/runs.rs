//! Runs, fences and claims: which worker call belongs to the job's current run
//! (docs/hooks.md § Runs) and the claims a run was answered `continue` for (§ Exactly once).
//! Pure, like the rest of `job`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Job, JobError, JobStatus};

/// A claim the hook answered `continue`: its run will send `[done, claimed)` and continue from
/// the claim's checkpoint. Kept until the run makes another call (which proves it had the
/// answer), so a repeat of the claim (the answer was lost, the worker sent it again) gets the
/// same answer, even after a resume gave the job to a newer run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    pub run: u64,
    /// Units the worker had done when it claimed, and the end of the range it claimed.
    pub done: Option<u64>,
    pub claimed: Option<u64>,
    /// `checkpoint_digest` of the claim's checkpoint: a repeat carries the same checkpoint.
    pub checkpoint: String,
}

/// Claims kept per job; a run older than the newest this many with an unconfirmed claim is
/// forgotten (its repeat is then answered as superseded).
pub(crate) const MAX_CLAIMS: usize = 8;

/// The most bytes `MAX_CLAIMS` claims take as JSON (every number at its largest, the store's
/// wrapper included), which the `claims` column must hold.
pub const MAX_CLAIMS_JSON_BYTES: usize = 1_000;

/// A short digest of a checkpoint, to recognise a repeated claim without storing its checkpoint
/// twice. Keys are sorted (serde_json's map), so equal values have equal digests.
pub(crate) fn checkpoint_digest(checkpoint: &Value) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(checkpoint.to_string().as_bytes());
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// How a worker's call relates to the job's current run, decided by [`Job::fence`] and
/// [`Job::fence_start`] on the freshly read row before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fence {
    /// The call belongs to the current run (or starts a new one): apply it.
    Current,
    /// A start that repeats the current run's own start (same execution): answer, write nothing.
    Repeat,
    /// A start on a PAUSED job: it waits for resume; answer `pause`, write nothing.
    Wait,
    /// Not the current run: write nothing, answer `control: cancel` with this code.
    Stop(StopCode),
}

/// Why a call was told to stop without writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCode {
    /// An older run, or a queued job that waits for its re-triggered worker's start.
    Superseded,
    /// No run sent, on a job that has had more than one run.
    RunRequired,
}

impl StopCode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StopCode::Superseded => "superseded",
            StopCode::RunRequired => "run_required",
        }
    }
}

impl Job {
    /// Fences a worker's report (anything but `start`) by the run it carries; the table is in
    /// docs/hooks.md § Runs. A run the job never had is invalid input. Final jobs pass, so the
    /// state machine refuses the event as before (409 with `control: cancel`).
    pub(crate) fn fence(&self, run: Option<u64>) -> Result<Fence, JobError> {
        match run {
            Some(r) if r > self.run => Err(self.unknown_run(r)),
            Some(r) if r < self.run => Ok(Fence::Stop(StopCode::Superseded)),
            _ if self.status.is_final() => Ok(Fence::Current),
            // A queued job has no live run: only its re-triggered worker's start takes it.
            _ if self.status == JobStatus::Queued => Ok(Fence::Stop(StopCode::Superseded)),
            Some(_) => Ok(Fence::Current),
            // Without a run, only a job that never had a second worker is safe to change.
            None if self.run <= 1 => Ok(Fence::Current),
            None => Ok(Fence::Stop(StopCode::RunRequired)),
        }
    }

    /// Fences a `start` on an existing job. `Current` means: pick the job up in a new run (or,
    /// final, let the state machine refuse it). A start from the execution that holds the
    /// running job repeats its own start (its first answer was lost): answered, not written.
    /// Otherwise a start carrying an older run is superseded.
    pub(crate) fn fence_start(
        &self,
        run: Option<u64>,
        execution_id: Option<&str>,
    ) -> Result<Fence, JobError> {
        let same_execution = execution_id.is_some() && execution_id == self.execution_id.as_deref();
        match run {
            Some(r) if r > self.run => Err(self.unknown_run(r)),
            _ if same_execution && self.status == JobStatus::Running => Ok(Fence::Repeat),
            Some(r) if r < self.run => Ok(Fence::Stop(StopCode::Superseded)),
            _ if self.status == JobStatus::Paused => Ok(Fence::Wait),
            _ => Ok(Fence::Current),
        }
    }

    /// Whether `run` holds an unconfirmed claim with this checkpoint: the call repeats a claim
    /// that was answered `continue`.
    pub(crate) fn granted(&self, run: u64, checkpoint: &Value) -> bool {
        let digest = checkpoint_digest(checkpoint);
        self.claims
            .iter()
            .any(|c| c.run == run && c.checkpoint == digest)
    }

    /// Records `claim` as its run's unconfirmed claim, replacing the run's previous one and
    /// forgetting the oldest run's beyond [`MAX_CLAIMS`].
    pub(crate) fn grant(&mut self, claim: Claim) {
        self.claims.retain(|c| c.run != claim.run);
        self.claims.push(claim);
        self.claims.sort_by_key(|c| c.run);
        let excess = self.claims.len().saturating_sub(MAX_CLAIMS);
        self.claims.drain(..excess);
    }

    /// Forgets `run`'s claim: the run made a later call, so it had the answer. Whether one was
    /// held.
    pub(crate) fn release(&mut self, run: u64) -> bool {
        let before = self.claims.len();
        self.claims.retain(|c| c.run != run);
        before != self.claims.len()
    }

    /// The claim of the current run, if it holds one.
    pub(crate) fn current_claim(&self) -> Option<&Claim> {
        self.claims.iter().find(|c| c.run == self.run)
    }

    fn unknown_run(&self, run: u64) -> JobError {
        JobError::invalid(
            "run",
            format!(
                "run {run} was never started; job `{}` is at run {}",
                self.id, self.run
            ),
        )
    }
}
