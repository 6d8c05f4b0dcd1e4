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

/**
 * Sleeps for a server's handlers, and the server's close: `close()` cancels the sleeps still pending,
 * cuts the open connections and resolves once the server has closed (the same promise every call).
 */
export function serverLifetime(server: Server): { sleep(ms: number): Promise<void>; close(): Promise<void> } {
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, ms);
        timers.add(t);
      }),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
