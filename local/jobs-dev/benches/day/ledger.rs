//! Prices a scenario of the day from what `measure` drove: the day as the docs deploy it, with
//! each lever, the fair baseline, and the growth table. Every part names the doc or config it
//! models. The few figures no local stand-in can drive yet are counted from a stated rule
//! (the constants below), never guessed per run.

use super::{Cost, Day, Measured, Poller, Trigger, Window};

/// Appwrite requests of one Schedules refresh with four scheduled functions, one of them daily
/// (docs/schedules.md § Cost: the functions list, two per function, one for the daily one, the
/// audit read).
pub const SCHEDULES_REQUESTS: u64 = 11;
/// The Schedules view refreshes every 30 s while open.
pub const SCHEDULES_REFRESH_S: u64 = 30;
/// Appwrite requests the alerts step adds to a retention sweep with job and schedule alerts on
/// and nothing new (docs/alerts.md: the failed jobs list, one Schedules refresh, one probe of the
/// noted schedule states).
pub const ALERT_REQUESTS_PER_SWEEP: u64 = 1 + SCHEDULES_REQUESTS + 1;
/// What one failed job adds to the alerts step: the noted check and a note per channel (email
/// and webhook), docs/alerts.md.
pub const ALERT_REQUESTS_PER_FAILURE: u64 = 1 + 2;
/// What a re-trigger adds in job-actions beyond the action's own read and write: the
/// `createExecution` of the worker and the link of its execution id to the job
/// (docs/actions.md; `jobs-dev` hosts no orchestrator, so the model's resume cannot make them).
pub const RETRIGGER_REQUESTS: u64 = 2;
/// The campaign-row mirror (docs/adopting.md § 5, `JOBS_CAMPAIGN_*`): one write of the
/// campaign's status per pause, resume or cancel.
pub const MIRROR_REQUESTS: u64 = 1;

/// Every setting docs/adopting.md § Recommended settings lists, with the part that prices it.
/// The `cost` test fails when that table names a setting missing here (or the reverse).
pub const SETTINGS: &[(&str, &str)] = &[
    ("executions.write", "campaigns, verifications"),
    ("claim batch", "campaigns"),
    ("progress interval", "verifications"),
    ("JOBS_WORKER_CAMPAIGN_RUN", "re-triggers"),
    ("JOBS_WORKER_BULK_VERIFY", "re-triggers"),
    ("JOBS_CAMPAIGN_*", "re-triggers"),
    ("JOBS_OBSERVED_FUNCTIONS", "observer"),
    ("JOBS_OBSERVER_URL", "observer"),
    ("webhook events", "observer"),
    ("sqs-poller", "SQS poller, schedules view"),
    ("fetch-aws-metrics", "metrics fetch, schedules view"),
    ("dashboard", "dashboard, role lookups"),
];

/// How the scheduled workers are watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduled {
    /// Hook lines in both, as the reference workers: `start` + `heartbeat`, `start` +
    /// `complete` a run.
    Hooks,
    /// The SQS_POLL job kept with one `start` a run; the metrics fetch watched in the Schedules
    /// view only.
    PollingJob,
    /// Both watched in the Schedules view from Appwrite's own execution record: no hook call.
    View,
}

/// Which events reach `job-observer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observer {
    None,
    /// The four workers, `functions.<id>.executions.*` (create and update).
    AllEvents,
    /// Only the workers whose jobs hold work in flight (orchestrator, bulk-verify-leads), and
    /// only `functions.<id>.executions.*.update`.
    Lean,
}

/// How the dashboard's tabs keep current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dashboard {
    Realtime,
    Polling,
    /// The first page every 5 s, no Realtime (the fair baseline).
    Baseline,
}

#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub scheduled: Scheduled,
    pub observer: Observer,
    pub window: Window,
    pub retention_minutes: u64,
    pub dashboard: Dashboard,
    /// The Schedules view and alerts exist (issue 29); the baseline has neither.
    pub schedules: bool,
}

