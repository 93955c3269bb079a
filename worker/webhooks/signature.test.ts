// Our signatures against the reference implementation receivers use (the `standardwebhooks` package).
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret } from '../auth/credentials';
import { signedHeaders } from './signature';

describe('Standard Webhooks signatures', () => {
  const body = JSON.stringify({ event: 'message.received', message: 'héllo 👋' });

  it('verify with the standardwebhooks library under the secret, and under no other', async () => {
    const secret = newWebhookSecret();
    const headers = await signedHeaders([secret], 'msg_abc', body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow(); // one byte more
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_other' })).toThrow();
  });

  it('carry one signature per secret, so either verifies during a rotation', async () => {
    const [current, previous] = [newWebhookSecret(), newWebhookSecret()];
    const headers = await signedHeaders([current, previous], 'msg_rot', body);
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(current).verify(body, headers)).toBeTruthy();
    expect(new Webhook(previous).verify(body, headers)).toBeTruthy();
  });

  it('are refused by receivers when the timestamp is stale (replay protection)', async () => {
    const secret = newWebhookSecret();
    const headers = await signedHeaders([secret], 'msg_old', body, Date.now() - 10 * 60_000);
    expect(() => new Webhook(secret).verify(body, headers)).toThrow(/timestamp/i);
  });
});
