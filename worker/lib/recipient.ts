// Turns the `to` of a send request into a WhatsApp JID: digits with country code become a user JID,
// full JIDs (user, group, LID) pass through after a shape check.

const USER_SERVERS = new Set(['s.whatsapp.net', 'c.us', 'lid']);

export function toJid(to: string): string | null {
  const value = to.trim();
  const at = value.indexOf('@');
  if (at === -1) {
    const digits = value.replace(/^\+/, '');
    return /^[1-9]\d{5,14}$/.test(digits) ? `${digits}@s.whatsapp.net` : null;
  }
  const user = value.slice(0, at);
  const server = value.slice(at + 1).toLowerCase();
  if (server === 'g.us') return /^\d{5,20}(-\d{5,20})?$/.test(user) ? `${user}@g.us` : null;
  if (USER_SERVERS.has(server) && /^[1-9]\d{5,19}(:\d{1,3})?$/.test(user)) {
    return `${user}@${server === 'c.us' ? 's.whatsapp.net' : server}`;
  }
  return null;
}

/** The chat a message to or from `jid` belongs to: device suffixes (":12") dropped. */
export function chatIdOf(jid: string): string {
  return jid.replace(/:\d+@/, '@');
}
