// What an error looks like to a caller (docs/security.md, "Dashboard"): invalid input as
// sentences ("Password must be at least 8 characters."), and, outside development mode, no stack
// traces, file paths or driver messages: an unexpected error is "internal error" and the details
// go to the server log only.
import { z } from 'zod';

/** Development mode (`--dev`, NODE_ENV=development): errors keep their stack for the developer. */
export const isDevelopment = () => process.env.NODE_ENV === 'development';

const LABELS: Record<string, string> = {
  next: 'New password',
  current: 'Current password',
  gid: 'Gid',
  gids: 'Gids',
  confirmGid: 'Confirm gid',
  branchUrl: 'Branch URL',
};

function labelOf(path: readonly PropertyKey[]): string {
  const last = [...path].reverse().find((p) => typeof p === 'string');
  if (last === undefined) return 'The input';
  const known = LABELS[last];
  if (known) return known;
  const words = last.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function complaint(issue: z.core.$ZodIssue): string {
  // our schemas' own messages are written to follow the field's name ("must be ...")
  if (/^(must|may|is|should|contains)\b/.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'string') return `must be at least ${String(issue.minimum)} characters`;
      if (issue.origin === 'array') return `must have at least ${String(issue.minimum)} entries`;
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters`;
      if (issue.origin === 'array') return `must have at most ${String(issue.maximum)} entries`;
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be a ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      return `is not a valid ${issue.format}`;
    case 'unrecognized_keys':
      return `has unknown fields: ${issue.keys.join(', ')}`;
    default:
      return issue.message;
  }
}

/** A zod error as one or more sentences naming the fields. */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${labelOf(i.path)} ${complaint(i)}.`).join(' ');
}
