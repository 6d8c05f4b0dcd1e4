/**
 * What every declared input shares: zod (its `zod/mini` entry, so a bundle keeps only what the
 * schemas use), a field name for a zod path, and the one problem to report of those zod found.
 */
import * as z from 'zod/mini';

/** A value as a message quotes it: JSON where it has one (`"2026-13"`, `7`, `null`). */
export const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** A zod path as this project names fields: `categories[2]`, `accounts[1].site`, `options.pageSize`. */
export function fieldName(path: readonly PropertyKey[]): string {
  let name = '';
  for (const key of path) {
    if (typeof key === 'number') name += `[${key}]`;
    else name += name === '' ? String(key) : `.${String(key)}`;
  }
  return name;
}

export interface Problem {
  path: PropertyKey[];
  message: string;
}

/** A union branch that refused the value's type itself, as a string branch refuses a list. */
const wrongType = (issues: readonly z.core.$ZodIssue[]) =>
  issues.every((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'));

/**
 * The problem to report: an unknown field first (a misspelt name explains the errors beside it),
 * else the first issue, fields in their declared order. Of a union that matched no branch, the last
 * branch that took the value's type speaks (the list branch for a list), else the last branch: a
 * union lists its catch-all form last.
 */
export function firstProblem(issues: readonly z.core.$ZodIssue[]): Problem {
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
  if (issue === undefined) return { path: [], message: 'Invalid input' };
  if (issue.code === 'unrecognized_keys') {
    return { path: [...issue.path, ...issue.keys.slice(0, 1)], message: issue.message };
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const branch = issue.errors.findLast((b) => !wrongType(b)) ?? issue.errors.at(-1) ?? [];
    const inner = firstProblem(branch);
    return { path: [...issue.path, ...inner.path], message: inner.message };
  }
  return { path: [...issue.path], message: issue.message };
}

/**
 * Parses `raw` with `schema`, or throws what `fail` makes of the first problem: the field (the zod
 * path as {@link fieldName} writes it, `root` for the value itself) and the schema's message.
 */
export function parseWith<S extends z.core.$ZodType>(
  schema: S,
  raw: unknown,
  root: string,
  fail: (field: string, message: string) => Error,
): z.output<S> {
  const result = z.safeParse(schema, raw);
  if (result.success) return result.data;
  const { path, message } = firstProblem(result.error.issues);
  throw fail(path.length === 0 ? root : fieldName(path), message);
}

/**
 * A list checked for its length before its entries (a list of 10,000 is refused as long, not entry
 * by entry), each entry then by `entry`, whose issues name it `field[i]`. Non-empty unless `min` is 0.
 */
export function list<T extends z.core.SomeType>(
  entry: T,
  messages: { notAList: string; max: number; min?: number; tooLong?: (length: number) => string },
) {
  const tooLong = messages.tooLong ?? ((n: number) => `has ${n} entries; at most ${messages.max}`);
  return z.pipe(
    z
      .array(z.unknown(), { error: messages.notAList })
      .check(
        z.minLength(messages.min ?? 1, { error: messages.notAList }),
        z.maxLength(messages.max, { error: (iss) => tooLong((iss.input as unknown[]).length) }),
      ),
    z.array(entry),
  );
}

/** `undefined` and `null` (or an absent field) both mean `fallback`, as a hand-written `??` used to say. */
export function orDefault<O, I>(schema: z.core.$ZodType<O, I>, fallback: I) {
  const fill = z.transform((value: unknown) => value ?? fallback) as z.ZodMiniTransform<I, unknown>;
  return z._default(z.pipe(fill, schema), () => z.parse(schema, fallback) as z.util.NoUndefined<O>);
}

/** A check from a function that says what is wrong with a value, or undefined when nothing is. */
export function problemCheck<T>(problem: (value: T) => string | undefined) {
  return z.superRefine<T>((value, ctx) => {
    const message = problem(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message, input: value, continue: false });
  });
}
