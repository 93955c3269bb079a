import { describe, expect, it } from 'vitest';
import { freePort, isPortFree } from './ports';

describe('freePort', () => {
  it('never hands out one port twice, however many are asked for', async () => {
    // Enough picks from the kernel's ephemeral range that repeats are all but certain without the guard.
    const ports: number[] = [];
    for (let i = 0; i < 2000; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('hands out a port nothing listens on', async () => {
    expect(await isPortFree(await freePort())).toBe(true);
  });
});
