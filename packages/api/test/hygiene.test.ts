// Where login may send the browser (src/next-path.ts) and how invalid input is described
// (src/errors.ts).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeZodError, safeNextPath } from '@dtx/api';

describe('the next= path after login', () => {
  it.each([
    '/\n/evil.example/',
    '/\t/evil.example/',
    '/\r/evil.example/',
    '//evil.example/',
    '/\\evil.example/',
    '/x\\..\\..\\evil',
    'https://evil.example/',
    'https:evil.example',
    'javascript:alert(1)',
    'evil.example',
    '',
    '/\u0000/x',
  ])('refuses %j', (next) => {
    expect(safeNextPath(next)).toBe('/');
  });

  it('keeps paths of the dashboard, with their query', () => {
    expect(safeNextPath('/transactions?status=failed&gid=a%2Fb')).toBe('/transactions?status=failed&gid=a%2Fb');
    expect(safeNextPath('/transactions/order-1')).toBe('/transactions/order-1');
    expect(safeNextPath(null)).toBe('/');
  });
});

describe('validation errors as sentences', () => {
  const schema = z.object({
    username: z.string().min(1).max(5),
    password: z.string().min(8, 'must be at least 8 characters'),
    role: z.enum(['viewer', 'admin']),
    confirmGid: z.string(),
    limit: z.number().max(100),
  });

  it('names each field and says what is wrong with it', () => {
    const r = schema.safeParse({ username: 'toolong', password: 'x', role: 'boss', limit: 1000 });
    expect(r.success).toBe(false);
    expect(describeZodError(r.error!)).toBe(
      'Username must be at most 5 characters. Password must be at least 8 characters. Role must be one of viewer, admin. Confirm gid is required. Limit must be at most 100.',
    );
  });
});
