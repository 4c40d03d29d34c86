import { BaseRpcContext } from '@nestjs/microservices';
import type { EachBatchPayload } from 'kafkajs';

/**
 * What an `@EventPattern` handler of this transport receives: one whole
 * kafkajs batch (one partition's fetched messages) as its payload, and this
 * context. Nest dispatches once per batch (its pipes, guards, interceptors
 * and filters wrap the batch, not each message); the feature decodes,
 * settles each message and resolves offsets itself. An error the handler
 * throws reaches kafkajs, which retries the batch.
 */
export class KafkaBatchContext extends BaseRpcContext<[EachBatchPayload]> {
  getBatch(): EachBatchPayload {
    return this.args[0];
  }
}
