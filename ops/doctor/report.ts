/** One line of the doctor's report: a check, whether it holds, and for a failure its cause and fix. */
export interface Check {
  /** Stable id for machines, e.g. `main/api_key`, `main/category/historical_cost`, `bucket/writable`. */
  name: string;
  /** What the line is about, as printed before the colon: an account name, `bucket` or `stack`. */
  subject: string;
  ok: boolean;
  /** What was found; for a failure, what failed (e.g. the category). */
  detail: string;
  cause?: string;
  fix?: string;
}

export function pass(subject: string, name: string, detail: string): Check {
  return { name: `${subject}/${name}`, subject, ok: true, detail };
}

export function fail(subject: string, name: string, detail: string, cause: string, fix: string): Check {
  return { name: `${subject}/${name}`, subject, ok: false, detail, cause, fix };
}

/** `  ✓ main: API key valid for datadoghq.eu`, `  ✗ main: historical_cost: <cause> → <fix>`. */
export function renderLine(check: Check): string {
  return check.ok
    ? `  ✓ ${check.subject}: ${check.detail}`
    : `  ✗ ${check.subject}: ${check.detail}: ${check.cause} → ${check.fix}`;
}

export interface Section {
  title: string;
  checks: Check[];
}

export function renderText(sections: Section[]): string[] {
  const lines: string[] = [];
  for (const s of sections) lines.push(s.title, ...s.checks.map(renderLine));
  const all = sections.flatMap((s) => s.checks);
  const failed = all.filter((c) => !c.ok).length;
  lines.push(
    '',
    failed === 0
      ? `All ${all.length} checks passed.`
      : `${failed} of ${all.length} checks failed: fix the ✗ lines above, then run npm run doctor again.`,
  );
  return lines;
}

/** The `--json` report: every check with `name`, `ok`, `detail`, `cause` and `fix` (null when none). */
export function renderJson(sections: Section[]): string {
  const checks = sections.flatMap((s) =>
    s.checks.map((c) => ({
      name: c.name,
      subject: c.subject,
      section: s.title,
      ok: c.ok,
      detail: c.detail,
      cause: c.cause ?? null,
      fix: c.fix ?? null,
    })),
  );
  return JSON.stringify({ ok: checks.every((c) => c.ok), checks }, null, 2);
}
