// Free TCP ports on loopback, for services started by the dev stack and the test harness.
import net from 'node:net';

/**
 * Ports this process has handed out. A port is free only until its service binds it, and the kernel may
 * offer the same one again in between: three picks in a row once gave `npm run dev` the same port for its
 * API and its emulator. So no port is handed out twice by one process.
 */
const issued = new Set<number>();

function anyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyPort();
    if (issued.has(port)) continue;
    issued.add(port);
    return port;
  }
}

export async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
