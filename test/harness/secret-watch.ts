// The secret scan of an end-to-end run: every log of the run (test-results/e2e-logs/*.log) when it ends,
// and the runners' outbox journals while it lasts. A journal is truncated whenever its runner has nothing
// pending, so it is read every 200 ms rather than once at the end, when it is usually empty.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeFindings, findSecrets, type SecretFinding } from '../../scripts/lib/secret-scan';

const SAMPLE_MS = 200;

export function startSecretWatch(logDir: string, exact: ReadonlyMap<string, string>) {
  const found = new Map<string, SecretFinding>();
  const record = (findings: SecretFinding[]) => {
    for (const f of findings) found.set(`${f.what} ${f.where}`, f);
  };
  const journals = () => {
    const dir = path.join(logDir, 'outbox');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).map((runner) => path.join(dir, runner, 'outbox.jsonl'));
  };
  const scan = (file: string) => {
    try {
      record(findSecrets(readFileSync(file, 'utf8'), path.relative(logDir, file), exact));
    } catch {
      // gone or not written yet
    }
  };
  const timer = setInterval(() => journals().forEach(scan), SAMPLE_MS);
  timer.unref();

  return {
    /** Stops sampling, scans the logs once more, writes test-results/secret-scan.txt; answers the leaks, if any. */
    finish(): string | undefined {
      clearInterval(timer);
      journals().forEach(scan);
      for (const name of readdirSync(logDir)) if (name.endsWith('.log')) scan(path.join(logDir, name));
      const leaks = describeFindings([...found.values()]);
      const scanned = `${readdirSync(logDir).filter((n) => n.endsWith('.log')).length} logs and the journals of ${journals().length} runners`;
      writeFileSync(path.join(logDir, '..', 'secret-scan.txt'), leaks ? `${leaks}\n` : `no secrets found in ${scanned}\n`);
      return leaks || undefined;
    },
  };
}
