// The realtime channel's own wire shapes, beside the event frames of `events.ts`: the query of
// GET /api/realtime, the ticket a browser trades for a WebSocket, and the `resync` frame the Hub sends
// when its buffer no longer reaches back to a reconnecting client's `since`.
import { z } from 'zod';
import type { ErrorCode } from './errors';
import { ConnectionId } from './connections';

/** How long a realtime ticket lives at most, and by default (seconds). */
export const MAX_TICKET_TTL_SECONDS = 60;

/** `rtk_<tenant uuid>.<43 base64url chars of a 256-bit secret>`: the tenant part tells which Hub redeems it. */
export const TICKET_PATTERN = /^rtk_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

const Sequence = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const RealtimeQuery = z.object({
  connection_id: ConnectionId.optional().meta({ description: 'Only events of this connection (one of yours; 404 otherwise).' }),
  since: Sequence.optional().meta({
    description: 'The last `sequence` you received: what came after it is replayed from the buffer before live frames, or one `resync` frame says it is gone.',
    example: 42,
  }),
  ticket: z.string().max(200).optional().meta({ description: 'A ticket from POST /api/realtime/ticket, for clients that cannot set headers (browsers). Single use.' }),
});
export type RealtimeQuery = z.infer<typeof RealtimeQuery>;

export const TicketBody = z
  .object({
    ttl_seconds: z.number().int().min(1).max(MAX_TICKET_TTL_SECONDS).optional().meta({ description: `Lifetime in seconds (default and at most ${MAX_TICKET_TTL_SECONDS}).` }),
  })
  .meta({ id: 'RealtimeTicketRequest' });

export const Ticket = z
  .object({
    ticket: z.string().meta({ description: 'Pass as `?ticket=` to GET /api/realtime (or `auth: { ticket }` to Socket.IO). Works once.' }),
    expires_at: z.string().meta({ description: 'ISO 8601; unused tickets stop working then.' }),
  })
  .meta({ id: 'RealtimeTicket' });
export type Ticket = z.infer<typeof Ticket>;

export const resyncReasons = ['buffer_exceeded', 'unknown_sequence'] as const;
export type ResyncReason = (typeof resyncReasons)[number];

export const ResyncFrame = z
  .object({
    event: z.literal('resync'),
    data: z.object({
      reason: z.enum(resyncReasons).meta({
        description: '`buffer_exceeded`: events after `since` were dropped from the buffer; `unknown_sequence`: `since` is ahead of this tenant\'s stream.',
      }),
      oldest_sequence: z.number().int().optional().meta({ description: 'The oldest sequence the buffer still holds, when it holds any.' }),
    }),
    sequence: z.number().int().meta({ description: 'The latest sequence: after reloading state from the REST API, reconnect with `since` = this.' }),
  })
  .meta({ id: 'RealtimeResyncFrame' });
export type ResyncFrame = z.infer<typeof ResyncFrame>;

/** Error codes of the realtime routes, rendered in the API's one error body. */
export type RealtimeErrorCode = Extract<ErrorCode, 'upgrade_required' | 'invalid_ticket'>;
