import { ArgumentsHost, Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Nest's default RPC filter turns any handler error into a generic
 * "Internal server error"; the consumer pipeline needs the original error to
 * decide between retrying and dead-lettering (PermanentEventError).
 */
@Catch()
export class RethrowHandlerErrors implements RpcExceptionFilter {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}
