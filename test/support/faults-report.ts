/**
 * Figures of the fault-injection suite (`npm run test:faults`): each test appends what it measured to
 * `.tmp/faults-report.json` (one JSON object per line, so test files running in parallel workers can
 * append safely), and this script prints them as a Markdown table; with `--write` it also writes that
 * Markdown into docs/reliability.md (block `faults`):
 *
 *   npm run faults-report [-- --write]
 *
 * For each (group, case) the latest figures count; a group's cases are summed into one row.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeDocBlock } from '../../bench/doc-block.ts';

export const REPORT_FILE = path.resolve(import.meta.dirname, '..', '..', '.tmp', 'faults-report.json');

/** The page whose `faults` block holds the table. */
export const DOCS_FILE = path.resolve(import.meta.dirname, '..', '..', 'docs', 'reliability.md');

export interface Figures {
  /** The table row: a fault, or a family of bad inputs. */
  group: string;
  /** One case of the group (bad inputs have several); defaults to the group. */
  case?: string;
  /** Test file that measured it. */
  suite: 'faults' | 'bad-input' | 'keys';
  /** Executions of the local state machine (or CLI invocations). */
  runs: number;
  /** Distinct record ids the simulator served. */
  served: number;
  /** Distinct record ids that landed in a complete (manifested) partition. */
  landed: number;
  /** Records the simulator holds for the planned windows that did not land. */
  lost: number;
  /** Extra copies of landed records. */
  duplicated: number;
  /** Requests the simulator received (bad inputs: must stay 0). */
  requests?: number;
  /** Objects written to S3 (bad inputs: must stay 0). */
  written?: number;
  /** What the run ended with, and what the fault did. */
  outcome: string;
}

interface Entry extends Figures {
  at: string;
}

/** Appends one test's figures to the report file. */
export function recordFigures(figures: Figures): void {
  mkdirSync(path.dirname(REPORT_FILE), { recursive: true });
  const entry: Entry = { ...figures, at: new Date().toISOString() };
  appendFileSync(REPORT_FILE, `${JSON.stringify(entry)}\n`);
}

export function readEntries(file = REPORT_FILE): Entry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Entry);
}

const SUITE_ORDER: Record<Figures['suite'], number> = { faults: 0, 'bad-input': 1, keys: 2 };

/** The figures that count: the latest of each (group, case). */
function latestEntries(entries: readonly Entry[]): Entry[] {
  const latest = new Map<string, Entry>();
  for (const e of entries) {
    const id = `${e.suite}\u0000${e.group}\u0000${e.case ?? e.group}`;
    const seen = latest.get(id);
    if (!seen || seen.at <= e.at) latest.set(id, e);
  }
  return [...latest.values()];
}

/** The markdown table: one row per group, its latest cases summed. */
export function reportTable(entries: readonly Entry[]): string {
  const groups = new Map<string, Entry[]>();
  for (const e of latestEntries(entries)) {
    const id = `${e.suite}\u0000${e.group}`;
    groups.set(id, [...(groups.get(id) ?? []), e]);
  }
  const rows = [...groups.values()].sort(
    (a, b) =>
      SUITE_ORDER[(a[0] as Entry).suite] - SUITE_ORDER[(b[0] as Entry).suite] ||
      (a[0] as Entry).at.localeCompare((b[0] as Entry).at),
  );
  const sum = (list: Entry[], pick: (e: Entry) => number | undefined) =>
    list.reduce((n, e) => n + (pick(e) ?? 0), 0);
  const lines = [
    '| fault or bad input | runs | records served | landed | lost | duplicated | outcome |',
    '|---|---:|---:|---:|---:|---:|---|',
  ];
  const totals = { runs: 0, served: 0, landed: 0, lost: 0, duplicated: 0 };
  for (const list of rows) {
    const first = list[0] as Entry;
    const cases = list.length;
    const figures = {
      runs: sum(list, (e) => e.runs),
      served: sum(list, (e) => e.served),
      landed: sum(list, (e) => e.landed),
      lost: sum(list, (e) => e.lost),
      duplicated: sum(list, (e) => e.duplicated),
    };
    for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += figures[k];
    const outcomes = new Map<string, number>();
    for (const e of list) outcomes.set(e.outcome, (outcomes.get(e.outcome) ?? 0) + 1);
    const outcome =
      cases > 1
        ? `${[...outcomes].map(([text, n]) => `${n} × ${text}`).join('; ')}; ${sum(list, (e) => e.requests)} requests to Datadog for them, ${sum(list, (e) => e.written)} objects written`
        : first.outcome;
    lines.push(
      `| ${first.group} | ${figures.runs} | ${figures.served} | ${figures.landed} | ${figures.lost} | ${figures.duplicated} | ${outcome} |`,
    );
  }
  lines.push(
    `| **total** | **${totals.runs}** | **${totals.served}** | **${totals.landed}** | **${totals.lost}** | **${totals.duplicated}** | |`,
  );
  return lines.join('\n');
}

/** The table with where its figures come from: the command, and the days they were recorded. */
export function reportMarkdown(entries: readonly Entry[]): string {
  const days = latestEntries(entries)
    .map((e) => e.at.slice(0, 10))
    .sort();
  const first = days[0] ?? '';
  const last = days.at(-1) ?? '';
  const when = first === last ? `on ${last}` : `from ${first} to ${last}`;
  return `Figures recorded by \`npm run test:faults\` ${when} (\`.tmp/faults-report.json\`):\n\n${reportTable(entries)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const entries = readEntries();
  if (entries.length === 0) {
    console.error(`No figures in ${REPORT_FILE}: run \`npm run test:faults\` first.`);
    process.exit(1);
  }
  const markdown = reportMarkdown(entries);
  console.log(markdown);
  if (process.argv.includes('--write')) {
    writeDocBlock(DOCS_FILE, 'faults', markdown);
    console.error(`wrote this table into ${path.relative(process.cwd(), DOCS_FILE)} (block faults)`);
  }
}
