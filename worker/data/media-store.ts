// Files of media sends in R2 (binding MEDIA), from the API request until the runner has sent them. Keys
// are `media/<connection_pk>/<uuid>`: scoped to the connection (so to its tenant), unguessable, and one
// per attempt, so a retry never races another attempt's cleanup. The runner downloads the file from
// `/internal/media/<connection_pk>/<uuid>` (runner token). An object is deleted once its send has an
// outcome the runner will not retry; what a timed-out send leaves is removed by the bucket's lifecycle rule.

import { sha256Hex } from '../auth/credentials';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const mediaKey = (connectionPk: string, id: string) => `media/${connectionPk}/${id}`;

/** The R2 key a `/internal/media/:pk/:id` path names, or undefined when it names nothing we store. */
export function mediaKeyOf(connectionPk: string, id: string): string | undefined {
  return UUID.test(connectionPk) && UUID.test(id) ? mediaKey(connectionPk, id) : undefined;
}

/** What the messages history shows of a sent file (`content` of the outbound row). */
export interface MediaDescription {
  type: string;
  mimetype: string;
  filename: string | null;
  size: number;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
}

export interface StoredMedia {
  key: string;
  /** Path under the control plane's origin the runner downloads the file from. */
  path: string;
  description: MediaDescription;
}

export async function storeMedia(
  bucket: R2Bucket,
  connectionPk: string,
  bytes: Uint8Array,
  file: { type: string; mimetype: string; filename: string | null },
  /** The bytes' SHA-256 when the caller has it already. */
  knownSha256?: string,
): Promise<StoredMedia> {
  const id = crypto.randomUUID();
  const key = mediaKey(connectionPk, id);
  const sha256 = knownSha256 ?? (await sha256Hex(bytes));
  await bucket.put(key, bytes, { httpMetadata: { contentType: file.mimetype }, customMetadata: { sha256 } });
  return { key, path: `/internal/media/${connectionPk}/${id}`, description: { ...file, size: bytes.byteLength, sha256 } };
}
