/**
 * EvaluationTrigger on AWS Lambda: invokes the evaluate function asynchronously (InvocationType
 * Event) with the scheduled event's shape, so it runs the same code as a scheduled evaluation.
 * With evaluate's reserved concurrency of 1 it may wait behind a scheduled run: Lambda's
 * asynchronous queue holds it (within evaluate's maximum event age).
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { EvaluationTrigger } from '../../gateway/ports.js';

export type LambdaInvoker = Pick<LambdaClient, 'send'>;

export class LambdaEvaluationTrigger implements EvaluationTrigger {
  constructor(
    private readonly lambda: LambdaInvoker,
    private readonly functionName: string,
  ) {}

  async trigger(pool: string, reason: string): Promise<void> {
    const out = await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify({ pool, trigger: reason })),
      }),
    );
    // 202: accepted into the function's asynchronous queue
    if (out.StatusCode !== 202) throw new Error(`invoking ${this.functionName} answered ${out.StatusCode}`);
  }
}
