// The base of runners' media links is the configured CONTROL_PLANE_URL, or nothing: never the request's.
import { describe, expect, it } from 'vitest';
import { controlPlaneBase } from './control-plane-url';

describe('CONTROL_PLANE_URL for media links', () => {
  it('is the configured URL without its trailing slash, path prefix kept', () => {
    expect(controlPlaneBase({ CONTROL_PLANE_URL: 'https://sb.example.workers.dev/' })).toBe('https://sb.example.workers.dev');
    expect(controlPlaneBase({ CONTROL_PLANE_URL: ' https://cp.example.com/switchboard/ ' })).toBe('https://cp.example.com/switchboard');
    expect(controlPlaneBase({ CONTROL_PLANE_URL: 'http://127.0.0.1:8787' })).toBe('http://127.0.0.1:8787');
  });

  it.each([undefined, '', '   '])('unset (%j) is a 500 server_misconfigured, not a fallback to the Host header', (value) => {
    expect(() => controlPlaneBase({ CONTROL_PLANE_URL: value })).toThrow(expect.objectContaining({ status: 500, code: 'server_misconfigured', message: expect.stringMatching(/CONTROL_PLANE_URL is not set/) }));
  });

  it.each(['cp.example.com', 'ftp://cp.example.com', 'https://u:p@cp.example.com', 'https://cp.example.com/?x=1', 'https://cp.example.com/#x'])('refuses %s', (value) => {
    expect(() => controlPlaneBase({ CONTROL_PLANE_URL: value })).toThrow(expect.objectContaining({ status: 500, code: 'server_misconfigured' }));
  });
});
