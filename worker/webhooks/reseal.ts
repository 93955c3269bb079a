// The cron's share of webhook secret sealing: a batch of plain or older-key rows per run (secrets.ts).
import { httpDb } from '../data/db';
import type { Env } from '../env';
import { errorText } from '../lib/error-text';
import { resealWebhookSecrets, webhookKeyring } from './secrets';

export async function resealStoredSecrets(env: Env): Promise<void> {
  const ring = await webhookKeyring(env);
  if (!ring) return;
  try {
    const count = await resealWebhookSecrets(httpDb(env), ring);
    if (count) console.log(JSON.stringify({ level: 'info', msg: 'webhook secrets sealed under the current key', count, keyId: ring.currentId }));
  } catch (e) {
    console.error(JSON.stringify({ level: 'error', msg: 'sealing webhook secrets failed; next run retries', error: errorText(e) }));
  }
}
