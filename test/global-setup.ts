import { mkdirSync } from 'node:fs';
import path from 'node:path';

/** The temp folder tests run with (TMPDIR): CDK synth output and S3 server directories go here. */
export function setup(): void {
  mkdirSync(path.resolve(import.meta.dirname, '..', '.tmp'), { recursive: true });
}
