// What a reconnecting client is owed: the frames after its `since` when the Hub's buffer still holds all of
// them, else one `resync` telling it to reload from the REST API. Pure, so the edge cases (an empty buffer,
// a `since` from the future, a buffer pruned by age) are tested without a Durable Object.
import type { ResyncReason } from '../../protocol/realtime';

/** The buffer keeps the last BUFFER_MAX_EVENTS events or BUFFER_MAX_AGE_MS of them, whichever is less. */
export const BUFFER_MAX_EVENTS = 1_000;
export const BUFFER_MAX_AGE_MS = 10 * 60_000;

export type ReplayPlan =
  | { kind: 'none' }
  | { kind: 'replay'; after: number }
  | { kind: 'resync'; reason: ResyncReason; oldest?: number };

/**
 * `head`: the last sequence the tenant's stream issued (0 before any); `oldestKept`: the oldest sequence
 * the buffer still holds within its age limit (undefined when it holds none).
 */
export function planReplay(since: number | undefined, head: number, oldestKept: number | undefined): ReplayPlan {
  if (since === undefined || since === head) return { kind: 'none' };
  // Ahead of the stream: the client saw numbers this Hub never issued (its buffer was lost). Resync.
  if (since > head) return { kind: 'resync', reason: 'unknown_sequence', ...(oldestKept === undefined ? {} : { oldest: oldestKept }) };
  // The next frame it needs is since + 1; the buffer must still start at or before it.
  if (oldestKept === undefined || oldestKept > since + 1) {
    return { kind: 'resync', reason: 'buffer_exceeded', ...(oldestKept === undefined ? {} : { oldest: oldestKept }) };
  }
  return { kind: 'replay', after: since };
}

/** Frames numbered at or below this, or stored before `minAt`, leave the buffer. */
export function pruneBounds(head: number, now: number): { maxDroppedSequence: number; minAt: number } {
  return { maxDroppedSequence: head - BUFFER_MAX_EVENTS, minAt: now - BUFFER_MAX_AGE_MS };
}
