// Runner events too large for one queue message (a long text in a script of three-byte characters, rich
// content) travel by reference: the event goes to R2 (EVENT_SPILL), the queue carries a pointer, and the
// events consumer reads it back before storing the batch, then deletes it. A bucket lifecycle rule
// (README, deployment) collects what a crash between the two leaves behind.
import { RunnerEvent, type QueuedEvent, type SpilledEvent } from '../../protocol/runner';
import { sha256Hex } from '../auth/credentials';

/** The same event spilled twice (a runner's retry) lands on the same object. */
async function keyOf(q: QueuedEvent): Promise<string> {
  return `events/${q.connection_pk}/${(await sha256Hex(`${q.epoch}:${q.event.id}`)).slice(0, 40)}`;
}

export async function spill(bucket: R2Bucket, q: QueuedEvent): Promise<SpilledEvent> {
  const key = await keyOf(q);
  const body = JSON.stringify(q.event);
  await bucket.put(key, body, { httpMetadata: { contentType: 'application/json' } });
  const { event: _event, ...lease } = q;
  return { ...lease, spilled: { key, type: q.event.type } };
}

/** The event back, or undefined when its object is gone (stored and cleaned up by an earlier delivery). */
export async function unspill(bucket: R2Bucket, s: SpilledEvent): Promise<QueuedEvent | undefined> {
  const object = await bucket.get(s.spilled.key);
  if (!object) return undefined;
  const event = RunnerEvent.parse(JSON.parse(await object.text()));
  const { spilled: _spilled, ...lease } = s;
  return { ...lease, event };
}
