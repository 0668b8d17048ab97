/**
 * Whether every topic matched by the filter `requested` is also matched by the filter `allowed`
 * (MQTT 3.1.1 §4.7 wildcards). Used to check a read-only client's subscription against its grants.
 */
export function filterCovers(allowed: string, requested: string): boolean {
  const a = allowed.split('/');
  const r = requested.split('/');
  for (let i = 0; i < a.length; i++) {
    const al = a[i]!;
    if (al === '#') return true;
    const rl = r[i];
    if (rl === undefined) return false;
    if (rl === '#') return false; // requested reaches deeper than a non-# grant at this level
    if (al === '+') continue;
    if (rl === '+' || rl !== al) return false;
  }
  return r.length === a.length;
}