impl Scenario {
    /// As docs/adopting.md deployed it before issue 30.
    pub fn deployed() -> Scenario {
        Scenario {
            scheduled: Scheduled::Hooks,
            observer: Observer::AllEvents,
            window: Window::OneSecond,
            retention_minutes: 5,
            dashboard: Dashboard::Realtime,
            schedules: true,
        }
    }

    /// Every lever chosen: (a) the lean observer, (b) scheduled functions in the Schedules view,
    /// (c) the checkpoint window of the interval. (d) stays at 5 minutes (alerts ride on it).
    pub fn levers() -> Scenario {
        Scenario {
            scheduled: Scheduled::View,
            observer: Observer::Lean,
            window: Window::Interval,
            ..Scenario::deployed()
        }
    }

    /// The integration a Pivotr engineer would write without Job Manager's client: a hook call
    /// on every report, the list polled every 5 s, no observer, no Schedules view.
    pub fn baseline() -> Scenario {
        Scenario {
            scheduled: Scheduled::Hooks,
            observer: Observer::None,
            window: Window::EveryReport,
            retention_minutes: 5,
            dashboard: Dashboard::Baseline,
            schedules: false,
        }
    }
}

/// Changes to the measured day for the growth table.
#[derive(Debug, Clone, Copy)]
pub struct Variation {
    pub campaigns: u64,
    pub emails: u64,
    pub tabs: u64,
}

impl Variation {
    pub fn of(day: &Day) -> Variation {
        Variation {
            campaigns: day.campaigns,
            emails: day.emails,
            tabs: day.tabs,
        }
    }
}

/// One priced part of the day.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: &'static str,
    pub models: &'static str,
    pub cost: Cost,
}

fn day(m: &Measured) -> Day {
    m.day.expect("measured day")
}

/// A campaign of `emails` (the day's campaigns averaged for the day's size).
fn campaign(m: &Measured, emails: u64) -> (Cost, u64) {
    let d = day(m);
    if emails == d.emails {
        return (m.campaigns, d.campaigns);
    }
    let (_, cost) = m
        .campaign_sizes
        .iter()
        .find(|(size, _)| *size == emails)
        .unwrap_or_else(|| panic!("no campaign of {emails} emails was measured"));
    (*cost, 1)
}

/// Observer deliveries of the day's worker executions under `observer`; orchestrator
/// executions scaled to `campaigns`.
fn observer(m: &Measured, observer: Observer, scheduled: Scheduled, campaigns: u64) -> Cost {
    let d = day(m);
    let mut orchestrator = Cost::default();
    let mut rest = Cost::default();
    for e in &m.executions {
        let watched = match observer {
            Observer::None => false,
            Observer::AllEvents => match e.function {
                "sqs-poller" => scheduled != Scheduled::View,
                "fetch-aws-metrics" => scheduled == Scheduled::Hooks,
                _ => true,
            },
            Observer::Lean => matches!(e.function, "orchestrator" | "bulk-verify-leads"),
        };
        if !watched {
            continue;
        }
        let mut cost = e.update;
        if observer == Observer::AllEvents && e.trigger == Trigger::Api {
            cost += e.create.unwrap_or_default();
        }
        if e.function == "orchestrator" {
            orchestrator += cost;
        } else {
            rest += cost;
        }
    }
    // Per campaign, the day's average (its paused campaigns' second executions included).
    orchestrator.scaled(d.campaigns, campaigns) + rest
}

