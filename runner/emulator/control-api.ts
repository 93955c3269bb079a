// HTTP JSON control API (under /control) used by tests, benchmarks and the sandbox to act as
// the phone and as contacts, inspect what happened, and script faults. Endpoints: README.md.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { proto } from '@whiskeysockets/baileys';
import { certChainFaults } from './certificates.js';
import { pairingSignatureFaults } from './pairing.js';
import { parseFault } from './faults.js';
import { groupByInvite, join } from './group-admin.js';
import { sendGroupFromContact } from './group-messaging.js';
import { decryptMedia, encryptMedia, MEDIA_TYPES, mediaOf, type MediaKind } from './media.js';
import { sendContactReceipt, sendFromContact } from './messaging.js';
import { ChangeError, messageChangeKinds, sendContactChange, type ContactChange } from './message-changes.js';
import { newMessageId } from './stanzas.js';
import { placeCall } from './calls.js';
import type { Network } from './network.js';
import { enterPairingCode } from './pairing-code.js';
import { PairingError, scanQr } from './pairing.js';
import { unlinkDevice } from './queries.js';

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A route's answer that is not JSON (a PEM, a media file). */
class Raw {
  constructor(readonly body: Buffer | string, readonly contentType: string) {}
}

type Route = { method: string; pattern: RegExp; run: (params: string[], body: Record<string, unknown>) => Promise<unknown> | unknown };

const MAX_BODY = 1 << 20;
const MAX_BURST = 10_000;

const readBody = (req: IncomingMessage): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new HttpError(413, 'body too large'));
      else chunks.push(c);
    });
    req.on('end', () => {
      if (!chunks.length) return resolve({});
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error();
        resolve(parsed as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, 'body must be a JSON object'));
      }
    });
    req.on('error', reject);
  });

const str = (v: unknown, name: string, optional = false): string | undefined => {
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || !v) throw new HttpError(400, `${name} must be a non-empty string`);
  return v;
};

/** A WhatsApp message given as proto JSON (bytes as base64), checked against the proto definition. */
const protoMessage = (v: unknown): proto.IMessage => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'message must be a WhatsApp message as proto JSON');
  try {
    return proto.Message.fromObject(v as Record<string, unknown>);
  } catch (err) {
    throw new HttpError(400, `message is not a WhatsApp message: ${(err as Error).message}`);
  }
};

