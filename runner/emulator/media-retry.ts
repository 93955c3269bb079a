// Media retry, the phone's side: a gateway device that cannot download a file (the media host answers
// 404/410: the media key expired, the blob is gone) sends `<receipt type="server-error">` with an `<rmr>`
// naming the message, to its own account. WhatsApp hands it to the phone that sent the file, which uploads
// it again and answers with `<notification type="mediaretry">`: a MediaRetryNotification (the new
// directPath) sealed with AES-256-GCM under HKDF(mediaKey, "WhatsApp Media Retry Notification"), the
// message id as additional data (Baileys: Utils/messages-media.js, decodeMediaRetryNode and
// decryptMediaRetryData). The emulated contact's phone keeps what it sent (MediaStore.rememberSent) to do so.
import { getBinaryNodeChild, hkdf, proto, type BinaryNode } from '@whiskeysockets/baileys';
import { createCipheriv, randomBytes } from 'node:crypto';
import type { Network } from './network.js';
import type { Connection } from './session.js';

const sealed = (plain: Uint8Array, key: Buffer, iv: Buffer, aad: Buffer) => {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
};

/** Answers a gateway's media retry request; false when `node` is not one. */
export const answerMediaRetry = async (net: Network, conn: Connection, node: BinaryNode): Promise<boolean> => {
  if (node.attrs.type !== 'server-error') return false;
  const id = node.attrs.id;
  const rmr = getBinaryNodeChild(node, 'rmr');
  if (!id || !rmr) return true;
  net.mediaRetries.push({ id, account: conn.account?.phone ?? null, at: Date.now() });
  const sent = net.media.sentBy(id);
  const blob = sent && net.media.reupload(sent.path);
  const attrs = { from: node.attrs.to ?? `${conn.account!.phone}@s.whatsapp.net`, type: 'mediaretry', id, t: String(Math.floor(Date.now() / 1000)) };
  const rmrNode: BinaryNode = { tag: 'rmr', attrs: { ...rmr.attrs } };
  if (!sent || !blob) {
    // Not a file of ours (or the phone lost it too): the error Baileys turns into a 404.
    conn.send({ tag: 'notification', attrs, content: [rmrNode, { tag: 'error', attrs: { code: String(proto.MediaRetryNotification.ResultType.NOT_FOUND) } }] });
    return true;
  }
  sent.path = blob.path;
  const notice = proto.MediaRetryNotification.encode({ stanzaId: id, directPath: blob.path, result: proto.MediaRetryNotification.ResultType.SUCCESS }).finish();
  const key = Buffer.from(await hkdf(sent.mediaKey, 32, { info: 'WhatsApp Media Retry Notification' }));
  const iv = randomBytes(12);
  conn.send({
    tag: 'notification',
    attrs,
    content: [
      { tag: 'encrypt', attrs: {}, content: [{ tag: 'enc_p', attrs: {}, content: sealed(notice, key, iv, Buffer.from(id)) }, { tag: 'enc_iv', attrs: {}, content: iv }] },
      rmrNode,
    ],
  });
  return true;
};
