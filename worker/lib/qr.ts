// Renders the string WhatsApp wants scanned as a PNG data URL (the seed's `qr` field). The package's
// server build is imported on purpose: its browser build (what bundlers pick for workerd) needs a canvas.
// @ts-expect-error the server build has no type declarations of its own; it is the same API.
import QRCode from 'qrcode/lib/server.js';

export function renderQrDataUrl(text: string): Promise<string> {
  return (QRCode as typeof import('qrcode')).toDataURL(text, { errorCorrectionLevel: 'L', margin: 2, scale: 6 });
}
