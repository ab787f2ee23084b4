// Where to go after logging in (docs/security.md, "Dashboard"): `?next=` is accepted only as a
// path inside the dashboard, never as a way off it. Browsers drop tabs and newlines from URLs and
// read `\` as `/`, so `/%0A/evil.example` or `/\evil.example` would become `//evil.example`, a
// link to another host: anything with a control character, a backslash, a leading `//` or a
// scheme is refused and the dashboard's home page is used instead.

/** `next` if it is a safe same-origin path (starting with one `/`), else `/`. */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || next.length > 2000) return '/';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return '/';
  if (!next.startsWith('/') || next.startsWith('//')) return '/';
  // the path must stay on this origin once a URL parser has read it
  try {
    const u = new URL(next, 'http://dashboard.invalid');
    if (u.origin !== 'http://dashboard.invalid') return '/';
  } catch {
    return '/';
  }
  return next;
}
