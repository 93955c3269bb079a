// HTTP JSON control API (under /control) used by tests, benchmarks and the sandbox to act as
// the phone and as contacts, inspect what happened, and script faults. Endpoints: README.md.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { proto } from '@whiskeysockets/baileys';
import { certChainFaults } from './certificates.js';
import { parseFault } from './faults.js';
import { sendGroupFromContact } from './group-messaging.js';
import { decryptMedia, mediaOf } from './media.js';
import { sendContactReceipt, sendFromContact } from './messaging.js';
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
    return { phone: c.phone, lid: c.lid, name: c.name, jid: c.pnJid };
  };
  const groupView = (jid: string) => {
    const g = net.group(jid);
    return { jid: g.jid, subject: g.subject, creator: g.creator, creation: g.creation, addressingMode: g.addressingMode, participants: [...g.participants] };
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
        const text = str(b.text, 'text')!;
        const count = b.count === undefined ? 1 : Number(b.count);
        if (!Number.isInteger(count) || count < 1 || count > MAX_BURST) throw new HttpError(400, `count must be 1..${MAX_BURST}`);
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
          const message = { conversation: count > 1 ? `${text} ${i + 1}` : text };
          ids.push(group ? await sendGroupFromContact(net, contact, group, message) : await sendFromContact(net, contact, account!, message));
        }
        return { ids };
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
        return { autoDeliveryReceipts: net.autoDeliveryReceipts, certChain: net.certChain };
      },
    },
    { method: 'GET', pattern: /^\/control\/receipts$/, run: () => net.receipts },
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
