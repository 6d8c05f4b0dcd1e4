import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type MathExpression,
  Metric,
  SingleValueWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type Subscription, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { CategoryName } from '../../lambdas/categories.ts';
import {
  type CategoryMetric,
  DIMENSION,
  METRICS_NAMESPACE,
  type MetricName,
  type RunMetric,
} from '../../lambdas/shared/metrics.ts';
import type { PhysicalNames } from '../names.ts';

export interface ObservabilityProps {
  stateMachine: StateMachine;
  functions: Record<string, IFunction>;
  categories: CategoryName[];
  deadLetterQueue?: IQueue;
  alarmEmail?: string;
  /** Encrypts the alarm topic; the stack's alarms are allowed to use it. */
  key: IKey;
  names: Pick<PhysicalNames, 'alarmPrefix' | 'dashboard' | 'metricsService'>;
}

/** Alarms to an SNS topic and a dashboard: runs, records per category, throttles, duration. */
export class Observability extends Construct {
  readonly topic: Topic;
  /** Subscriptions to the alarm topic (e-mail). */
  readonly subscriptions: Subscription[] = [];
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Alarms', { masterKey: props.key, enforceSSL: true });
    // A topic policy replaces SNS's default one: CloudWatch must be allowed to publish, and only for
    // this stack's alarms (named with its prefix, in its account); likewise on the topic's key.
    const stack = Stack.of(this);
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: `${props.names.alarmPrefix}*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    const cloudwatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowThisStacksAlarms',
        principals: [cloudwatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromOurAlarms,
      }),
    );
    props.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowThisStacksAlarmsOnTheTopic',
        principals: [cloudwatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );
    if (props.alarmEmail)
      this.subscriptions.push(this.topic.addSubscription(new EmailSubscription(props.alarmEmail)));
    const action = new SnsAction(this.topic);
    // The functions' metrics, by name from the one list (lambdas/shared/metrics.ts), in this stack's service.
    const lake = (
      name: MetricName,
      options: { statistic: string; period: Duration; category?: CategoryName },
    ) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: {
          [DIMENSION.service]: props.names.metricsService,
          ...(options.category ? { [DIMENSION.category]: options.category } : {}),
        },
        statistic: options.statistic,
        period: options.period,
        ...(options.category ? { label: options.category } : {}),
      });
    const run = (name: RunMetric, period: Duration) => lake(name, { statistic: 'Sum', period });
    const sm = props.stateMachine;
    const alarm = (id: string, metric: Metric | MathExpression, description: string) => {
      const a = new Alarm(this, id, {
        alarmName: `${props.names.alarmPrefix}${id}`,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(action);
      this.alarms.push(a);
    };
    alarm(
      'ExecutionsFailed',
      sm.metricFailed({ period: Duration.minutes(5) }),
      'A pipeline execution failed',
    );
    alarm(
      'ExecutionsTimedOut',
      sm.metricTimedOut({ period: Duration.minutes(5) }),
      'A pipeline execution timed out',
    );
    alarm(
      'WindowsFailed',
      run('FailedWindows', Duration.minutes(5)),
      'A run ended E_FAIL: some windows failed (see the run output and its details_url)',
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(
        `Errors-${name}`,
        fn.metricErrors({ period: Duration.minutes(5) }),
        `The ${name} function threw errors`,
      );
    }
    if (props.deadLetterQueue) {
      alarm(
        'ScheduleDeadLetters',
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
        'A scheduled start could not start the state machine',
      );
    }

    const perCategory = (name: CategoryMetric, statistic = 'Sum') =>
      props.categories.map((category) => lake(name, { statistic, period: Duration.hours(1), category }));
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: props.names.dashboard });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Runs',
        left: [sm.metricStarted(), sm.metricSucceeded(), sm.metricFailed(), sm.metricTimedOut()],
        width: 12,
      }),
      new GraphWidget({
        title: 'Run duration (ms)',
        left: [sm.metricTime({ statistic: 'Maximum' })],
        width: 12,
      }),
      new GraphWidget({
        title: 'Records per category',
        left: perCategory('Records'),
        stacked: true,
        width: 12,
      }),
      new GraphWidget({
        title: 'Rate-limit throttles per category',
        left: perCategory('Throttles'),
        width: 12,
      }),
      new GraphWidget({
        title: 'Pages and retries per category',
        left: perCategory('Pages'),
        right: perCategory('Retries'),
        width: 12,
      }),
      new SingleValueWidget({
        title: 'Failed windows (last run period)',
        metrics: [run('FailedWindows', Duration.days(1))],
        width: 12,
      }),
    );
  }
}
