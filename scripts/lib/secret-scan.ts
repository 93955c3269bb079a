// Looks for credentials and key material where none should be: the logs of a test run and the runners'
// outbox journals. Exact values (the stack's own secrets) and the shapes of what the gateway issues (API
// keys, runner tokens, webhook secrets, dashboard session cookies) and of WhatsApp key material
// (Baileys' auth-state fields). A finding names what leaked and where, never the secret itself.

export interface SecretFinding {
  /** What leaked, e.g. "an API key" or "RUNNER_TOKEN". */
  what: string;
  /** Where (a file name), and the line number within it. */
  where: string;
  line: number;
}

/** The shapes of secrets the gateway issues, and of key material a log must never hold. */
const SHAPES: { what: string; pattern: RegExp }[] = [
  // sk_live_ + 32 random bytes in base64url (worker/auth/credentials.ts); made-up keys in tests are shorter.
  { what: 'an API key', pattern: /sk_live_[A-Za-z0-9_-]{40,}/ },
  // Standard Webhooks secret: whsec_ + base64 of 24 bytes.
  { what: 'a webhook secret', pattern: /whsec_[A-Za-z0-9+/]{32}/ },
  { what: 'a dashboard session cookie', pattern: /sb_session=[A-Za-z0-9_-]{40,}/ },
  // A runner's credential: sbr_<runner id>_<64 hex> (protocol/runner-token.ts).
  { what: 'a runner token', pattern: /sbr_[A-Za-z0-9._-]+_[0-9a-f]{64}/ },
  // Baileys' auth state (creds and Signal keys) as JSON: private halves of key pairs and the ADV secret.
  { what: 'WhatsApp key material', pattern: /"(private|privKey|advSecretKey|noiseKey|signedIdentityKey|pairingEphemeralKeyPair)"\s*:/ },
];

/** Secrets shorter than this are not searched for exactly: they would match by chance. */
const MIN_EXACT_LENGTH = 12;

export function findSecrets(text: string, where: string, exact: ReadonlyMap<string, string> = new Map()): SecretFinding[] {
  const values = [...exact].filter(([, v]) => v.length >= MIN_EXACT_LENGTH);
  const findings: SecretFinding[] = [];
  text.split('\n').forEach((line, i) => {
    for (const { what, pattern } of SHAPES) if (pattern.test(line)) findings.push({ what, where, line: i + 1 });
    for (const [name, value] of values) if (line.includes(value)) findings.push({ what: name, where, line: i + 1 });
  });
  return findings;
}

export const describeFindings = (findings: readonly SecretFinding[]) =>
  findings.map((f) => `${f.what} in ${f.where}:${f.line}`).join('\n');
