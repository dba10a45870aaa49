// An Appwrite function (Node runtime) sending a campaign through the Job Manager: it starts (or,
// re-triggered by a resume with `jobId`, picks up) its CAMPAIGN_RUN job, reports progress with
// a checkpoint, stops at the next batch on `pause` (confirming with `paused`) and on `cancel`.
// Its function needs the scope `executions.write` to call the hook with its own key.
import { Client, Functions } from 'node-appwrite';
import { JobTracker } from './tracker.js';

const BATCH = 10;

export default async ({ req, res, log }) => {
  const client = new Client()
    .setEndpoint(process.env.APPWRITE_FUNCTION_API_ENDPOINT)
    .setProject(process.env.APPWRITE_FUNCTION_PROJECT_ID)
    .setKey(req.headers['x-appwrite-key']);
  const tracker = new JobTracker(new Functions(client), 'hook-campaign-run', {
    caller: 'orchestrator', executionId: req.headers['x-appwrite-execution-id'],
  });
  // A first run gets {campaignId}; a resume or retry re-triggers with a start body
  // {event, jobId, run, referenceId, checkpoint} (docs/hooks.md § Runs).
  const { campaignId, referenceId, jobId, run } = req.bodyJson ?? {};
  const leads = await loadLeads(campaignId ?? referenceId);

  let control = await tracker.start({ referenceId: campaignId ?? referenceId, jobId, run, total: leads.length });
  if (control !== 'continue') return res.json({ stopped: control });
  let sent = tracker.checkpoint?.sent ?? 0; // a resumed run picks up where it paused
  const counts = { sent: 0, failed: 0, bounced: 0 };

  try {
    while (sent < leads.length) {
      for (const lead of leads.slice(sent, sent + BATCH)) {
        counts[(await sendEmail(lead)) ? 'sent' : 'failed'] += 1;
      }
      sent = Math.min(sent + BATCH, leads.length);
      control = await tracker.progress({
        done: sent, message: `${sent}/${leads.length} emails sent`, checkpoint: { sent },
      });
      if (control === 'pause') {
        await tracker.paused({ sent }, `paused after ${sent} emails`);
        log(`paused at ${sent}; a resume re-triggers this function with the job id`);
        return res.json({ paused: sent });
      }
      if (control === 'cancel') {
        log(`cancelled at ${sent}`);
        return res.json({ cancelled: sent });
      }
    }
    await tracker.complete(counts, `${sent}/${leads.length} emails sent`);
    return res.json({ completed: counts });
  } catch (err) {
    if (tracker.control === 'cancel') return res.json({ cancelled: sent });
    await tracker.fail(err.message ?? String(err)).catch(() => {});
    throw err;
  }
};

// Stand-ins for the orchestrator's own code.
async function loadLeads(campaignId) {
  return Array.from({ length: 200 }, (_, i) => ({ id: `${campaignId}-lead-${i}` }));
}
async function sendEmail(_lead) {
  return true;
}
