/**
 * The emulated fleet's gateway sending its request events to the gateway's SQS queue, as a
 * gateway batching its sends would: up to 500 events per message, 10 messages per call.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { GatewayEvent } from '../lib/gateway/events.js';

const EVENTS_PER_MESSAGE = 500;

/** Sends the events; returns how many messages carried them. */
export async function sendGatewayEvents(
  sqs: Pick<SQSClient, 'send'>,
  queueUrl: string,
  events: readonly GatewayEvent[],
): Promise<number> {
  const bodies: string[] = [];
  for (let i = 0; i < events.length; i += EVENTS_PER_MESSAGE)
    bodies.push(JSON.stringify(events.slice(i, i + EVENTS_PER_MESSAGE)));
  for (let i = 0; i < bodies.length; i += 10) {
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: String(j), MessageBody })),
      }),
    );
    if (out.Failed?.length)
      throw new Error(`gateway events not sent: ${out.Failed[0]!.Message ?? out.Failed[0]!.Code}`);
  }
  return bodies.length;
}
