// The runner's notion of "now" for event timestamps: its own clock corrected by the control plane's.
// Connection status changes are ordered by their time, and they come from several clocks: this runner,
// the runner that takes a session over, and the Scheduler (which reports connections unreachable). A
// runner whose clock is off by seconds would otherwise have its reports ordered wrongly against those.
// The offset comes from the Scheduler's time in `welcome`, taken as of the middle of the hello→welcome trip.

let offsetMs = 0;

export const clock = {
  now: (): number => Date.now() + offsetMs,
  get offsetMs(): number {
    return offsetMs;
  },
  /** `serverTime` was read by the control plane between `sentAt` and `receivedAt` (local clock). */
  sync(serverTime: number, sentAt: number, receivedAt: number): void {
    offsetMs = Math.round(serverTime - (sentAt + receivedAt) / 2);
  },
  /** Tests. */
  reset(): void {
    offsetMs = 0;
  },
};
