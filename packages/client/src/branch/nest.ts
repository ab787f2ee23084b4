// Branch handlers for NestJS (docs/client/branches.md "NestJS"), published as `@dtx/client/nest`
// so that the main entry never loads Nest: `@DtmBranch()` gives a handler its branch request
// (identity from the query, payload, barrier) and `DtmInterceptor` turns the handler's outcome
// into dtm's answer (docs/protocol/http-api.md §2), on Nest's Express and Fastify platforms
// alike. @nestjs/common and rxjs are optional peer dependencies.
import {
  HttpCode,
  HttpException,
  UseInterceptors,
  createParamDecorator,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, map, type Observable } from 'rxjs';
import { answerOf, branchRequest, type BranchRequest, type Query } from './context.js';

interface NestHttpRequest {
  query?: unknown;
  body?: unknown;
}

/**
 * The branch request of this call: `handler(@DtmBranch() b: BranchRequest<Request>)`. A request
 * without gid / trans_type / branch_id / op is answered 400 by DtmInterceptor, before the handler runs.
 */
export const DtmBranch: () => ParameterDecorator = createParamDecorator((_data: unknown, ctx: ExecutionContext): BranchRequest<unknown> => {
  const req = ctx.switchToHttp().getRequest<NestHttpRequest>();
  return branchRequest(req, req.query as Query, req.body);
});

/**
 * Answers dtm's protocol for the handlers it applies to (`@UseInterceptors(DtmInterceptor)` on a
 * controller or a route, or `@DtmRoute()`): a returned value → 200 (nothing: `{"dtm_result":"SUCCESS"}`),
 * `Failure` → 409, `Ongoing` → 425, another error → 500, an incomplete branch identity → 400.
 */
export class DtmInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      // The status of a success is the route's: DtmRoute() makes it 200 (dtm counts only 200 as
      // SUCCESS, docs/protocol/branch-calls.md §4; Nest answers POST with 201 by default).
      map((value: unknown) => answerOf({ value }).body),
      catchError((error: unknown) => {
        const a = answerOf({ error });
        // Thrown as an HttpException, Nest's own exception layer writes it on every platform.
        throw new HttpException(a.body, a.status, { cause: error });
      }),
    );
  }
}

/**
 * dtm's protocol for a route handler, or for every route of a controller: DtmInterceptor, and
 * status 200 for a success (instead of Nest's 201 for POST).
 * `@Controller('api/busi') @DtmRoute() class Busi { @Post('TransIn') transIn(@DtmBranch() b: BranchRequest<Request>) {...} }`
 */
export function DtmRoute(): MethodDecorator & ClassDecorator {
  const intercept = UseInterceptors(new DtmInterceptor());
  const ok = HttpCode(200);
  return ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor && key !== undefined) {
      ok(target, key, descriptor);
      intercept(target, key, descriptor);
      return descriptor;
    }
    const proto = (target as { prototype: object }).prototype;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      if (name !== 'constructor' && typeof d?.value === 'function') ok(proto, name, d);
    }
    intercept(target as () => void);
    return undefined;
  }) as MethodDecorator & ClassDecorator;
}