/// The day of `s` with `v`, part by part.
pub fn price(m: &Measured, s: &Scenario, v: Variation) -> Vec<Part> {
    let d = day(m);
    let (unit, of) = campaign(m, v.emails);
    let verification = m
        .verifications
        .iter()
        .find(|(w, _, _)| *w == s.window)
        .map(|(_, c, _)| *c)
        .expect("measured window");
    let poller = |mode: Poller| {
        m.poller
            .iter()
            .find(|(p, _)| *p == mode)
            .map(|(_, c)| *c)
            .expect("measured poller")
    };
    let (tab, lookups_per_tab) = match s.dashboard {
        Dashboard::Realtime => (m.tab_realtime, m.lookups_realtime),
        Dashboard::Polling => (m.tab_polling, m.lookups_polling),
        Dashboard::Baseline => (m.tab_baseline, m.lookups_baseline),
    };
    let refreshes = if s.schedules {
        d.schedules_minutes * 60 / SCHEDULES_REFRESH_S
    } else {
        0
    };
    let sweeps = if s.retention_minutes == 15 {
        m.sweeps_15
    } else {
        m.sweeps_5
    };
    let retriggers = d.pauses + d.retries;
    vec![
        Part {
            name: "campaigns",
            models: "docs/adopting.md § 3 orchestrator: a claim per 1 % batch",
            cost: unit.scaled(of, v.campaigns),
        },
        Part {
            name: "bulk verifications",
            models: "docs/adopting.md § 3 bulk-verify-leads; docs/hooks.md § Checkpoint window",
            cost: verification,
        },
        Part {
            name: "SQS poller",
            models: "docs/adopting.md § 3 sqs-poller; appwrite.json hook-sqs-poll",
            cost: match s.scheduled {
                Scheduled::Hooks => poller(Poller::StartAndHeartbeat),
                Scheduled::PollingJob => poller(Poller::StartOnly),
                Scheduled::View => Cost::default(),
            },
        },
        Part {
            name: "metrics fetch",
            models: "docs/adopting.md § 3 fetch-aws-metrics; appwrite.json hook-metrics-fetch",
            cost: if s.scheduled == Scheduled::Hooks {
                m.metrics
            } else {
                Cost::default()
            },
        },
        Part {
            name: "dashboard tabs",
            models:
                "dashboard/assets/list.js, api.js (pollMs, resyncMs); appwrite.json job-actions",
            cost: tab * v.tabs,
        },
        Part {
            name: "role lookups",
            models: "functions/job-actions/src/auth.rs; deploy.json roles",
            cost: Cost::new(
                0,
                (lookups_per_tab * v.tabs + m.lookups_actions + refreshes) * super::LOOKUP_REQUESTS,
            ),
        },
        Part {
            name: "re-triggers (pauses, resumes, a retry)",
            models: "docs/actions.md; docs/adopting.md § 4, § 5 (JOBS_WORKER_*, JOBS_CAMPAIGN_*)",
            cost: m.pauses
                + m.retry
                + Cost::new(
                    retriggers,
                    retriggers * RETRIGGER_REQUESTS + d.pauses * 2 * MIRROR_REQUESTS,
                ),
        },
        Part {
            name: "execution observer",
            models: "docs/adopting.md § 4b; appwrite.json job-observer; scripts/deploy webhook",
            cost: observer(m, s.observer, s.scheduled, v.campaigns),
        },
        Part {
            name: "schedules view",
            models: "docs/schedules.md § Cost: job-actions GET /v1/schedules",
            cost: Cost::new(refreshes, refreshes * SCHEDULES_REQUESTS),
        },
        Part {
            name: "alerts",
            models: "docs/alerts.md: in job-retention's sweep, job and schedule alerts on",
            cost: if s.schedules {
                Cost::new(
                    0,
                    sweeps.executions * ALERT_REQUESTS_PER_SWEEP
                        + d.retries * ALERT_REQUESTS_PER_FAILURE,
                )
            } else {
                Cost::default()
            },
        },
        Part {
            name: "retention sweeps",
            models: "appwrite.json job-retention schedule; docs/retention.md",
            cost: sweeps,
        },
    ]
}

pub fn total(parts: &[Part]) -> Cost {
    parts.iter().fold(Cost::default(), |a, p| a + p.cost)
}

