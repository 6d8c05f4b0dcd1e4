import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const tmp = path.resolve(import.meta.dirname, '..', '.tmp');

export function setup(): void {
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
}

export function teardown(): void {
  rmSync(tmp, { recursive: true, force: true });
}
