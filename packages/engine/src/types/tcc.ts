// TCC (docs/protocol/transactions.md §4.4): the client calls each branch's try itself and
// registers its confirm and cancel URLs; the coordinator confirms every branch once submitted, or
// cancels every branch once aborting, last registered first. A branch is confirmed or cancelled
// once: only prepared branches are called.
import { checkBranchUrl, REGISTERED_URL_PROTOCOL } from '../checks.ts';
import { Status } from '../status.ts';
import { Op } from '../model.ts';
import { twoPhaseType } from './two-phase.ts';

export const tcc = twoPhaseType({
  name: 'tcc',
  forward: Op.Confirm,
  backward: Op.Cancel,
  reverse: true,
  pending: (s) => s === Status.Prepared,
  urls(reg, rules) {
    const cancel = reg.data.cancel ?? '';
    const confirm = reg.data.confirm ?? '';
    checkBranchUrl('cancel', cancel, REGISTERED_URL_PROTOCOL, rules);
    checkBranchUrl('confirm', confirm, REGISTERED_URL_PROTOCOL, rules);
    return { forward: confirm, backward: cancel };
  },
  explain: 'It goes to aborting: every registered branch is cancelled, then it ends failed. Refused if a confirm already succeeded.',
});
