// The recipient of a send (and a chat named in a path) as a WhatsApp JID, shared by the control plane,
// which validates what callers send, and the runner, which checks the commands it is given.
//   - A phone number with country code: digits, an optional leading +, and the separators people copy
//     along with numbers (spaces, dashes, dots, parentheses): "+92 300 123-4567" → 923001234567@s.whatsapp.net.
//   - A user JID (…@s.whatsapp.net, its old form …@c.us, or a LID …@lid): a device suffix (":12") is
//     dropped, since a message goes to a person and WhatsApp fans it out to their devices.
//   - A group JID (…@g.us).

const USER_SERVERS = new Set(['s.whatsapp.net', 'c.us', 'lid']);
const SEPARATORS = /[\s\-.()]/g;

export function recipientJid(to: string): string | null {
  const value = to.trim();
  const at = value.indexOf('@');
  if (at === -1) {
    const digits = value.replace(SEPARATORS, '').replace(/^\+/, '');
    // E.164: at most 15 digits, never a leading 0 (a trunk prefix means the country code is missing).
    return /^[1-9]\d{5,14}$/.test(digits) ? `${digits}@s.whatsapp.net` : null;
  }
  const user = value.slice(0, at);
  const server = value.slice(at + 1).toLowerCase();
  if (server === 'g.us') return /^\d{5,20}(-\d{5,20})?$/.test(user) ? `${user}@g.us` : null;
  const m = /^([1-9]\d{5,19})(:\d{1,3})?$/.exec(user);
  if (USER_SERVERS.has(server) && m) return `${m[1]}@${server === 'c.us' ? 's.whatsapp.net' : server}`;
  return null;
}
