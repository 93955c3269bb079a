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
    outboxDropped: new Counter({
      name: 'runner_outbox_dropped_total',
      help: 'Events dropped from the outbox (overflow: memory cap reached; rejected: lease lost; invalid; too_large: over the control plane\'s body limit on its own)',
      labelNames: ['reason'] as const,
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
    linkUp: new Gauge({ name: 'runner_link_up', help: '1 while the control-plane link is up', registers: [registry] }),
    commandSeconds: new Histogram({
      name: 'runner_command_duration_seconds',
      help: 'Commands from the control plane (send, pairing-code, logout, restart), from arrival to reply, by outcome (ok or the error code)',
      labelNames: ['command', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
  };
};
