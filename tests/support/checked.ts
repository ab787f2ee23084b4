// Checked reads for test code: a missing element or record fails the test with a message that says
// what was missing, instead of a TypeError on `undefined` (or a later assertion passing on it).

/** `xs[i]`, or a thrown error when `xs` has no element `i`. */
export function nth<T>(xs: readonly T[], i: number): T {
  if (i < 0 || i >= xs.length) throw new Error(`expected an element ${i}, found ${xs.length}`);
  return xs[i] as T;
}

/** `v`, or a thrown error naming `what` when it is null or undefined. */
export function present<T>(v: T | null | undefined, what: string): T {
  if (v === null || v === undefined) throw new Error(`expected ${what}, found ${String(v)}`);
  return v;
}
