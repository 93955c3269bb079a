// Reading the people a connection knows (written by the events pipeline: data/events/contacts.ts).
import { and, desc, eq, ilike, or, type SQL } from 'drizzle-orm';
import { contacts } from '../../drizzle/schema';
import type { Contact } from '../../protocol/contacts';
import type { Db } from './db';
import { olderThan, type Cursor } from './pagination';

export type ContactRow = typeof contacts.$inferSelect;

/** Most recently updated first; `q` matches names and numbers (case-insensitive, anywhere). */
export async function listContacts(db: Db, connectionPk: string, limit: number, cursor?: Cursor, q?: string): Promise<ContactRow[]> {
  const where: SQL[] = [eq(contacts.connectionPk, connectionPk)];
  if (cursor) where.push(olderThan(contacts.updatedAt, contacts.jid, cursor));
  if (q) {
    const like = `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    where.push(or(ilike(contacts.name, like), ilike(contacts.pushName, like), ilike(contacts.verifiedName, like), ilike(contacts.jid, like), ilike(contacts.lid, like))!);
  }
  return db
    .select()
    .from(contacts)
    .where(and(...where))
    .orderBy(desc(contacts.updatedAt), desc(contacts.jid))
    .limit(limit);
}

export const toContact = (r: ContactRow): Contact => ({
  jid: r.jid,
  phone_number: r.jid.endsWith('@s.whatsapp.net') ? r.jid.split('@')[0]! : null,
  lid: r.lid ?? (r.jid.endsWith('@lid') ? r.jid : null),
  name: r.name,
  push_name: r.pushName,
  verified_name: r.verifiedName,
  updated_at: r.updatedAt.toISOString(),
});
