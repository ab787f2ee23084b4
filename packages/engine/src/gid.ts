// Global transaction ids like dtm's: a random UUID written in base57 (22 characters).
import { randomBytes } from 'node:crypto';

const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const LENGTH = 22;

export function newGid(): string {
  let n = BigInt(`0x${randomBytes(16).toString('hex')}`);
  const base = BigInt(ALPHABET.length);
  let out = '';
  for (let i = 0; i < LENGTH; i++) {
    out = ALPHABET[Number(n % base)] + out;
    n /= base;
  }
  return out;
}
