// Stand-ins for what the four Pivotr Mailer functions really talk to (the campaign's leads and
// SES, the email verifier, SQS, AWS's sending statistics). Each records what it did so the
// scenario tests can check every email went out exactly once; `on*` fields let a test act at an
// exact point (pause at the 50th email, fail at the 120th lead): faults by count, not by time.

/** The leads of a campaign or lead list: `count` addresses, stable per id. */
export function leadsOf(id, count) {
  return Array.from({ length: count }, (_, i) => ({ id: `${id}-lead-${i}`, email: `lead${i}@example.test` }));
}

/** Recipients per campaign, as the Mailer's campaign row would say; 200 when not set. */
export const campaignSizes = new Map();

/** The recipients of a campaign (the Mailer loads them from its leads table). */
export function recipientsOf(campaignId) {
  return leadsOf(campaignId, campaignSizes.get(campaignId) ?? 200);
}

export const mailer = {
  /** @type {Array<{ campaignId: string, leadId: string }>} */
  sent: [],
  /** Sends per campaign, and the per-recipient "sent" marks (Pivotr keeps one on each lead). */
  counts: new Map(),
  marks: new Set(),
  /** @type {null | ((n: number, campaignId: string) => Promise<void> | void)} called after each send with the count so far */
  onSend: null,
  async send(campaignId, lead) {
    this.sent.push({ campaignId, leadId: lead.id });
    this.marks.add(`${campaignId}\n${lead.id}`);
    const n = (this.counts.get(campaignId) ?? 0) + 1;
    this.counts.set(campaignId, n);
    if (this.onSend) await this.onSend(n, campaignId);
    return true;
  },
  /** Whether this lead already has its "sent" mark for the campaign. */
  wasSent(campaignId, lead) {
    return this.marks.has(`${campaignId}\n${lead.id}`);
  },
};

export const verifier = {
  /** @type {Array<{ listId: string, leadId: string, verdict: string }>} */
  verified: [],
  /** Throws (like a verifier outage) when this many leads of a list have been verified. */
  /** @type {null | number} */
  failAt: null,
  async verify(listId, lead, index) {
    if (this.failAt !== null && this.verified.filter((v) => v.listId === listId).length === this.failAt) {
      this.failAt = null;
      throw new Error(`verifier unavailable at lead ${index}`);
    }
    const verdict = ['valid', 'valid', 'invalid', 'risky', 'unknown'][index % 5];
    this.verified.push({ listId, leadId: lead.id, verdict });
    return verdict;
  },
};

export const sqs = {
  /** @type {Array<{ at: number, received: number }>} */
  polls: [],
  /** Messages waiting, taken `batch` at a time. */
  waiting: 0,
  async receive(batch = 10) {
    const received = Math.min(batch, this.waiting);
    this.waiting -= received;
    this.polls.push({ at: this.polls.length, received });
    return received;
  },
};

export const aws = {
  /** @type {string[]} execution ids that fetched */
  fetches: [],
  async sendQuota(executionId) {
    this.fetches.push(executionId);
    return { max24HourSend: 50000, maxSendRate: 14, sentLast24Hours: 1234 };
  },
};
