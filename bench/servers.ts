/**
 * The simulator and the embedded S3 server in a child process of their own, so that the CPU time the
 * bench measures in its own process is the client's only (fetch, parse, transform, gzip, PUT), not the
 * servers'. Started with `fork`; configured through BENCH_SERVERS (JSON SimulatorOptions minus `now`).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Harness } from '../local/harness.ts';
import type { SimulatorOptions } from '../local/simulator/index.ts';
import { startBenchHarness } from './common.ts';

export interface ServersInfo {
  simUrl: string;
  s3Endpoint: string;
  bucket: string;
}

type ToChild = { type: 'close' } | { type: 'stats' };
type FromChild =
  | ({ type: 'ready' } & ServersInfo)
  | { type: 'stats'; requests: number; statuses: Record<string, number>; served: number };

export interface RemoteServers extends ServersInfo {
  stats(): Promise<{ requests: number; statuses: Record<string, number>; served: number }>;
  close(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

export async function startRemoteServers(options: Omit<SimulatorOptions, 'now'>): Promise<RemoteServers> {
  const child = fork(SELF, [], {
    execArgv: ['--import', 'tsx', '--openssl-legacy-provider'],
    env: { ...process.env, BENCH_SERVERS: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T extends FromChild['type']>(type: T) =>
    new Promise<Extract<FromChild, { type: T }>>((resolve, reject) => {
      const onMessage = (m: FromChild) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as Extract<FromChild, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`bench servers exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next('ready');
  return {
    simUrl: ready.simUrl,
    s3Endpoint: ready.s3Endpoint,
    bucket: ready.bucket,
    async stats() {
      const answer = next('stats');
      child.send({ type: 'stats' } satisfies ToChild);
      const { requests, statuses, served } = await answer;
      return { requests, statuses, served };
    },
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send({ type: 'close' } satisfies ToChild);
      }),
  };
}

if (process.env.BENCH_SERVERS && process.send && process.argv[1] === SELF) {
  const options = JSON.parse(process.env.BENCH_SERVERS) as Omit<SimulatorOptions, 'now'>;
  const env: Harness = await startBenchHarness(options);
  const send = (m: FromChild) => process.send?.(m);
  process.on('message', (m: ToChild) => {
    if (m.type === 'stats') {
      const statuses: Record<string, number> = {};
      for (const r of env.sim.requests) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      send({ type: 'stats', requests: env.sim.requests.length, statuses, served: env.sim.served.length });
    } else if (m.type === 'close') {
      void env.close().then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => void env.close().then(() => process.exit(0)));
  send({ type: 'ready', simUrl: env.sim.url, s3Endpoint: env.s3.endpoint, bucket: env.s3.bucket });
}
