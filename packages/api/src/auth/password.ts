// Password hashing with Node's scrypt (no native dependency). Stored as
// `scrypt$N$r$p$salt$hash` (base64url), so the cost can be raised later without breaking old hashes.
//
// The asynchronous scrypt runs on libuv's thread pool (4 threads by default), which the rest of
// the process shares (DNS lookups of branch calls, file access). A burst of logins must not fill
// it: at most `Dashboard.LoginHashConcurrency` hashes run at once, the others wait in line here
// (docs/security.md, "Dashboard").
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Gate } from './gate.ts';

const hashing = new Gate(2);
/** Whole login checks (limits, lookup, hash, audit) at once: twice the hashes, so hashing stays busy. */
export const logins = new Gate(4);
let evaluated = 0;

/** How many scrypt hashes may run at once in this process (the dashboard sets it at start). */
export function setHashConcurrency(n: number): void {
  hashing.setLimit(n);
  logins.setLimit(2 * n);
}

/** Password hashes computed by this process so far (for tests and metrics). */
export function hashesEvaluated(): number {
  return evaluated;
}

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  hashing.run(() => {
    evaluated++;
    return new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
  });

const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEYLEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A random password of 20 characters from an unambiguous alphabet (~115 bits). */
export function randomPassword(length = 20): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
