import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBResultReader,
  DuckDBTypeId,
} from '@duckdb/node-api';
import {
  type Column,
  committedViewSql,
  duckdbType,
  partitionColumns,
  rawTableName,
  TABLES,
  type TableDef,
  WINDOWS_TABLE,
} from '../infra/athena/tables.ts';
import { renderView, VIEWS } from '../infra/athena/views.ts';
import { CATEGORIES, CATEGORY_NAMES, type CategoryName } from '../lambdas/categories.ts';
import { commitsGlob, partsGlob as layoutPartsGlob } from '../lambdas/core/layout.ts';

const HELP = `Usage: npm run query -- [flags] "<SQL>"

Runs SQL over the local lake (what npm start wrote) in DuckDB, embedded and offline, with the
tables and views the deployment creates in Athena:

  tables  ${CATEGORY_NAMES.join(', ')}: each window's committed fetch only
          windows: one row per committed window (freshness, final or provisional)
          ${CATEGORY_NAMES.map(rawTableName).join(', ')}: every landed part
  views   ${VIEWS.map((v) => v.name).join(', ')}

Flags:
  --format table|csv|json     output format (default: table)
  --data-dir DIR              the directory npm start stored into (default: .local)
  --bucket NAME               bucket of the embedded S3 server (default: local)
  --prefix PREFIX             key prefix (default: datadog)
  --help

Without SQL, lists the tables and views with their row counts.
Example: npm run query -- "SELECT product_family, sum(value) FROM hourly_usage_measurements GROUP BY 1"`;

export interface LocalLakeOptions {
  /** The embedded S3 server's directory (objects at `<dir>/<bucket>/<key>._S3rver_object`). */
  s3Directory: string;
  bucket: string;
  prefix: string;
}

export interface LocalLake {
  connection: DuckDBConnection;
  /** Number of landed parts per category, of every fetch (0: the tables exist, empty). */
  parts: Record<CategoryName, number>;
  run(sql: string): Promise<DuckDBResultReader>;
  close(): void;
}

const sqlPath = (p: string) => `'${p.replace(/'/g, "''")}'`;

/** s3rver keeps the object of key K at `<dir>/<bucket>/K._S3rver_object`. */
function s3rverGlob(options: LocalLakeOptions, keyGlob: string): string {
  return path.join(path.resolve(options.s3Directory), options.bucket, `${keyGlob}._S3rver_object`);
}

/** Where s3rver keeps a category's parts: every part of every fetch of every partition. */
export function partsGlob(options: LocalLakeOptions, table: CategoryName): string {
  return s3rverGlob(options, layoutPartsGlob(options.prefix, table, CATEGORIES[table].window));
}

/** A partition column's value, taken from the file's path as partition projection does. */
const fromPath = (column: string, pattern: string) =>
  `regexp_extract(filename, '${pattern}', 1) AS "${column}"`;

/**
 * The DuckDB table of one category's parts (every fetch): read with the Glue table's columns, or
 * empty. The partition columns come from the path, like partition projection's; DuckDB's own hive
 * partitioning would silently replace a record field of the same name.
 */
function rawTableSql(table: TableDef, glob: string | undefined): string {
  const name = rawTableName(table.name);
  const partitions = partitionColumns(table);
  if (glob === undefined) return emptyTableSql(name, [...table.columns, ...partitions]);
  const select = [
    ...table.columns.map((c) => (c.key ? `"${c.key}" AS "${c.name}"` : `"${c.name}"`)),
    ...partitions.map((p) => fromPath(p.name, `[/\\\\]${p.name}=([^/\\\\]+)[/\\\\]`)),
  ];
  return `CREATE VIEW "${name}" AS SELECT ${select.join(', ')} FROM ${readJson(glob, table.columns, true)}`;
}

function emptyTableSql(name: string, columns: readonly Column[]): string {
  return `CREATE TABLE "${name}" (${columns.map((c) => `"${c.name}" ${duckdbType(c.type)}`).join(', ')})`;
}

/** `read_json` of NDJSON files with declared columns. Compression is named: s3rver's file names no longer end in .gz. */
function readJson(glob: string, columns: readonly Column[], gzip: boolean): string {
  const keys = columns.map((c) => `'${c.key ?? c.name}': '${duckdbType(c.type).replace(/'/g, "''")}'`);
  return `read_json(${sqlPath(glob)}, format = 'newline_delimited', compression = '${gzip ? 'gzip' : 'uncompressed'}',
    hive_partitioning = false, filename = true, columns = {${keys.join(', ')}})`;
}

/** The `windows` table: every commit record, category and account from the path (as in Athena). */
function windowsTableSql(glob: string | undefined): string {
  const { name, columns, partitions } = WINDOWS_TABLE;
  if (glob === undefined) return emptyTableSql(name, [...columns, ...partitions]);
  const select = [
    ...columns.map((c) => `"${c.name}"`),
    fromPath('category', '([^/\\\\]+)[/\\\\]commits[/\\\\]'),
    fromPath('account', '[/\\\\]account=([^/\\\\]+)[/\\\\]'),
  ];
  return `CREATE VIEW "${name}" AS SELECT ${select.join(', ')} FROM ${readJson(glob, columns, false)}`;
}

async function matches(connection: DuckDBConnection, glob: string): Promise<number> {
  const found = await connection.runAndReadAll(`SELECT count(*) FROM glob(${sqlPath(glob)})`);
  return Number(found.getRows()[0]?.[0] ?? 0);
}

/**
 * An in-memory DuckDB with one table per category over the local lake (an empty table when a
 * category has no data yet, so every view works) and the views, rendered for DuckDB.
 */
