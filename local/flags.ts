import { InputError } from '../lambdas/shared/errors.ts';

/** The flags that mirror the execution input, shared by `npm start` and `npm run backfill`. */
export const INPUT_OPTIONS = {
  account: { type: 'string' },
  categories: { type: 'string' },
  start: { type: 'string' },
  end: { type: 'string' },
  lookback: { type: 'string' },
  'product-families': { type: 'string' },
  'include-descendants': { type: 'boolean' },
  'include-connected-accounts': { type: 'boolean' },
  'page-size': { type: 'string' },
  fields: { type: 'string' },
  'tag-breakdown-keys': { type: 'string' },
} as const;

export const INPUT_HELP = `  --account NAME              account name in the S3 layout
  --categories LIST           comma-separated category names, or "all"
  --start TIME --end TIME     YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh (UTC); end exclusive
  --lookback DURATION         ISO 8601 days/hours back from now, e.g. P3D, PT72H
  --product-families LIST     hourly_usage families, comma-separated (default: all)
  --include-descendants       include child orgs (default); --no-include-descendants to turn off
  --include-connected-accounts
  --page-size N               hourly_usage page[limit], 1..500 (default 500)
  --fields LIST               attribution fields (default *)
  --tag-breakdown-keys LIST   attribution tag keys, comma-separated`;

export type InputFlags = {
  [K in keyof typeof INPUT_OPTIONS]?: (typeof INPUT_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

function list(value: string | undefined): string[] | undefined {
  return value
    ?.split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The execution input the flags stand for: the same object a StartExecution carries. */
export function inputFromFlags(f: InputFlags): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  if (f.account !== undefined) {
    const accounts = list(f.account) ?? [];
    input.account = accounts.length === 1 ? accounts[0] : accounts;
  }
  if (f.categories !== undefined) {
    const categories = list(f.categories) ?? [];
    input.categories = categories.length === 1 && categories[0] === 'all' ? 'all' : categories;
  }
  if (f.start !== undefined) input.start = f.start;
  if (f.end !== undefined) input.end = f.end;
  if (f.lookback !== undefined) input.lookback = f.lookback;
  if (f['product-families'] !== undefined) input.productFamilies = list(f['product-families']);
  if (f['include-descendants'] !== undefined) input.includeDescendants = f['include-descendants'];
  if (f['include-connected-accounts'] !== undefined)
    input.includeConnectedAccounts = f['include-connected-accounts'];
  if (f['page-size'] !== undefined) {
    // Decimal digits only: Number() would also read "0x10", "1e2", " 16" or "" as numbers. Anything
    // else goes on as the string it is, for the plan to refuse with the accepted form.
    const raw = f['page-size'];
    input.pageSize = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : raw;
  }
  if (f.fields !== undefined) input.fields = f.fields;
  if (f['tag-breakdown-keys'] !== undefined) input.tagBreakdownKeys = list(f['tag-breakdown-keys']);
  return input;
}

/** Refuses a flag's value that is not an http(s) URL (`--datadog-url`, `--s3-endpoint`) with an InputError. */
export function checkUrl(flag: string, value: string | undefined): void {
  if (value === undefined) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(flag, `"${value}" is not a URL such as http://127.0.0.1:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InputError(flag, 'must be an http(s) URL');
}
