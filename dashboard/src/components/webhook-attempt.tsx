// One webhook attempt's outcome: state, HTTP status, time, error and the start of the endpoint's answer.
import type { WebhookDeliveryState, WebhookLog } from '@/lib/types';
import { Badge } from './ui/badge';

const stateVariant: Record<WebhookDeliveryState, 'success' | 'warning' | 'danger' | 'secondary'> = {
  delivered: 'success',
  pending: 'secondary',
  retrying: 'warning',
  failed: 'danger',
  dead: 'danger',
};

export function DeliveryStateBadge({ state }: { state: WebhookDeliveryState }) {
  return (
    <Badge variant={stateVariant[state] ?? 'secondary'} data-testid="delivery-state" data-state={state}>
      {state}
    </Badge>
  );
}

export function AttemptOutcome({ log, testId }: { log: WebhookLog; testId?: string }) {
  return (
    <dl data-testid={testId} className="bg-muted/50 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 rounded-md p-3 text-sm">
      <dt className="text-muted-foreground">State</dt>
      <dd>
        <DeliveryStateBadge state={log.state} />
      </dd>
      <dt className="text-muted-foreground">Status</dt>
      <dd data-testid="attempt-status">{log.status_code ?? '—'}</dd>
      <dt className="text-muted-foreground">Duration</dt>
      <dd>{log.duration_ms === null ? '—' : `${log.duration_ms} ms`}</dd>
      {log.error && (
        <>
          <dt className="text-muted-foreground">Error</dt>
          <dd className="text-destructive break-words">{log.error}</dd>
        </>
      )}
      {log.response_excerpt && (
        <>
          <dt className="text-muted-foreground">Response</dt>
          <dd>
            <pre className="max-h-32 overflow-auto font-mono text-xs break-all whitespace-pre-wrap">{log.response_excerpt}</pre>
          </dd>
        </>
      )}
    </dl>
  );
}
