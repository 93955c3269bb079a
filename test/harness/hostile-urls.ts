// URLs a tenant might give to make the gateway reach somewhere it must not, each with the rule that
// refuses it (`details.reason` of the 400). Shared by the webhook and media end-to-end tests.
export const HOSTILE_URLS: ReadonlyArray<readonly [url: string, reason: 'private_address' | 'port' | 'credentials' | 'scheme']> = [
  ['http://127.0.0.1.nip.io/hook', 'private_address'],
  ['http://10-0-0-1.sslip.io/hook', 'private_address'],
  ['http://localtest.me/hook', 'private_address'],
  ['http://192.168.1.1.customers.example.com/hook', 'private_address'],
  ['http://ip-169-254-169-254.example.com/latest/meta-data/', 'private_address'],
  ['http://metadata.google.internal/computeMetadata/v1/', 'private_address'],
  ['http://[2002:a9fe:a9fe::]/hook', 'private_address'], // 6to4 of 169.254.169.254
  ['http://[2001::1]/hook', 'private_address'], // Teredo
  ['http://[fec0::1]/hook', 'private_address'], // site-local
  ['http://[64:ff9b::7f00:1]/hook', 'private_address'], // NAT64 of 127.0.0.1
  ['http://[::ffff:a00:1]/hook', 'private_address'], // IPv4-mapped 10.0.0.1
  ['http://0x7f.1/hook', 'private_address'],
  ['http://198.18.0.1/hook', 'private_address'],
  ['https://hooks.example.com:8443/hook', 'port'],
  ['http://hooks.example.com:6379/', 'port'],
  ['https://user:pass@hooks.example.com/hook', 'credentials'],
  ['gopher://hooks.example.com/hook', 'scheme'],
];
