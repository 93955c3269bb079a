// The phone's initial history sync for a newly linked device: an INITIAL_BOOTSTRAP history (no messages; the address book's names)
// inlined in the notification, so Baileys finishes its initial sync at once instead of waiting 20 s.
import { proto } from '@whiskeysockets/baileys';
import { deflateSync } from 'node:zlib';
import type { Account, LinkedDevice } from './accounts.js';
import { serially } from './messaging.js';
import type { Network } from './network.js';
import { takeOneTimePreKey } from './prekeys.js';
import { newMessageId, now } from './stanzas.js';

export const sendInitialHistorySync = (net: Network, account: Account, device: LinkedDevice) =>
  serially(account.primaryDevice, async () => {
    const syncType = proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP;
    // The address book travels as conversations without messages (their names), with each person's LID.
    const book = [...account.addressBook].map(([phone, name]) => ({ pnJid: `${phone}@s.whatsapp.net`, name, lid: net.contacts.get(phone)?.lidJid }));
    const history = proto.HistorySync.encode({
      syncType,
      conversations: book.map(b => ({ id: b.pnJid, name: b.name, ...(b.lid ? { lidJid: b.lid } : {}) })),
      phoneNumberToLidMappings: book.filter(b => b.lid).map(b => ({ pnJid: b.pnJid, lidJid: b.lid })),
      progress: 100,
      chunkOrder: 0,
    }).finish();
    const message: proto.IMessage = {
      protocolMessage: {
        type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
        historySyncNotification: { syncType, chunkOrder: 0, progress: 100, initialHistBootstrapInlinePayload: deflateSync(history) },
      },
    };
    const { encType, ciphertext } = await account.primaryDevice.encryptFor(account.lid, device.id, message, () => {
      const preKey = takeOneTimePreKey(device);
      return { ...device.bundle, ...(preKey ? { preKey } : {}) };
    });
    net.deliver(account, device, {
      tag: 'message',
      attrs: { from: account.pnJid, id: newMessageId(), t: String(now()), type: 'text', category: 'peer' },
      content: [{ tag: 'enc', attrs: { v: '2', type: encType }, content: ciphertext }],
    });
  });
