// Saga ordering rules as pure functions over plain data (the "deciding" half of a saga pass).
//
// Branches are stored per step as (compensate, action), so position 2*s is step s's compensation
// and 2*s+1 its action. `orders[s]` lists the steps whose actions must have succeeded before step
// s may start; compensation runs the other way round.
import { Status } from '../status.ts';

export interface SagaCustom {
  concurrent: boolean;
  /** step -> prerequisite steps */
  orders: Map<number, number[]>;
}

export interface SagaState {
  custom: SagaCustom;
  /** step -> steps that list it as a prerequisite */
  dependents: Map<number, number[]>;
  /** Branch status by position. */
  status: string[];
  /** Whether this pass started the branch at that position. */
  started: boolean[];
}

/**
 * Decodes saga custom_data (`{"concurrent":true,"orders":{"2":[0,1]}}`). Keys match
 * case-insensitively like Go's JSON decoder. Throws on anything a saga pass could not use.
 */
export function parseSagaCustom(customData: string): SagaCustom {
  const custom: SagaCustom = { concurrent: false, orders: new Map() };
  if (!customData) return custom;
  const v: unknown = JSON.parse(customData);
  if (v === null) return custom;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error('saga custom_data must be a JSON object');
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    const k = key.toLowerCase();
    if (k === 'concurrent') {
      if (value !== null && typeof value !== 'boolean') throw new Error('saga custom_data.concurrent must be a boolean');
      custom.concurrent = value === true;
    } else if (k === 'orders') {
      if (value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value)) throw new Error('saga custom_data.orders must be an object');
      for (const [step, pres] of Object.entries(value as Record<string, unknown>)) {
        if (!/^-?\d+$/.test(step)) throw new Error(`saga custom_data.orders key '${step}' is not a step index`);
        if (pres !== null && !Array.isArray(pres)) throw new Error(`saga custom_data.orders['${step}'] must be an array`);
        const list = ((pres as unknown[] | null) ?? []).map((p) => {
          if (typeof p !== 'number' || !Number.isInteger(p)) {
            throw new Error(`saga custom_data.orders['${step}'] must hold step indexes`);
          }
          return p;
        });
        custom.orders.set(Number(step), list);
      }
    }
  }
  return custom;
}

/**
 * Orders a saga of `steps` steps can run: every step named exists, and no step waits for itself
 * through its prerequisites (without `concurrent`, each step also waits for the one before it).
 * dtm accepts either and then never calls a branch (or panics on an index out of range at every
 * pass); we refuse them. Returns `custom`.
 */
export function checkSagaOrders(custom: SagaCustom, steps: number): SagaCustom {
  const exists = (s: number) => s >= 0 && s < steps;
  const count = `(${steps} step${steps === 1 ? '' : 's'})`;
  for (const [step, pres] of custom.orders) {
    if (!exists(step)) throw new Error(`saga orders: step ${step} has orders but does not exist ${count}`);
    for (const pre of pres) {
      if (!exists(pre)) throw new Error(`saga orders: step ${step} depends on step ${pre}, which does not exist ${count}`);
    }
  }
  const waitsFor = (s: number): number[] => [...(custom.orders.get(s) ?? []), ...(!custom.concurrent && s > 0 ? [s - 1] : [])];
  // Depth-first search; a step met again while still on the path closes a cycle.
  const state = new Array<'new' | 'open' | 'done'>(steps).fill('new');
  const path: number[] = [];
  const visit = (s: number): number[] | null => {
    state[s] = 'open';
    path.push(s);
    for (const pre of waitsFor(s)) {
      if (state[pre] === 'open') return [...path.slice(path.indexOf(pre)), pre];
      if (state[pre] === 'new') {
        const cycle = visit(pre);
        if (cycle) return cycle;
      }
    }
    path.pop();
    state[s] = 'done';
    return null;
  };
  for (let s = 0; s < steps; s++) {
    const cycle = state[s] === 'new' ? visit(s) : null;
    if (!cycle) continue;
    const implicit = !custom.concurrent && cycle.some((x, i) => i > 0 && cycle[i - 1] === x + 1 && !(custom.orders.get(x + 1) ?? []).includes(x));
    const note = implicit ? ' (without concurrent, each step also waits for the step before it)' : '';
    throw new Error(`saga orders contain a cycle: ${cycle.join(' -> ')}${note}`);
  }
  return custom;
}

export function newSagaState(custom: SagaCustom, statuses: string[]): SagaState {
  const dependents = new Map<number, number[]>();
  for (const [step, pres] of custom.orders) {
    for (const pre of pres) dependents.set(pre, [...(dependents.get(pre) ?? []), step]);
  }
  return { custom, dependents, status: [...statuses], started: statuses.map(() => false) };
}

/** Whether the action at `pos` may start: previous step done (sequential) and prerequisites done. */
function mayRun(s: SagaState, pos: number): boolean {
  if (!s.custom.concurrent && pos >= 2 && s.status[pos - 2] !== Status.Succeed) return false;
  for (const pre of s.custom.orders.get(Math.floor(pos / 2)) ?? []) {
    if (s.status[pre * 2 + 1] !== Status.Succeed) return false;
  }
  return true;
}

/** Compensation at `pos` is done, or there is nothing to undo (its action never ran). */
function rolledBack(s: SagaState, pos: number): boolean {
  return s.status[pos] === Status.Succeed || s.status[pos + 1] === Status.Prepared;
}

function mayRollback(s: SagaState, pos: number): boolean {
  if (rolledBack(s, pos)) return false;
  const n = s.status.length;
  if (!s.custom.concurrent && pos < n - 2 && !rolledBack(s, pos + 2)) return false;
  for (const next of s.dependents.get(Math.floor(pos / 2)) ?? []) {
    if (!rolledBack(s, next * 2)) return false;
  }
  return true;
}

/** Positions of the actions to start now, in step order. */
export function pickActions(s: SagaState): number[] {
  const out: number[] = [];
  for (let pos = 1; pos < s.status.length; pos += 2) {
    if (!s.started[pos] && s.status[pos] === Status.Prepared && mayRun(s, pos)) out.push(pos);
  }
  return out;
}

/** Positions of the compensations to start now, last step first. */
export function pickCompensations(s: SagaState): number[] {
  const out: number[] = [];
  for (let pos = s.status.length - 2; pos >= 0; pos -= 2) {
    if (!s.started[pos] && s.status[pos] === Status.Prepared && mayRollback(s, pos)) out.push(pos);
  }
  return out;
}

/**
 * Before compensating: actions that are eligible now or were started by this pass without a
 * recorded result may have executed, so they count as run (their compensation is due). Returns
 * how many compensations must succeed for the saga to end `failed`.
 */
export function prepareToCompensate(s: SagaState): number {
  for (const pos of pickActions(s)) s.started[pos] = true;
  for (let pos = 1; pos < s.status.length; pos += 2) {
    if (s.started[pos] && s.status[pos] === Status.Prepared) s.status[pos] = Status.Succeed;
  }
  let toCompensate = 0;
  for (let pos = 0; pos < s.status.length; pos += 2) {
    if (s.status[pos] !== Status.Succeed && s.status[pos + 1] !== Status.Prepared) toCompensate++;
  }
  return toCompensate;
}
