// XA (docs/protocol/transactions.md §4.5): each branch runs its local XA transaction in the client
// and registers one URL; the coordinator calls it with op=commit for every branch once
// submitted, or op=rollback once aborting, first registered first. Calls are POSTs even without
// a payload, like dtm's.
import { checkBranchUrl, REGISTERED_URL_PROTOCOL } from '../checks.ts';
import { Status } from '../status.ts';
import { Op } from '../model.ts';
import { twoPhaseType } from './two-phase.ts';

export const xa = twoPhaseType({
  name: 'xa',
  forward: Op.Commit,
  backward: Op.Rollback,
  reverse: false,
  pending: (s) => s !== Status.Succeed,
  urls(reg, rules) {
    const url = reg.data.url ?? '';
    checkBranchUrl('url', url, REGISTERED_URL_PROTOCOL, rules);
    return { forward: url, backward: url };
  },
  postWithoutPayload: true,
  explain: 'It goes to aborting: every registered branch is rolled back, then it ends failed. Refused if a commit already succeeded.',
});
