// Query shapes shared by list endpoints: `limit` plus an opaque `before` cursor (from X-Next-Cursor).
import { z } from 'zod';

export function limitParam(defaultLimit: number, max: number) {
  return z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(defaultLimit)
    .meta({ description: `How many items to return (1–${max}, default ${defaultLimit}).` });
}

export const Cursor = z
  .string()
  .max(200)
  .meta({ description: 'Opaque cursor from the X-Next-Cursor header of the previous page; returns older items.' });