export async function openLocalLake(options: LocalLakeOptions): Promise<LocalLake> {
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const parts = {} as Record<CategoryName, number>;
    for (const name of CATEGORY_NAMES) {
      const glob = partsGlob(options, name);
      parts[name] = await matches(connection, glob);
      await connection.run(rawTableSql(TABLES[name], parts[name] > 0 ? glob : undefined));
    }
    const commits = s3rverGlob(options, commitsGlob(options.prefix));
    await connection.run(windowsTableSql((await matches(connection, commits)) > 0 ? commits : undefined));
    for (const name of CATEGORY_NAMES) {
      await connection.run(`CREATE VIEW "${name}" AS\n${committedViewSql(TABLES[name])}`);
    }
    for (const view of VIEWS) {
      await connection.run(`CREATE VIEW "${view.name}" AS\n${renderView(view, 'duckdb')}`);
    }
    return {
      connection,
      parts,
      run: (sql) => connection.runAndReadAll(sql),
      close: () => {
        connection.closeSync();
        instance.closeSync();
      },
    };
  } catch (error) {
    connection.closeSync();
    instance.closeSync();
    throw error;
  }
}

export type OutputFormat = 'table' | 'csv' | 'json';

const NUMERIC = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
]);

type Cell = string | number | boolean | null | Cell[] | { [key: string]: Cell };

/** Values as JSON: big integers as numbers when exact, doubles without binary noise. */
function rowsOf(result: DuckDBResultReader): { columns: string[]; numeric: boolean[]; rows: Cell[][] } {
  const columns = result.columnNames();
  const ids = result.columnTypes().map((t) => t.typeId);
  const rows = result.getRowsJson().map((row) =>
    row.map((value, i): Cell => {
      const id = ids[i] as DuckDBTypeId;
      if (typeof value === 'number' && (id === DuckDBTypeId.DOUBLE || id === DuckDBTypeId.FLOAT)) {
        return Number(value.toPrecision(15));
      }
      if (typeof value === 'string' && NUMERIC.has(id) && /^-?\d+$/.test(value)) {
        const n = Number(value);
        return Number.isSafeInteger(n) ? n : value;
      }
      return value as Cell;
    }),
  );
  return { columns, numeric: ids.map((id) => NUMERIC.has(id)), rows };
}

const text = (value: Cell): string =>
  value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);

const csvField = (value: string): string =>
  /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;

const MAX_CELL = 60;

export function formatResult(result: DuckDBResultReader, format: OutputFormat): string {
  const { columns, numeric, rows } = rowsOf(result);
  if (format === 'json') {
    return `${JSON.stringify(
      rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null]))),
      null,
      2,
    )}\n`;
  }
  if (format === 'csv') {
    return `${[columns, ...rows.map((row) => row.map(text))].map((r) => r.map(csvField).join(',')).join('\n')}\n`;
  }
  const cells = rows.map((row) =>
    row.map((v) => {
      const s = v === null ? 'NULL' : text(v);
      return s.length > MAX_CELL ? `${s.slice(0, MAX_CELL - 1)}…` : s;
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: string[], alignNumbers: boolean) =>
    values
      .map((v, i) => (alignNumbers && numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join(' │ ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─');
  const count = `(${rows.length} row${rows.length === 1 ? '' : 's'})`;
  return `${[line(columns, false), rule, ...cells.map((r) => line(r, true)), count].join('\n')}\n`;
}

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'table' },
      'data-dir': { type: 'string', default: '.local' },
      bucket: { type: 'string', default: 'local' },
      prefix: { type: 'string', default: 'datadog' },
      help: { type: 'boolean', default: false },
    },
  });
}

/** `npm run query -- "<SQL>"`; returns the exit code (0 ok, 1 query failed, 2 bad flags). */
export async function main(
  argv: string[],
  write: (text: string) => void = (t) => process.stdout.write(t),
  writeError: (text: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    writeError(`Error: ${(error as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  const { values, positionals } = flags;
  if (values.help) {
    write(`${HELP}\n`);
    return 0;
  }
  const format = values.format as OutputFormat;
  if (!['table', 'csv', 'json'].includes(format)) {
    writeError(`Error: --format must be table, csv or json, not "${values.format}"\n`);
    return 2;
  }
  const s3Directory = path.resolve(values['data-dir'] ?? '.local', 's3');
  const lake = await openLocalLake({
    s3Directory,
    bucket: values.bucket ?? 'local',
    prefix: values.prefix ?? 'datadog',
  });
  try {
    const sql = positionals.join(' ').trim();
    if (sql === '') {
      const counts = [
        ...CATEGORY_NAMES.map(
          (name) => `SELECT 'table' AS kind, '${name}' AS name, count(*) AS "rows" FROM "${name}"`,
        ),
        `SELECT 'table', '${WINDOWS_TABLE.name}', count(*) FROM "${WINDOWS_TABLE.name}"`,
        ...VIEWS.map((v) => `SELECT 'view', '${v.name}', count(*) FROM "${v.name}"`),
      ].join('\nUNION ALL\n');
      write(formatResult(await lake.run(counts), format));
      if (Object.values(lake.parts).every((n) => n === 0)) {
        writeError(
          `No data under ${path.join(s3Directory, values.bucket ?? 'local')}: run npm start first.\n`,
        );
      }
      return 0;
    }
    write(formatResult(await lake.run(sql), format));
    return 0;
  } catch (error) {
    writeError(`Query failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    lake.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`Query failed: ${(error as Error).stack ?? String(error)}`);
      process.exitCode = 1;
    },
  );
}
