// Prometheus metrics of one runner process, in its own registry (tests can run several runners).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type RunnerMetrics = ReturnType<typeof createMetrics>;

export const createMetrics = (opts: { defaultMetrics?: boolean } = {}) => {
  const registry = new Registry();
  // Event-loop lag, heap, RSS, GC, handles: the default Node collectors.
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  // Read at scrape time from the sessions layer, so the gauge can never drift from the truth.
  const sessionSource: { count: () => Record<string, number> } = { count: () => ({}) };
  return {
    registry,
    sessionSource,
    sessions: new Gauge({
      name: 'runner_sessions',
      help: 'Sessions held by state',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(sessionSource.count())) this.set({ state }, n);
      },
    }),
    messagesIn: new Counter({ name: 'runner_messages_in_total', help: 'Messages received from WhatsApp', registers: [registry] }),
    messagesOut: new Counter({ name: 'runner_messages_out_total', help: 'Messages sent to WhatsApp', registers: [registry] }),
    outboxDepth: new Gauge({ name: 'runner_outbox_depth', help: 'Events waiting in the outbox', registers: [registry] }),
    outboxBytes: new Gauge({ name: 'runner_outbox_bytes', help: 'Bytes of the events waiting in the outbox (their JSON, UTF-8); OUTBOX_MAX_BYTES bounds it', registers: [registry] }),
    outboxSpilledBytes: new Gauge({
      name: 'runner_outbox_spilled_bytes',
      help: 'Bytes of outbox events waiting on disk because memory (OUTBOX_MAX_BYTES) was full; OUTBOX_SPILL_MAX_BYTES bounds it',
      registers: [registry],
    }),
    outboxDropped: new Counter({
      name: 'runner_outbox_dropped_total',
      help: 'Events dropped from the outbox (overflow: memory cap reached, or with OUTBOX_DIR the spill cap on disk; rejected: lease lost; invalid; too_large: over the control plane\'s body limit on its own)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    receiptsWaiting: new Gauge({
      name: 'runner_receipts_waiting',
      help: 'Delivery receipts of received messages held until the control plane has stored the message',
      registers: [registry],
    }),
    outboxPostFailures: new Counter({ name: 'runner_outbox_post_failures_total', help: 'Failed event batch posts (retried)', registers: [registry] }),
    reconnects: new Counter({ name: 'runner_reconnects_total', help: 'Reconnects', labelNames: ['kind'] as const, registers: [registry] }),
    authWrites: new Counter({ name: 'runner_auth_writes_total', help: 'Auth-state writes to the control plane', labelNames: ['kind'] as const, registers: [registry] }),
    numberLookups: new Counter({
      name: 'runner_number_lookups_total',
      help: 'Lookups of which account a phone number reaches, asked of WhatsApp (remembered answers are not counted)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    sendsPaced: new Histogram({
      name: 'runner_send_pacing_wait_seconds',
      help: 'How long sends waited for their turn under SEND_PACE (0 for those within the burst)',
      buckets: [0, 0.5, 1, 2.5, 5, 10, 15, 30],
      registers: [registry],
    }),
    sendsWaiting: new Gauge({ name: 'runner_send_pacing_waiting', help: 'Sends waiting for their turn under SEND_PACE now', registers: [registry] }),
    sendsRefused: new Counter({
      name: 'runner_send_pacing_refused_total',
      help: 'Sends refused (send_queue_full) because they would have waited past the bound',
      registers: [registry],
    }),
    linkUp: new Gauge({ name: 'runner_link_up', help: '1 while the control-plane link (to one Scheduler shard) is up', labelNames: ['shard'] as const, registers: [registry] }),
    commandSeconds: new Histogram({
      name: 'runner_command_duration_seconds',
      help: 'Commands from the control plane (send, pairing-code, logout, restart), from arrival to reply, by outcome (ok or the error code)',
      labelNames: ['command', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
  };
};
