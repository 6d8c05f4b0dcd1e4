import { Aws, CfnOutput, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { CfnNamedQuery, CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CATEGORY_NAMES } from '../../lambdas/categories.ts';
import { rootOf, windowsTableLocation } from '../../lambdas/core/layout.ts';
import { EXAMPLE_QUERIES } from '../athena/example-queries.ts';
import {
  type Column,
  committedViewSql,
  hiveType,
  locationTemplate,
  partitionColumns,
  prestoType,
  rawTableName,
  serdeMappings,
  TABLES,
  type TableDef,
  tableLocation,
  WINDOWS_TABLE,
  windowsLocationTemplate,
} from '../athena/tables.ts';
import {
  HIVE_VIEW_TYPES,
  PRESTO_VIEW_TYPES,
  prestoViewOriginalText,
  renderView,
  VIEWS,
} from '../athena/views.ts';

/**
 * First day of partition projection's range. The lake keeps data beyond Datadog's 15 months, so
 * the range starts at a fixed date (not `NOW-15MONTHS`, which would hide older partitions as time
 * passes): 15 months before the earliest deployment of this project, with margin. Older data is
 * impossible to backfill from Datadog; an empty partition in range only costs a listing.
 */
export const DEFAULT_PROJECTION_START = '2025-01-01';

export interface AthenaLakeProps {
  /** The bucket the pipeline writes to. */
  dataBucket: IBucket;
  /** Key prefix of the lake in the bucket ('' for none). */
  prefix: string;
  /** Configured account names: partition projection's `account` enum. */
  accounts: readonly string[];
  /** Glue database; default `datadog_usage`. */
  databaseName?: string;
  /** Athena workgroup; default `datadog-usage`. */
  workGroupName?: string;
  /** A query scanning more is cancelled; default 10 GiB. */
  bytesScannedCutoffPerQuery?: number;
  /** Query results are deleted after this; default 30 days. */
  resultsExpiration?: Duration;
  /** `YYYY-MM-DD`: first day (month) partition projection enumerates; default {@link DEFAULT_PROJECTION_START}. */
  projectionStart?: string;
  /** Where the results bucket's server access logs go (prefix `athena-results/`); default none. */
  accessLogsBucket?: IBucket;
}

/**
 * The lake in Athena: a Glue database with, per category, a raw table of every landed part (JSON
 * SerDe over the gzip NDJSON parts, partition projection on account and day/month, so no crawler and
 * no MSCK REPAIR) and a view named after the category that shows only each window's committed fetch;
 * the `windows` table of commit records; the views of infra/athena/views.ts (all Glue VIRTUAL_VIEW
 * tables holding Athena SQL); a workgroup with its own encrypted results bucket and a scan cutoff;
 * and the example questions as named queries.
 */
export class AthenaLake extends Construct {
  readonly databaseName: string;
  readonly workGroupName: string;
  readonly resultsBucket: Bucket;
  readonly database: CfnDatabase;
  readonly workGroup: CfnWorkGroup;
  /** Raw tables (`<category>_raw`) and `windows`. */
  readonly tables: Record<string, CfnTable> = {};
  /** The category views (named after each category) and the views people query. */
  readonly views: Record<string, CfnTable> = {};
  private readonly dataBucket: IBucket;
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: AthenaLakeProps) {
    super(scope, id);
    this.databaseName = props.databaseName ?? 'datadog_usage';
    this.workGroupName = props.workGroupName ?? 'datadog-usage';
    this.dataBucket = props.dataBucket;
    this.prefix = props.prefix;
    const projectionStart = props.projectionStart ?? DEFAULT_PROJECTION_START;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(projectionStart)) {
      throw new Error(`AthenaLake: projectionStart must be YYYY-MM-DD, not "${projectionStart}"`);
    }
    if (props.accounts.length === 0) throw new Error('AthenaLake: accounts must not be empty');
    const catalogId = Aws.ACCOUNT_ID;

    this.database = new CfnDatabase(this, 'Database', {
      catalogId,
      databaseInput: {
        name: this.databaseName,
        description: 'Datadog usage and cost, as landed by the datadog-usage-lake pipeline',
      },
    });

    for (const name of CATEGORY_NAMES) {
      const table = this.table(TABLES[name], props.accounts, projectionStart);
      table.addResourceDependency(this.database);
      this.tables[rawTableName(name)] = table;
    }
    const windows = this.windowsTable(props.accounts);
    windows.addResourceDependency(this.database);
    this.tables[WINDOWS_TABLE.name] = windows;

    // The category views keep the ids the tables of the same names had, so an update replaces each
    // table by its view in place.
    const categoryViews = CATEGORY_NAMES.map((name) => {
      const def = TABLES[name];
      const columns = [...def.columns, ...partitionColumns(def)];
      return this.view(`Table-${name}`, {
        name,
        description: `${def.description}: each window's committed fetch only`,
        columns: columns.map((c) => ({
          name: c.name,
          hive: hiveType(c.type),
          presto: prestoType(c.type),
          comment: c.comment,
        })),
        sql: committedViewSql(def),
        after: [this.tables[rawTableName(name)] as CfnTable, windows],
      });
    });

    let previous: CfnTable | undefined;
    for (const view of VIEWS) {
      const table = this.view(`View-${view.name}`, {
        name: view.name,
        description: view.description,
        columns: view.columns.map((c) => ({
          name: c.name,
          hive: HIVE_VIEW_TYPES[c.type],
          presto: PRESTO_VIEW_TYPES[c.type],
          comment: c.comment,
        })),
        sql: renderView(view, 'athena'),
        // A view may read the category views and the views before it.
        after: [...categoryViews, ...(previous ? [previous] : [])],
      });
      previous = table;
    }

    this.resultsBucket = new Bucket(this, 'Results', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...(props.accessLogsBucket
        ? { serverAccessLogsBucket: props.accessLogsBucket, serverAccessLogsPrefix: 'athena-results/' }
        : {}),
      lifecycleRules: [
        {
          expiration: props.resultsExpiration ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // Query results are disposable, but a bucket with objects cannot be deleted by CloudFormation.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (!props.accessLogsBucket) {
      Validations.of(this.resultsBucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          'Holds only Athena query results, which expire: every query that writes or reads them is already recorded by CloudTrail (StartQueryExecution, GetQueryResults). Pass accessLogsBucket to log object access too.',
      });
    }

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: 'Queries over the Datadog usage and cost lake',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery ?? 10 * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: this.resultsBucket.s3UrlForObject('athena-results/'),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: Aws.ACCOUNT_ID,
        },
      },
    });

    for (const example of EXAMPLE_QUERIES) {
      const query = new CfnNamedQuery(this, `Query-${example.name}`, {
        name: example.name,
        description: example.question,
        database: this.databaseName,
        workGroup: this.workGroup.ref,
        queryString: example.sql,
      });
      query.addResourceDependency(this.database);
    }

    new CfnOutput(this, 'DatabaseName', { value: this.databaseName });
    new CfnOutput(this, 'WorkGroupName', { value: this.workGroup.ref });
    new CfnOutput(this, 'ResultsBucketName', { value: this.resultsBucket.bucketName });
  }

  private table(def: TableDef, accounts: readonly string[], projectionStart: string): CfnTable {
    const bucket = this.dataBucket.bucketName;
    const partition = def.partition;
    const start = partition.name === 'day' ? projectionStart : projectionStart.slice(0, 7);
    return new CfnTable(this, `RawTable-${def.name}`, {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: rawTableName(def.name),
        description: `${def.description}, every fetch (query the ${def.name} view for committed windows only)`,
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          classification: 'json',
          compressionType: 'gzip',
          'projection.enabled': 'true',
          'projection.account.type': 'enum',
          'projection.account.values': accounts.join(','),
          [`projection.${partition.name}.type`]: 'date',
          [`projection.${partition.name}.format`]: partition.format,
          [`projection.${partition.name}.range`]: `${start},NOW`,
          [`projection.${partition.name}.interval`]: '1',
          [`projection.${partition.name}.interval.unit`]: partition.intervalUnit,
          'storage.location.template': locationTemplate(bucket, this.prefix, def.name),
        },
        partitionKeys: partitionColumns(def).map((c) => ({
          name: c.name,
          type: hiveType(c.type),
          comment: c.comment,
        })),
        storageDescriptor: {
          location: tableLocation(bucket, this.prefix, def.name),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          compressed: true,
          columns: def.columns.map((c) => ({ name: c.name, type: hiveType(c.type), comment: c.comment })),
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            // Keys are snake_case already; this keeps map keys (tag keys, field names) as Datadog sent them.
            parameters: {
              'case.insensitive': 'false',
              'ignore.malformed.json': 'false',
              ...serdeMappings(def),
            },
          },
        },
      },
    });
  }

  /** A Glue VIRTUAL_VIEW holding Athena SQL, as Athena itself stores a `CREATE VIEW`. */
  private view(
    id: string,
    v: {
      name: string;
      description: string;
      columns: Array<{ name: string; hive: string; presto: string; comment: string }>;
      sql: string;
      after: CfnTable[];
    },
  ): CfnTable {
    const table = new CfnTable(this, id, {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: v.name,
        description: v.description,
        tableType: 'VIRTUAL_VIEW',
        parameters: { presto_view: 'true', comment: 'Presto View' },
        partitionKeys: [],
        storageDescriptor: {
          columns: v.columns.map((c) => ({ name: c.name.toLowerCase(), type: c.hive, comment: c.comment })),
          serdeInfo: {},
        },
        viewOriginalText: prestoViewOriginalText(
          v.sql,
          v.columns.map((c) => ({ name: c.name, type: c.presto })),
          this.databaseName,
        ),
        viewExpandedText: '/* Presto View */',
      },
    });
    for (const t of v.after) table.addResourceDependency(t);
    this.views[v.name] = table;
    return table;
  }

  /** The commit records: partitioned by category and account, one small JSON file per window. */
  private windowsTable(accounts: readonly string[]): CfnTable {
    const bucket = this.dataBucket.bucketName;
    const hive = (c: Column) => ({ name: c.name, type: hiveType(c.type), comment: c.comment });
    return new CfnTable(this, 'Table-windows', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: WINDOWS_TABLE.name,
        description: WINDOWS_TABLE.description,
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          classification: 'json',
          'projection.enabled': 'true',
          'projection.category.type': 'enum',
          'projection.category.values': CATEGORY_NAMES.join(','),
          'projection.account.type': 'enum',
          'projection.account.values': accounts.join(','),
          'storage.location.template': windowsLocationTemplate(bucket, this.prefix),
        },
        partitionKeys: WINDOWS_TABLE.partitions.map(hive),
        storageDescriptor: {
          location: windowsTableLocation(bucket, this.prefix),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          columns: WINDOWS_TABLE.columns.map(hive),
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            parameters: { 'case.insensitive': 'false', 'ignore.malformed.json': 'false' },
          },
        },
      },
    });
  }

  /**
   * Lets a role or user run queries in the workgroup: Athena on the workgroup, Glue reads on the
   * database and its tables, reads of the lake's prefix and read/write of the results bucket.
   */
  grantQuery(grantee: IGrantable): Grant {
    const region = Aws.REGION;
    const account = Aws.ACCOUNT_ID;
    const partition = Aws.PARTITION;
    Grant.addToPrincipal({
      grantee,
      actions: [
        'glue:GetDatabase',
        'glue:GetTable',
        'glue:GetTables',
        'glue:GetPartition',
        'glue:GetPartitions',
      ],
      resourceArns: [
        `arn:${partition}:glue:${region}:${account}:catalog`,
        `arn:${partition}:glue:${region}:${account}:database/${this.databaseName}`,
        `arn:${partition}:glue:${region}:${account}:table/${this.databaseName}/*`,
      ],
    });
    this.dataBucket.grantRead(grantee, `${rootOf(this.prefix)}*`);
    this.resultsBucket.grantReadWrite(grantee);
    return Grant.addToPrincipal({
      grantee,
      actions: [
        'athena:StartQueryExecution',
        'athena:StopQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:GetWorkGroup',
        'athena:ListNamedQueries',
        'athena:GetNamedQuery',
        'athena:BatchGetNamedQuery',
      ],
      resourceArns: [`arn:${partition}:athena:${region}:${account}:workgroup/${this.workGroupName}`],
    });
  }
}
