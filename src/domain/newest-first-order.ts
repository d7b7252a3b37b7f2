/**
 * The indexes of `times` (ms since the epoch) ordered newest first; equal times keep their index
 * order (a stable sort). Already newest-first input costs one pass. Otherwise a least-significant-
 * digit radix sort on 16-bit digits orders a million whole-millisecond times in a few tens of
 * milliseconds, where a comparison sort needs a second; anything unusual (fractions, spans over
 * 8,000 years) falls back to a comparison sort.
 */
export function newestFirstOrder(times: Float64Array): Uint32Array {
  const n = times.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let sorted = true;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let whole = true;
  for (let i = 0; i < n; i++) {
    const t = times[i]!;
    if (i > 0 && t > times[i - 1]!) sorted = false;
    if (t < min) min = t;
    if (t > max) max = t;
    if (!Number.isInteger(t)) whole = false;
  }
  if (sorted) return order;
  const range = max - min;
  if (!whole || !(range < 2 ** 48)) return order.sort((a, b) => times[b]! - times[a]! || a - b);

  // Sort ascending by age (max - t): newest first, and stable. The age is split into a low
  // 32-bit and a high 16-bit part that travel with the indexes, so every pass reads in order.
  let idx = order;
  let lo = new Uint32Array(n);
  let hi = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const age = max - times[i]!;
    const h = Math.floor(age / 2 ** 32);
    hi[i] = h;
    lo[i] = age - h * 2 ** 32;
  }
  let idxTo = new Uint32Array(n);
  let loTo = new Uint32Array(n);
  let hiTo = new Uint16Array(n);
  const counts = new Uint32Array(65_536);
  const passes = range < 2 ** 16 ? 1 : range < 2 ** 32 ? 2 : 3;
  for (let pass = 0; pass < passes; pass++) {
    const digit = pass === 0 ? (i: number) => lo[i]! & 0xffff : pass === 1 ? (i: number) => lo[i]! >>> 16 : (i: number) => hi[i]!;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[digit(i)]!++;
    let sum = 0;
    for (let d = 0; d < 65_536; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const at = counts[digit(i)]!++;
      idxTo[at] = idx[i]!;
      loTo[at] = lo[i]!;
      hiTo[at] = hi[i]!;
    }
    [idx, idxTo] = [idxTo, idx];
    [lo, loTo] = [loTo, lo];
    [hi, hiTo] = [hiTo, hi];
  }
  return idx;
}
