// /api/sandbox: act as the emulated phone and its contacts through the API, so that the dashboard (which
// talks only to /api) can link a connection and chat without a real phone. Exists only where the stack runs
// the WhatsApp Web emulator (SANDBOX_CONTROL_URL, never set in production): elsewhere GET /sandbox says
// `enabled: false` and every other route is 404 sandbox_disabled. The emulator is one WhatsApp shared by
// every tenant of the deployment, as WhatsApp is.
import { createRoute, z } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import { limitParam } from '../../protocol/pagination';
import {
  CreateSandboxPersonBody,
  SandboxContact,
  SandboxInboxEntry,
  SandboxLinkedDevice,
  SandboxMessageBody,
  SandboxOk,
  SandboxPairingCodeBody,
  SandboxPhone,
  SandboxPhoneNumber,
  SandboxReceiptsBody,
  SandboxScanBody,
  SandboxSent,
  SandboxStatus,
} from '../../protocol/sandbox';
import type { Env } from '../env';
import type { AppEnv } from '../http/context';
import { ApiError } from '../http/errors';
import { errorContent, errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';
import { contactMessageRequest } from '../sandbox/contact-message';
import { LINK_TIMEOUT_MS, sandboxControl, type SandboxControl } from '../sandbox/control';

const tags = ['Sandbox'];
const PhoneParams = z.object({ phone: SandboxPhoneNumber });

/** What the emulator answers, as far as these routes read it (runner/emulator/control-api.ts). */
const EmulatorAccount = z.object({
  phone: z.string(),
  name: z.string(),
  jid: z.string(),
  devices: z.array(z.object({ online: z.boolean() })),
});
const EmulatorContact = z.object({ phone: z.string(), name: z.string(), jid: z.string() });
const EmulatorInboxEntry = z.object({ ...SandboxInboxEntry.shape, text: z.string().optional() });

const toPhone = (a: z.infer<typeof EmulatorAccount>): SandboxPhone => ({
  phone: a.phone,
  name: a.name,
  jid: a.jid,
  devices: { count: a.devices.length, online: a.devices.filter((d) => d.online).length },
});
const toContact = (c: z.infer<typeof EmulatorContact>): SandboxContact => ({ phone: c.phone, name: c.name, jid: c.jid });

function emulatorOf(env: Env): SandboxControl {
  const control = sandboxControl(env);
  if (!control) throw new ApiError(404, 'sandbox_disabled', 'The sandbox is not enabled here: this deployment runs against WhatsApp itself.');
  return control;
}

/** Refuses before the input is looked at: a deployment without the sandbox has none of these routes. */
const requireSandbox = createMiddleware<AppEnv>(async (c, next) => {
  emulatorOf(c.env);
  await next();
});

const sandboxErrors = {
  ...errorResponses(400, 401),
  404: errorContent('The sandbox is not enabled here (`sandbox_disabled`), or no such phone or contact (`not_found`).'),
  502: errorContent('The sandbox emulator could not be reached (`sandbox_unreachable`) or answered something unexpected (`sandbox_bad_response`).'),
};

export const sandboxRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/sandbox',
      tags,
      summary: 'Is the sandbox on, and its phones and contacts',
      description:
        'Answers 200 whether the sandbox is on or not: `enabled: false` where the deployment runs against WhatsApp itself. With it, the emulated ' +
        'phones (accounts a connection links to, with their linked devices) and contacts, oldest first.',
      responses: { 200: jsonContent(SandboxStatus, 'The sandbox.'), ...errorResponses(401), 502: sandboxErrors[502] },
    }),
    async (c) => {
      const emulator = sandboxControl(c.env);
      if (!emulator) return c.json({ enabled: false as const }, 200);
      const [phones, contacts] = await Promise.all([
        emulator.call('GET', '/accounts', z.array(EmulatorAccount)),
        emulator.call('GET', '/contacts', z.array(EmulatorContact)),
      ]);
      return c.json({ enabled: true as const, phones: phones.map(toPhone), contacts: contacts.map(toContact) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/sandbox/phones',
      tags,
      middleware: [requireSandbox],
      summary: 'Create an emulated phone',
      description: 'A WhatsApp account in the emulator, for a connection to link to (scan its QR, or enter its pairing code, as this phone).',
      request: jsonBody(CreateSandboxPersonBody),
      responses: { 201: jsonContent(SandboxPhone, 'The new phone.'), ...sandboxErrors },
    }),
    async (c) => {
      const account = await emulatorOf(c.env).call('POST', '/accounts', EmulatorAccount, c.req.valid('json'));
      return c.json(toPhone(account), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/sandbox/phones/{phone}/scan',
      tags,
      middleware: [requireSandbox],
      summary: 'Scan a QR with the phone',
      description:
        "The phone scans a connection's QR (`qr_raw` of GET /api/get-qr/{connection_id}, or `qrRaw` of a `qr-update` event) and " +
        'links it; the connection turns `connected` moments later. An expired or unknown QR is 409.',
      request: { params: PhoneParams, ...jsonBody(SandboxScanBody) },
      responses: { 200: jsonContent(SandboxLinkedDevice, 'Linked.'), ...sandboxErrors, ...errorResponses(409) },
    }),
    async (c) => {
      const { phone } = c.req.valid('param');
      const linked = await emulatorOf(c.env).call('POST', `/accounts/${phone}/scan`, SandboxLinkedDevice, c.req.valid('json'), LINK_TIMEOUT_MS);
      return c.json(linked, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/sandbox/phones/{phone}/pairing-code',
      tags,
      middleware: [requireSandbox],
      summary: 'Enter a pairing code on the phone',
      description:
        'The phone enters the code POST /api/connections/{connection_id}/pairing-code answered (asked for this phone\'s number) and ' +
        'links the connection. 409 when no connection is waiting for a code for this number, or it did not finish pairing.',
      request: { params: PhoneParams, ...jsonBody(SandboxPairingCodeBody) },
      responses: { 200: jsonContent(SandboxLinkedDevice, 'Linked.'), ...sandboxErrors, ...errorResponses(409) },
    }),
    async (c) => {
      const { phone } = c.req.valid('param');
      const linked = await emulatorOf(c.env).call('POST', `/accounts/${phone}/pairing-code`, SandboxLinkedDevice, c.req.valid('json'), LINK_TIMEOUT_MS);
      return c.json(linked, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/sandbox/contacts',
      tags,
      middleware: [requireSandbox],
      summary: 'Create an emulated contact',
      description: 'Someone on WhatsApp who can message the phones and receive their messages.',
      request: jsonBody(CreateSandboxPersonBody),
      responses: { 201: jsonContent(SandboxContact, 'The new contact.'), ...sandboxErrors },
    }),
    async (c) => {
      const contact = await emulatorOf(c.env).call('POST', '/contacts', EmulatorContact, c.req.valid('json'));
      return c.json(toContact(contact), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/sandbox/contacts/{phone}/messages',
      tags,
      middleware: [requireSandbox],
      summary: 'Send a message as the contact',
      description:
        'The contact sends a text (optionally quoting `reply_to`), a location, contact cards, a poll or a reaction to a phone, built ' +
        "as WhatsApp's apps build them; every connection linked to that phone receives it (stored, pushed, and delivered to its " +
        'webhook) under the id answered here.',
      request: { params: PhoneParams, ...jsonBody(SandboxMessageBody) },
      responses: { 200: jsonContent(SandboxSent, 'Sent.'), ...sandboxErrors },
    }),
    async (c) => {
      const { phone: contact } = c.req.valid('param');
      const body = c.req.valid('json');
      const emulator = emulatorOf(c.env);
      const phone = body.to.split('@')[0]!;
      // A reply or a reaction names its target's sender: the phone, when the contact received it from there.
      const target = body.reply_to ?? body.reaction?.message_id;
      const targetFromPhone =
        target !== undefined && (await emulator.call('GET', `/contacts/${contact}/inbox`, z.array(EmulatorInboxEntry))).some((m) => m.id === target);
      const request = contactMessageRequest(body, { phone, contact, targetFromPhone });
      if (request.path === 'messages') return c.json(await emulator.call('POST', `/contacts/${contact}/messages`, SandboxSent, request.body), 200);
      const { id } = await emulator.call('POST', `/contacts/${contact}/message-changes`, z.object({ id: z.string() }), request.body);
      return c.json({ ids: [id] }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/sandbox/contacts/{phone}/inbox',
      tags,
      middleware: [requireSandbox],
      summary: 'What the contact received',
      description: 'Messages the contact received from the phones (sent through the API, or by a phone), the newest `limit` of them, oldest first (newest last).',
      request: { params: PhoneParams, query: z.object({ limit: limitParam(100, 1000) }) },
      responses: { 200: jsonContent(z.array(SandboxInboxEntry), 'Received messages, oldest first.'), ...sandboxErrors },
    }),
    async (c) => {
      const { phone } = c.req.valid('param');
      const { limit } = c.req.valid('query');
      const inbox = await emulatorOf(c.env).call('GET', `/contacts/${phone}/inbox`, z.array(EmulatorInboxEntry));
      return c.json(inbox.slice(-limit).map((e) => ({ ...e, text: e.text ?? null })), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/sandbox/contacts/{phone}/receipts',
      tags,
      middleware: [requireSandbox],
      summary: 'Send delivery or read receipts as the contact',
      description: 'For messages in its inbox; the sender sees them as `message-status` events (`delivered`, `read`).',
      request: { params: PhoneParams, ...jsonBody(SandboxReceiptsBody) },
      responses: { 200: jsonContent(SandboxOk, 'Sent.'), ...sandboxErrors },
    }),
    async (c) => {
      const { phone } = c.req.valid('param');
      await emulatorOf(c.env).call('POST', `/contacts/${phone}/receipts`, SandboxOk, c.req.valid('json'));
      return c.json({ ok: true as const }, 200);
    },
  );