/// The day's total for `s` unchanged.
pub fn day_total(m: &Measured, s: &Scenario) -> Cost {
    total(&price(m, s, Variation::of(&day(m))))
}

/// A hook call per item (email, lead) instead of per report: not what any worker does; kept
/// because earlier figures used it.
fn per_item(m: &Measured, part: &str, baseline: Cost) -> u64 {
    let d = day(m);
    match part {
        "campaigns" => d.campaigns * (d.emails + 2),
        "bulk verifications" => d.verifications * (d.leads + 2),
        _ => baseline.executions,
    }
}

fn cell(c: Cost) -> String {
    format!("{} | {}", c.executions, c.requests)
}

/// The day's table: per part, as deployed, every lever, the fair baseline, per item.
pub fn day_table(m: &Measured) -> String {
    let d = day(m);
    let v = Variation::of(&d);
    let deployed = price(m, &Scenario::deployed(), v);
    let levers = price(m, &Scenario::levers(), v);
    let baseline = price(m, &Scenario::baseline(), v);
    let mut out = String::from(
        "| part of the day | models | as deployed: executions | requests | every lever: executions | requests | fair baseline: executions | requests | per item: executions |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut items = 0;
    for ((a, b), c) in deployed.iter().zip(&levers).zip(&baseline) {
        let item = per_item(m, a.name, c.cost);
        items += item;
        out += &format!(
            "| {} | {} | {} | {} | {} | {item} |\n",
            a.name,
            a.models,
            cell(a.cost),
            cell(b.cost),
            cell(c.cost)
        );
    }
    let (a, b, c) = (total(&deployed), total(&levers), total(&baseline));
    out += &format!(
        "| **a day** | | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** | **{items}** |\n",
        a.executions, a.requests, b.executions, b.requests, c.executions, c.requests
    );
    let down = |s: Scenario| {
        day_total(
            m,
            &Scenario {
                dashboard: Dashboard::Polling,
                ..s
            },
        )
    };
    let (a, b) = (down(Scenario::deployed()), down(Scenario::levers()));
    out += &format!(
        "| a day with the socket down all day (tabs poll every 5 s) | dashboard/assets/list.js | {} | {} | {} | {} | {} | {} | |\n",
        a.executions, a.requests, b.executions, b.requests, c.executions, c.requests
    );
    let job = day_total(
        m,
        &Scenario {
            scheduled: Scheduled::PollingJob,
            ..Scenario::levers()
        },
    );
    out += &format!(
        "| a day keeping the SQS_POLL job (one `start` a poller run) | docs/adopting.md § 3 sqs-poller | | | {} | {} | | | |\n",
        job.executions, job.requests
    );
    out
}

/// A lever: what it sets, what undoes it, whether the cheaper day chose it.
struct Lever {
    name: &'static str,
    changes: &'static str,
    on: fn(&mut Scenario),
    off: fn(&mut Scenario),
    chosen: bool,
}

/// Each lever alone on the deployed day, and the cheaper day with it undone (or added).
pub fn lever_table(m: &Measured) -> String {
    let levers = [
        Lever {
            name: "(a) observer: `.update` only, only orchestrator and bulk-verify-leads",
            changes: "docs/adopting.md § 4b; scripts/deploy webhook events",
            on: |s| s.observer = Observer::Lean,
            off: |s| s.observer = Observer::AllEvents,
            chosen: true,
        },
        Lever {
            name: "(b) scheduled functions watched in the Schedules view (no hook lines)",
            changes: "docs/adopting.md § 3 sqs-poller, fetch-aws-metrics; docs/schedules.md",
            on: |s| s.scheduled = Scheduled::View,
            off: |s| s.scheduled = Scheduled::Hooks,
            chosen: true,
        },
        Lever {
            name: "(b′) as (b), but the SQS_POLL job kept with one `start` a run",
            changes: "docs/adopting.md § 3 sqs-poller",
            on: |s| s.scheduled = Scheduled::PollingJob,
            off: |s| s.scheduled = Scheduled::View,
            chosen: false,
        },
        Lever {
            name: "(c) checkpoint window = the progress interval (2 s), not 1 s",
            changes: "shared/src/tracker.rs; docs/hooks.md § Checkpoint window",
            on: |s| s.window = Window::Interval,
            off: |s| s.window = Window::OneSecond,
            chosen: true,
        },
        Lever {
            name: "(d) retention every 15 minutes, not 5",
            changes: "appwrite.json job-retention schedule",
            on: |s| s.retention_minutes = 15,
            off: |s| s.retention_minutes = 5,
            chosen: false,
        },
    ];
    let base = day_total(m, &Scenario::deployed());
    let every = day_total(m, &Scenario::levers());
    let mut out = format!(
        "| lever | changes | chosen | the deployed day ({} executions) with only this lever | requests | the cheaper day ({} executions) with it undone (chosen) or added | requests |\n|---|---|---|---:|---:|---:|---:|\n",
        base.executions, every.executions
    );
    for lever in levers {
        let mut alone = Scenario::deployed();
        (lever.on)(&mut alone);
        let alone = day_total(m, &alone);
        let mut toggled = Scenario::levers();
        if lever.chosen {
            (lever.off)(&mut toggled);
        } else {
            (lever.on)(&mut toggled);
        }
        let toggled = day_total(m, &toggled);
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            lever.name,
            lever.changes,
            if lever.chosen { "yes" } else { "no" },
            alone.executions,
            alone.requests,
            toggled.executions,
            toggled.requests
        );
    }
    out
}

