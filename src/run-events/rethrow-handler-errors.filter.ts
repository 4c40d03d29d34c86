import { ArgumentsHost, Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Nest's default RPC filter turns any handler error into a generic
 * "Internal server error"; kafkajs needs the batch's original error (a
 * rebalance under way, say) to act on it.
 */
@Catch()
export class RethrowHandlerErrors implements RpcExceptionFilter {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
