// Renders the string WhatsApp wants scanned as a PNG data URL (the seed's `qr` field).
import QRCode from 'qrcode';

export function renderQrDataUrl(text: string): Promise<string> {
  return QRCode.toDataURL(text, { errorCorrectionLevel: 'L', margin: 2, scale: 6 });
}
