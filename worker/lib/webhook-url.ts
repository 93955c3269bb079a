// Where a tenant may point webhooks: the outbound URL rules (./outbound-url.ts), with the operator's
// allowance ALLOW_PRIVATE_WEBHOOK_TARGETS (local development only). Checked when a URL is configured and
// again before every delivery, so a URL stored under an older, laxer policy is refused too.
import { checkOutboundUrl, parsePrivateTargetPolicy, type PrivateTargetPolicy, type UrlRefusal } from './outbound-url';

export { parsePrivateTargetPolicy, type PrivateTargetPolicy } from './outbound-url';

export type WebhookUrlVerdict = { ok: true; url: string } | { ok: false; refusal: UrlRefusal; reason: string };

export const webhookTargetPolicy = (env: { ALLOW_PRIVATE_WEBHOOK_TARGETS?: string }) => parsePrivateTargetPolicy(env.ALLOW_PRIVATE_WEBHOOK_TARGETS);

export function checkWebhookUrl(raw: string, policy: PrivateTargetPolicy): WebhookUrlVerdict {
  const verdict = checkOutboundUrl(raw, policy);
  return verdict.ok ? { ok: true, url: verdict.url.toString() } : verdict;
}