/// How the day grows, every lever on and the fair baseline, one change at a time.
pub fn growth_table(m: &Measured) -> String {
    let d = day(m);
    let base = Variation::of(&d);
    let mut rows: Vec<(String, Scenario, Variation)> = vec![(
        format!(
            "the day ({} campaigns of {} emails, {} tab{}, 2 observed workers)",
            d.campaigns,
            d.emails,
            d.tabs,
            if d.tabs == 1 { "" } else { "s" }
        ),
        Scenario::levers(),
        base,
    )];
    for (size, _) in &m.campaign_sizes {
        rows.push((
            format!("campaigns of {size} emails"),
            Scenario::levers(),
            Variation {
                emails: *size,
                ..base
            },
        ));
    }
    rows.push((
        "100 campaigns a day".into(),
        Scenario::levers(),
        Variation {
            campaigns: 100,
            ..base
        },
    ));
    for tabs in [1, 10] {
        rows.push((
            format!("{tabs} open tab{}", if tabs == 1 { "" } else { "s" }),
            Scenario::levers(),
            Variation { tabs, ..base },
        ));
    }
    rows.push((
        "no observer".into(),
        Scenario {
            observer: Observer::None,
            ..Scenario::levers()
        },
        base,
    ));
    rows.push((
        "4 observed workers, every event (hook lines in all four)".into(),
        Scenario {
            observer: Observer::AllEvents,
            scheduled: Scheduled::Hooks,
            ..Scenario::levers()
        },
        base,
    ));
    let mut out = String::from(
        "| the day with | executions (every lever) | requests | executions (fair baseline) | requests |\n|---|---:|---:|---:|---:|\n",
    );
    for (name, s, v) in rows {
        let ours = total(&price(m, &s, v));
        let theirs = total(&price(m, &Scenario::baseline(), v));
        out += &format!(
            "| {name} | {} | {} | {} | {} |\n",
            ours.executions, ours.requests, theirs.executions, theirs.requests
        );
    }
    out
}

/// Leads verified again after the crashed verification, per window.
pub fn redone(m: &Measured) -> Vec<(Window, u64)> {
    m.verifications.iter().map(|(w, _, r)| (*w, *r)).collect()
}
