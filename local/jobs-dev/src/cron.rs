//! Runs scheduled functions (`schedule` in appwrite.json) on their CRON, in UTC as Appwrite
//! does, with `x-appwrite-trigger: schedule` and no user. A run that fails is logged; the next
//! one happens on time anyway.

use std::sync::Arc;

use tokio::sync::watch;

use crate::gateway::{Caller, Gateway};
use crate::wire::ExecRequest;

pub fn spawn(
    gateway: Arc<Gateway>,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let scheduled: Vec<(String, String)> = gateway
        .hosted()
        .filter(|h| !h.spec.schedule.trim().is_empty())
        .map(|h| (h.spec.id.clone(), h.spec.schedule.clone()))
        .collect();
    for (id, expr) in scheduled {
        let schedule = match crate::manifest::schedule(&expr) {
            Ok(s) => s,
            Err(e) => {
                eprintln!(
                    "jobs-dev: {id}: schedule {expr:?} is not valid CRON ({e}); not scheduled"
                );
                continue;
            }
        };
        let (gateway, mut stop) = (gateway.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Ok(next) = schedule.find_next_occurrence(&chrono::Utc::now(), false) else {
                    return;
                };
                let wait = (next - chrono::Utc::now()).to_std().unwrap_or_default();
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                let req = ExecRequest {
                    body: String::new(),
                    is_async: false,
                    path: "/".into(),
                    method: "POST".into(),
                    headers: vec![],
                };
                match gateway
                    .execute(
                        &id,
                        Caller::Schedule,
                        &crate::realtime::Identity::default(),
                        req,
                    )
                    .await
                {
                    Ok((_, doc)) => println!(
                        "jobs-dev: scheduled {id} → {} {}",
                        doc["responseStatusCode"],
                        doc["responseBody"].as_str().unwrap_or("")
                    ),
                    Err(e) => eprintln!("jobs-dev: scheduled {id} failed: {}", e.message),
                }
            }
        }));
    }
    tasks
}
