import type { DescribeStacksCommandOutput, StackStatus } from '@aws-sdk/client-cloudformation';

/** What DescribeStacks answers for the stack DatadogUsageLake with these outputs. */
export function stackAnswer(
  outputs: Record<string, string>,
  status: StackStatus = 'CREATE_COMPLETE',
  created = new Date(),
): Pick<DescribeStacksCommandOutput, 'Stacks'> {
  return {
    Stacks: [
      {
        StackName: 'DatadogUsageLake',
        CreationTime: created,
        StackStatus: status,
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  };
}
