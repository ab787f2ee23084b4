// Statement texts built once (values.ts): a text is built the first time its shape is asked for
// and the same string is handed out after, and no two shapes share a text. The statements
// themselves run against real databases in store.test.ts.
import { describe, expect, it } from 'vitest';
import { assembled, byRowCount, KEPT_ROW_COUNTS, newTextCache } from '../src/values.ts';

describe('statement texts', () => {
  it('assembles each sequence of fragments once, and never hands one sequence another text', () => {
    const cache = newTextCache();
    const builds: string[] = [];
    const text = (parts: string[]) =>
      assembled(cache, parts, () => {
        const t = parts.join('|');
        builds.push(t);
        return t;
      });
    const ab = text(['a', 'b']);
    expect(ab).toBe('a|b');
    expect(text(['a', 'b'])).toBe(ab);
    // A prefix, an extension and the same characters split differently are other statements.
    expect(text(['a'])).toBe('a');
    expect(text(['a', 'b', 'c'])).toBe('a|b|c');
    expect(text(['ab'])).toBe('ab');
    // The same last fragments after a different first one (an UPDATE's SET list, then its WHERE).
    expect(text(['x', 'b'])).toBe('x|b');
    expect(text(['a', 'b'])).toBe('a|b');
    expect(builds).toEqual(['a|b', 'a', 'a|b|c', 'ab', 'x|b']);
  });

  it('builds a text per row count once', () => {
    let built = 0;
    const rows = byRowCount((n) => {
      built++;
      return `VALUES ${new Array<string>(n).fill('(?)').join(', ')}`;
    });
    expect(rows(2)).toBe('VALUES (?), (?)');
    expect(rows(1)).toBe('VALUES (?)');
    expect(rows(2)).toBe('VALUES (?), (?)');
    expect(built).toBe(2);
    // Past KEPT_ROW_COUNTS a text is built for its call and not kept (a huge saga's once).
    expect(rows(KEPT_ROW_COUNTS + 1)).toBe(rows(KEPT_ROW_COUNTS + 1));
    expect(built).toBe(4);
  });
});
