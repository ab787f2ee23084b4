// The transaction types dtx knows, by the name clients send as trans_type. Adding a type means
// adding its module beside this file and one line here.
import { badRequest } from '../errors.ts';
import type { ServerTiming } from '../schedule.ts';
import type { TransOptions } from '../model.ts';
import type { TransTypeModule } from './module.ts';
import { msg } from './msg.ts';
import { saga } from './saga.ts';
import { tcc } from './tcc.ts';
import { workflow } from './workflow.ts';
import { xa } from './xa.ts';

const MODULES: readonly TransTypeModule[] = [saga, msg, tcc, xa, workflow];
const BY_NAME = new Map(MODULES.map((m) => [m.name, m]));

/** Every type name, in dtm's order. */
export const TRANS_TYPES: readonly string[] = MODULES.map((m) => m.name);

/** The module of a type, or undefined for a name no module has. */
export function findTransType(name: string): TransTypeModule | undefined {
  return BY_NAME.get(name);
}

/** The module of a type; a name no module has is the client's error (dtm: "unknow trans type"). */
export function transTypeOf(name: string): TransTypeModule {
  const m = BY_NAME.get(name);
  if (!m) throw badRequest(`unknow trans type: ${name}`);
  return m;
}

/** Whether a transaction of this type, created at `createTime`, has timed out at `now`. */
export function isTimedOut(transType: string, o: TransOptions, server: ServerTiming, createTime: Date, now: Date): boolean {
  const limit = transTypeOf(transType).timeoutLimit(o, server);
  if (limit <= 0) return false;
  return now.getTime() - createTime.getTime() >= limit * 1000;
}
