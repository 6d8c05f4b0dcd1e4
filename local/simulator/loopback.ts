import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Starts `server` listening on 127.0.0.1 (`port` 0: any free port) and resolves with its base URL,
 * `http://127.0.0.1:PORT`; rejects when it cannot listen (the port is taken, say).
 */
export async function listenOnLoopback(server: Server, port = 0): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${bound}`, port: bound };
}
