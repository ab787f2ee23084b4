// Password hashing with Node's scrypt (no native dependency). Stored as
// `scrypt$N$r$p$salt$hash` (base64url), so the cost can be raised later without breaking old hashes.
//
// The asynchronous scrypt runs on libuv's thread pool (4 threads by default), which the rest of
// the process shares (DNS lookups of branch calls, file access). A burst of logins must not fill
// it: at most `hashConcurrency` hashes run at once (`Dashboard.LoginHashConcurrency`), the others
// wait in line here (docs/security.md, "Dashboard").
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

let limit = 2;
let running = 0;
const waiting: Array<() => void> = [];
let evaluated = 0;

/** How many scrypt hashes may run at once in this process (the dashboard sets it at start). */
export function setHashConcurrency(n: number): void {
  limit = Math.max(1, Math.floor(n));
  while (running < limit && waiting.length) {
    running++;
    waiting.shift()!();
  }
}

/** Password hashes computed by this process so far (for tests and metrics). */
export function hashesEvaluated(): number {
  return evaluated;
}

async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running < limit) running++;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    evaluated++;
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  withSlot(() => new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)))));

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
