// What of an error goes into a log line. A failed drizzle query's message carries the statement and every
// parameter (message texts, phone numbers): only its cause (Postgres' own message) is logged, and at most
// a few hundred characters of anything else.
export function errorText(e: unknown): string {
  const cause = (e as { cause?: unknown } | null)?.cause;
  if (cause instanceof Error) return cause.message.slice(0, 500);
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\nparams:')[0]!.slice(0, 500);
}
