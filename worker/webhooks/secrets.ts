// Webhook signing secrets at rest: sealed (secrets/envelope.ts) under the WEBHOOK_SECRET_KEYS keyring and
// bound to their connection, so that the columns hold no secret a database reader could sign with, and a
// sealed value copied to another connection does not open there. Opened only to sign a delivery; the
// tenant sees a secret once, when it is made (create, rotate). Rows from before sealing hold the plain
// `whsec_…` value: still used as they are, and sealed by the cron (resealWebhookSecrets), which also moves
// rows sealed under an older key to the current one.
import { and, eq, isNull, or, sql, type SQL } from 'drizzle-orm';
import { connections } from '../../drizzle/schema';
import type { Db } from '../data/db';
import type { Env } from '../env';
import { ApiError } from '../http/errors';
import { isSealedText, openText, sealedTextPattern, sealText } from '../secrets/envelope';
import { KeyringError, webhookSecretKeyring, type Keyring } from '../secrets/keyring';

const contextOf = (connectionPk: string) => `webhook-secret/${connectionPk}`;

/** The keyring, or the reason there is none (unset or malformed), logged as an error each time it is needed. */
export async function webhookKeyring(env: Pick<Env, 'WEBHOOK_SECRET_KEYS' | 'WEBHOOK_SECRET_KEY'>): Promise<Keyring | undefined> {
  let problem = 'WEBHOOK_SECRET_KEYS is not set';
  try {
    const ring = await webhookSecretKeyring(env);
    if (ring) return ring;
  } catch (e) {
    if (!(e instanceof KeyringError)) throw e;
    problem = `WEBHOOK_SECRET_KEYS is malformed: ${e.message}`;
  }
  console.error(JSON.stringify({ level: 'error', msg: 'webhook secrets unavailable: no usable key', problem }));
  return undefined;
}

/** For routes: without a keyring no secret is made or used (503), never one stored in plain text. */
export async function requireWebhookKeyring(env: Pick<Env, 'WEBHOOK_SECRET_KEYS' | 'WEBHOOK_SECRET_KEY'>): Promise<Keyring> {
  const ring = await webhookKeyring(env);
  if (!ring) throw new ApiError(503, 'server_misconfigured', 'WEBHOOK_SECRET_KEYS is not set on this deployment; webhook secrets are never stored unencrypted.');
  return ring;
}

export const sealWebhookSecret = (ring: Keyring, connectionPk: string, secret: string) => sealText(ring, secret, contextOf(connectionPk));

/** The secret as the signature needs it; a row from before sealing holds it plain. */
export const openWebhookSecret = (ring: Keyring, connectionPk: string, stored: string) =>
  isSealedText(stored) ? openText(ring, stored, contextOf(connectionPk)) : Promise.resolve(stored);

/** Rows per cron run: a large table is sealed (or moved to a new key) over several minutes. */
const RESEAL_LIMIT = 200;

/**
 * Seals plain secrets and re-seals those under an older key, a batch per run. Each row is updated only if
 * its secrets are still the ones read (a rotation meanwhile wins). Answers how many rows were rewritten.
 */
export async function resealWebhookSecrets(db: Db, ring: Keyring, limit = RESEAL_LIMIT): Promise<number> {
  // Plain, or sealed under a configured key that is not the current one. (Under a key no longer configured,
  // a row cannot be opened here: its deliveries log the error instead of this sweep retrying it forever.)
  const older = [...ring.keys.keys()].filter((id) => id !== ring.currentId).map(sealedTextPattern);
  const due = (column: typeof connections.webhookSecret | typeof connections.previousWebhookSecret): SQL =>
    or(sql`${column} not like 'sealed:%'`, ...older.map((p) => sql`${column} like ${p}`))!;
  const rows = await db
    .select({ id: connections.id, secret: connections.webhookSecret, previous: connections.previousWebhookSecret })
    .from(connections)
    .where(or(due(connections.webhookSecret), due(connections.previousWebhookSecret)))
    .limit(limit);
  let done = 0;
  for (const row of rows) {
    let secret: string;
    let previous: string | null;
    try {
      secret = await sealWebhookSecret(ring, row.id, await openWebhookSecret(ring, row.id, row.secret));
      previous = row.previous === null ? null : await sealWebhookSecret(ring, row.id, await openWebhookSecret(ring, row.id, row.previous));
    } catch (e) {
      console.error(JSON.stringify({ level: 'error', msg: 'a webhook secret does not open; left as it is', connectionPk: row.id, reason: String((e as Error).message) }));
      continue;
    }
    const updated = await db
      .update(connections)
      .set({ webhookSecret: secret, previousWebhookSecret: previous })
      .where(
        and(
          eq(connections.id, row.id),
          eq(connections.webhookSecret, row.secret),
          row.previous === null ? isNull(connections.previousWebhookSecret) : eq(connections.previousWebhookSecret, row.previous),
        ),
      )
      .returning({ id: connections.id });
    done += updated.length;
  }
  return done;
}