export const makeControlApi = (net: Network, info: () => Record<string, unknown>, opts: { mediaCaPem: string }) => {
  const accountView = (phone: string) => {
    const a = net.account(phone);
    return {
      phone: a.phone,
      lid: a.lid,
      name: a.name,
      jid: a.pnJid,
      devices: [...a.devices.values()].map(d => ({
        id: d.id,
        jid: a.deviceJid(d.id),
        platform: d.platform,
        online: !!net.online(a, d.id),
        queued: d.offline.length,
        preKeys: d.bundle.preKeys.size,
      })),
      faults: net.policy(a.phone),
    };
  };
  const contactView = (phone: string) => {
    const c = net.contact(phone);
    return { phone: c.phone, lid: c.lid, name: c.name, jid: c.pnJid, addressing: c.addressing, picture: c.picture };
  };
  const groupView = (jid: string) => {
    const g = net.group(jid);
    return {
      jid: g.jid,
      subject: g.subject,
      creator: g.creator,
      creation: g.creation,
      addressingMode: g.addressingMode,
      participants: [...g.participants],
      admins: g.participants.filter(p => g.isAdmin(p)),
      description: g.description?.body ?? null,
      announce: g.announce,
      locked: g.locked,
      inviteCode: g.inviteCode,
    };
  };
  const phones = (v: unknown, name: string): string[] => {
    if (!Array.isArray(v) || v.length === 0 || !v.every(p => typeof p === 'string' && /^\d{6,15}$/.test(p))) {
      throw new HttpError(400, `${name} must be a non-empty array of phone numbers (digits)`);
    }
    return v as string[];
  };

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/control\/info$/, run: () => info() },
    { method: 'POST', pattern: /^\/control\/reset$/, run: () => (net.reset(), { ok: true }) },
    {
      method: 'POST',
      pattern: /^\/control\/accounts$/,
      run: (_p, b) => accountView(net.createAccount({ phone: str(b.phone, 'phone', true), name: str(b.name, 'name', true), lid: str(b.lid, 'lid', true) }).phone),
    },
    { method: 'GET', pattern: /^\/control\/accounts$/, run: () => [...net.accounts.keys()].map(accountView) },
    { method: 'GET', pattern: /^\/control\/accounts\/(\d+)$/, run: ([phone]) => accountView(phone!) },
    {
      // The phone's address book (replaced whole): a device linked afterwards gets these names in its history sync.
      method: 'POST',
      pattern: /^\/control\/accounts\/(\d+)\/address-book$/,
      run: ([phone], b) => {
        const account = net.account(phone!);
        const list = b.contacts;
        if (!Array.isArray(list) || !list.every(c => c && typeof c.phone === 'string' && /^\d{5,20}$/.test(c.phone) && typeof c.name === 'string' && c.name)) {
          throw new HttpError(400, 'contacts must be [{ phone: digits, name }]');
        }
        account.addressBook = new Map(list.map(c => [c.phone as string, c.name as string]));
        net.onChange();
        return { contacts: [...account.addressBook].map(([p, name]) => ({ phone: p, name })) };
      },
    },
    { method: 'GET', pattern: /^\/control\/accounts\/(\d+)\/inbox$/, run: ([phone]) => net.account(phone!).primaryDevice.inbox },
    { method: 'POST', pattern: /^\/control\/accounts\/(\d+)\/scan$/, run: ([phone], b) => scanQr(net, net.account(phone!), str(b.qr, 'qr')!) },
    {
      method: 'POST',
      pattern: /^\/control\/accounts\/(\d+)\/pairing-code$/,
      run: ([phone], b) => enterPairingCode(net, net.account(phone!), str(b.code, 'code')!),
    },
    {
      method: 'GET',
      pattern: /^\/control\/pairing-requests$/,
      run: () => [...net.pairingRequests.values()].map(r => ({ phone: r.phone, platform: r.platformDisplay, requestedAt: r.requestedAt })),
    },
    {
      method: 'POST',
      pattern: /^\/control\/accounts\/(\d+)\/devices\/(\d+)\/logout$/,
      run: ([phone, device]) => (unlinkDevice(net, phone!, Number(device)), { ok: true }),
    },
    {
      method: 'POST',
      pattern: /^\/control\/contacts$/,
      run: (_p, b) => contactView(net.createContact({ phone: str(b.phone, 'phone', true), name: str(b.name, 'name', true), lid: str(b.lid, 'lid', true) }).phone),
    },
    {
      // A dialled form of a registered number (Brazil's ninth digit): see Network.dialledAs.
      method: 'POST',
      pattern: /^\/control\/dialled-numbers$/,
      run: (_p, b) => (net.addDialledNumber(str(b.number, 'number')!, str(b.phone, 'phone')!), { number: b.number, phone: b.phone }),
    },
    { method: 'GET', pattern: /^\/control\/contacts$/, run: () => [...net.contacts.keys()].map(contactView) },
    {
      // The contact's profile picture (its CDN URL), or null to remove it.
      method: 'POST',
      pattern: /^\/control\/contacts\/(\d+)\/picture$/,
      run: ([phone], b) => {
        const contact = net.contact(phone!);
        if (b.url !== null && (typeof b.url !== 'string' || !/^https:\/\//.test(b.url))) throw new HttpError(400, 'url must be an https URL or null');
        contact.picture = b.url as string | null;
        net.onChange();
        return contactView(contact.phone);
      },
    },
    {
      // How the contact's 1:1 messages name their sender from now on: `mode` pn or lid, `alt` the other form beside it.
      method: 'POST',
      pattern: /^\/control\/contacts\/(\d+)\/addressing$/,
      run: ([phone], b) => {
        const contact = net.contact(phone!);
        if (b.mode !== 'pn' && b.mode !== 'lid') throw new HttpError(400, 'mode must be pn or lid');
        if (b.alt !== undefined && typeof b.alt !== 'boolean') throw new HttpError(400, 'alt must be a boolean');
        contact.addressing = { mode: b.mode, alt: b.alt ?? false };
        return contactView(contact.phone);
      },
    },
    {
      method: 'POST',
      pattern: /^\/control\/groups$/,
      run: (_p, b) => {
        const addressingMode = b.addressingMode === undefined ? undefined : b.addressingMode === 'lid' || b.addressingMode === 'pn' ? b.addressingMode : null;
        if (addressingMode === null) throw new HttpError(400, 'addressingMode must be lid or pn');
        const group = net.createGroup({
          subject: str(b.subject, 'subject')!,
          participants: phones(b.participants, 'participants'),
          creator: str(b.creator, 'creator', true),
          addressingMode,
        });
        return groupView(group.jid);
      },
    },
    { method: 'GET', pattern: /^\/control\/groups$/, run: () => [...net.groups.keys()].map(groupView) },
    { method: 'GET', pattern: /^\/control\/groups\/([^/]+)$/, run: ([jid]) => groupView(decodeURIComponent(jid!)) },
    {
      // The contact opens a group's invite link (https://chat.whatsapp.com/<code>): 404 for a code that never was, 410 for a revoked one.
      method: 'POST',
      pattern: /^\/control\/contacts\/(\d+)\/join$/,
      run: ([phone], b) => {
        const contact = net.contact(phone!);
        const found = groupByInvite(net, str(b.code, 'code')!);
        if (found === 410) throw new HttpError(410, 'that invite link was revoked');
        if (found === 406) throw new HttpError(404, 'no group has that invite code');
        join(net, found, contact.phone);
        return groupView(found.jid);
      },
    },
    {
      // `everyone` (the default) or `nobody`: then adding the contact to a group is refused with 403 (an invite is needed).
      method: 'POST',
      pattern: /^\/control\/contacts\/(\d+)\/privacy$/,
      run: ([phone], b) => {
        const contact = net.contact(phone!);
        if (b.groupAdds !== 'everyone' && b.groupAdds !== 'nobody') throw new HttpError(400, 'groupAdds must be everyone or nobody');
        if (b.groupAdds === 'nobody') net.refusesGroupAdds.add(contact.phone);
        else net.refusesGroupAdds.delete(contact.phone);
        return { phone: contact.phone, groupAdds: b.groupAdds };
      },
    },
    { method: 'GET', pattern: /^\/control\/contacts\/(\d+)\/inbox$/, run: ([phone]) => net.contact(phone!).inbox },
    {
      // The file of a media message the contact received, decrypted (as its phone would show it).
      method: 'GET',
      pattern: /^\/control\/contacts\/(\d+)\/media\/([^/]+)$/,
      run: async ([phone, id]) => {
        const entry = net.contact(phone!).inbox.find(e => e.id === decodeURIComponent(id!));
        const found = entry && mediaOf(proto.Message.fromObject(entry.message));
        if (!found) throw new HttpError(404, `no media message ${id} in ${phone}'s inbox`);
        const file = await decryptMedia(net.media, found.type, found.content).catch(err => {
          throw new HttpError(410, (err as Error).message);
        });
        return new Raw(file, found.content.mimetype ?? 'application/octet-stream');
      },
    },
    {
      // A contact sends a file: encrypted as its phone would, uploaded to the media host, then sent as an
      // image/video/audio/document/sticker message. `base64` the file; answers its id and SHA-256.
      method: 'POST',
      pattern: /^\/control\/contacts\/(\d+)\/media$/,
      run: async ([phone], b) => {
        const contact = net.contact(phone!);
        const account = net.account(str(b.to, 'to')!.split('@')[0]!);
        const type = str(b.type, 'type') as MediaKind;
        if (!Object.values(MEDIA_TYPES).includes(type)) throw new HttpError(400, `type must be one of ${Object.values(MEDIA_TYPES).join(', ')}`);
        const plain = Buffer.from(str(b.base64, 'base64')!, 'base64');
        const { mediaKey, enc, fileSha256, fileEncSha256 } = await encryptMedia(plain, type);
        const blob = net.media.put(type, fileEncSha256.toString('base64url'), enc);
        const defaults: Record<MediaKind, string> = { image: 'image/jpeg', video: 'video/mp4', audio: 'audio/ogg; codecs=opus', document: 'application/pdf', sticker: 'image/webp' };
        const content: Record<string, unknown> = {
          url: `https://${net.media.host}${blob.path}?mms3=true`,
          directPath: blob.path,
          mediaKey,
          fileSha256,
          fileEncSha256,
          fileLength: plain.length,
          mimetype: str(b.mimetype, 'mimetype', true) ?? defaults[type],
          mediaKeyTimestamp: Math.floor(Date.now() / 1000),
          ...(b.caption !== undefined && (type === 'image' || type === 'video' || type === 'document') ? { caption: str(b.caption, 'caption') } : {}),
          ...(type === 'document' ? { fileName: str(b.fileName, 'fileName', true) ?? 'file' } : {}),
          ...(type === 'audio' ? { ptt: b.ptt === true, seconds: 1 } : {}),
        };
        const field = Object.entries(MEDIA_TYPES).find(([, t]) => t === type)![0];
        const id = newMessageId();
        net.media.rememberSent(id, { path: blob.path, mediaKey, sender: contact.phone });
        // `expired: true`: the media host has already dropped it when the message arrives (a media retry is needed).
        if (b.expired === true) net.media.expire(blob.path);
        // `stallMs`: the first download of it hangs that long (to kill a gateway mid-download).
        if (b.stallMs !== undefined) net.media.stalls.set(blob.path, Math.min(Number(b.stallMs) || 0, 120_000));
        await sendFromContact(net, contact, account, { [field]: content } as proto.IMessage, { id });
        return { id, sha256: fileSha256.toString('hex'), size: plain.length, path: blob.path };
      },
    },
    {
      // Fault: the media host no longer has the file of message `id` (its media key expired): 404 from now on,
      // until the sender's phone uploads it again in answer to a media retry request.
      method: 'POST',
      pattern: /^\/control\/media\/expire$/,
      run: (_p, b) => {
        const sent = net.media.sentBy(str(b.id, 'id')!);
        if (!sent || !net.media.expire(sent.path)) throw new HttpError(404, `no stored file of message ${b.id}`);
        return { expired: sent.path };
      },
    },
    { method: 'GET', pattern: /^\/control\/media-retries$/, run: () => net.mediaRetries },
    { method: 'GET', pattern: /^\/control\/media\/stalled$/, run: () => net.media.stalledHits },
    { method: 'GET', pattern: /^\/control\/media-ca$/, run: () => new Raw(opts.mediaCaPem, 'application/x-pem-file') },
    { method: 'GET', pattern: /^\/control\/media$/, run: () => ({ ...net.media.size, host: net.media.host, blobs: net.media.list() }) },
    {
      method: 'POST',
      pattern: /^\/control\/contacts\/(\d+)\/messages$/,
      // `to` (an account's phone or jid): a 1:1 message; `group` (a group jid): a message to that group.
      run: async ([phone], b) => {
        const contact = net.contact(phone!);
        if ((b.to === undefined) === (b.group === undefined)) throw new HttpError(400, 'give either to or group');
        const group = b.group === undefined ? undefined : net.group(str(b.group, 'group')!);
        if (group && !group.has(contact.phone)) throw new HttpError(400, `${contact.phone} is not a participant of ${group.jid}`);
        const account = group ? undefined : net.account(str(b.to, 'to')!.split('@')[0]!);
        // `message`: any WhatsApp message as proto JSON (a location, a contact card, a poll, a quoted reply…) instead of a text.
        const given = b.message === undefined ? undefined : protoMessage(b.message);
        const text = given ? '' : str(b.text, 'text')!;
        const count = b.count === undefined ? 1 : Number(b.count);
        if (!Number.isInteger(count) || count < 1 || count > MAX_BURST) throw new HttpError(400, `count must be 1..${MAX_BURST}`);
        // `id`: the message's WhatsApp id, chosen by the caller (one message only), e.g. to send it after a change to it.
        const id = str(b.id, 'id', true);
        if (id !== undefined && (count !== 1 || !/^[0-9A-F]{8,32}$/.test(id))) throw new HttpError(400, 'id goes with one message and is 8 to 32 hex digits (upper case)');
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
          const message = given ?? { conversation: count > 1 ? `${text} ${i + 1}` : text };
          ids.push(group ? await sendGroupFromContact(net, contact, group, message, { id }) : await sendFromContact(net, contact, account!, message, { id }));
          // Let other requests and sockets in between: a burst of thousands must not starve the process.
          await new Promise(r => setImmediate(r));
        }
        return { ids };
      },
    },
    {
      // The contact calls an account (`to`: its phone or jid), a voice call or with `video: true` (calls.ts).
      method: 'POST',
      pattern: /^\/control\/contacts\/(\d+)\/calls$/,
      run: ([phone], b) => placeCall(net, net.contact(phone!), net.account(str(b.to, 'to')!.split('@')[0]!), { video: b.video === true }),
    },
    { method: 'GET', pattern: /^\/control\/calls$/, run: () => net.calls },
    {
      // An edit, revoke, reaction, poll or poll vote from the contact (message-changes.ts).
      method: 'POST',
      pattern: /^\/control\/contacts\/(\d+)\/message-changes$/,
      run: async ([phone], b) => {
        if (!messageChangeKinds.includes(b.kind as never)) throw new HttpError(400, `kind must be one of ${messageChangeKinds.join(', ')}`);
        try {
          return await sendContactChange(net, net.contact(phone!), b as unknown as ContactChange);
        } catch (err) {
          if (err instanceof ChangeError) throw new HttpError(400, err.message);
          throw err;
        }
      },
    },
    {
      method: 'POST',
      pattern: /^\/control\/contacts\/(\d+)\/receipts$/,
      run: ([phone], b) => {
        const ids = b.ids;
        if (!Array.isArray(ids) || !ids.every(i => typeof i === 'string')) throw new HttpError(400, 'ids must be an array of message ids');
        const type = b.type === 'read' ? 'read' : b.type === 'delivery' || b.type === undefined ? 'delivery' : null;
        if (!type) throw new HttpError(400, 'type must be delivery or read');
        sendContactReceipt(net, net.contact(phone!), ids as string[], type);
        return { ok: true };
      },
    },
    {
      method: 'POST',
      pattern: /^\/control\/settings$/,
      run: (_p, b) => {
        if (typeof b.autoDeliveryReceipts === 'boolean') net.autoDeliveryReceipts = b.autoDeliveryReceipts;
        if (b.certChain !== undefined) {
          const chain = b.certChain as (typeof net)['certChain'];
          if (chain !== 'honest' && !certChainFaults.includes(chain)) {
            throw new HttpError(400, `certChain must be honest or one of ${certChainFaults.join(', ')}`);
          }
          net.certChain = chain;
        }
        if (b.pairingSignature !== undefined) {
          const signing = b.pairingSignature as (typeof net)['pairingSignature'];
          if (signing !== 'honest' && !pairingSignatureFaults.includes(signing)) {
            throw new HttpError(400, `pairingSignature must be honest or one of ${pairingSignatureFaults.join(', ')}`);
          }
          net.pairingSignature = signing;
        }
        return { autoDeliveryReceipts: net.autoDeliveryReceipts, certChain: net.certChain, pairingSignature: net.pairingSignature };
      },
    },
    { method: 'GET', pattern: /^\/control\/receipts$/, run: () => net.receipts },
    { method: 'GET', pattern: /^\/control\/presences$/, run: () => net.presences },
    { method: 'GET', pattern: /^\/control\/unknown-queries$/, run: () => net.unknownQueries },
    { method: 'GET', pattern: /^\/control\/decrypt-failures$/, run: () => net.decryptFailures },
    {
      method: 'POST',
      pattern: /^\/control\/accounts\/(\d+)\/faults$/,
      run: ([phone], b) => {
        const account = net.account(phone!);
        let fault;
        try {
          fault = parseFault(b);
        } catch (err) {
          throw new HttpError(400, (err as Error).message);
        }
        const device = b.device === undefined ? undefined : Number(b.device);
        const conns = net.connectionsOf(account, device);
        switch (fault.action) {
          case 'drop-socket':
            conns.forEach(c => c.drop());
            return { affected: conns.length };
          case 'stream-error':
            conns.forEach(c => c.streamError(fault.code));
            return { affected: conns.length };
          case 'acks':
            net.policy(account.phone).acks = { mode: fault.mode, delayMs: fault.delayMs ?? 0 };
            return net.policy(account.phone);
          case 'refuse-logins':
            net.policy(account.phone).refuseLoginReason = fault.reason ?? null;
            return net.policy(account.phone);
          case 'contact-lookups':
            net.policy(account.phone).contactLookups = fault.mode;
            return net.policy(account.phone);
        }
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/control\/accounts\/(\d+)\/faults$/,
      run: ([phone]) => (net.policies.delete(net.account(phone!).phone), { ok: true }),
    },
  ];

  return async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const route = routes.find(r => r.method === req.method && r.pattern.test(path));
      if (!route) throw new HttpError(404, `no route ${req.method} ${path}`);
      const body = req.method === 'POST' ? await readBody(req) : {};
      const params = route.pattern.exec(path)!.slice(1);
      const result = await route.run(params, body);
      if (result instanceof Raw) {
        res.writeHead(200, { 'content-type': result.contentType });
        res.end(result.body);
      } else send(200, result ?? { ok: true });
    } catch (err) {
      const status = err instanceof HttpError ? err.status : err instanceof PairingError ? 409 : /^no (account|contact|device|group)/.test((err as Error).message) ? 404 : 400;
      send(status, { error: { code: status, message: (err as Error).message } });
    }
  };
};
