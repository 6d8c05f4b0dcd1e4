/**
 * A loopback HTTP server that stands in for Datadog and answers whatever a test queues: hostile or
 * broken answers the simulator does not model (bodies far larger than a page, echoed headers).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback, serverLifetime } from '../../local/simulator/loopback.ts';

export const MIB = 1024 * 1024;

export type Answer = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback server that answers each request with the next queued answer (or the default). */
export interface HostileServer {
  url: string;
  requests: Array<{ path: string; headers: IncomingMessage['headers'] }>;
  answers: Answer[];
  fallback: Answer;
  close(): Promise<void>;
}

export const emptyPage: Answer = (_req, res) => json(res, 200, { data: [] });

export async function startHostile(): Promise<HostileServer> {
  const hostile: HostileServer = {
    url: '',
    requests: [],
    answers: [],
    fallback: emptyPage,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    hostile.requests.push({ path: req.url ?? '', headers: req.headers });
    (hostile.answers.shift() ?? hostile.fallback)(req, res);
  });
  hostile.url = (await listenOnLoopback(server)).url;
  hostile.close = serverLifetime(server).close;
  return hostile;
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** What a streamed answer managed to send before it ended or the client hung up. */
export interface Streamed {
  sent: number;
  /** The response closed, and whether it had sent everything by then. */
  closed: boolean;
  finished: boolean;
}

/**
 * A 200 that streams `total` bytes of a JSON page in 1 MiB chunks, chunked (no Content-Length), at
 * the pace the client reads it, for every request it answers. `streamed` tells how the last one went.
 */
export function streamOf(
  total: number,
  streamed: Streamed = { sent: 0, closed: false, finished: false },
): Answer {
  return (_req, res) => {
    Object.assign(streamed, { sent: 0, closed: false, finished: false });
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(MIB, 0x20);
    res.write('{"data":[');
    res.on('close', () => {
      streamed.closed = true;
      streamed.finished = res.writableFinished;
    });
    let sent = 0;
    const pump = () => {
      while (sent < total && !res.destroyed) {
        sent += chunk.length;
        streamed.sent = sent;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end(']}');
    };
    pump();
  };
}
