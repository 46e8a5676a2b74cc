// Live per-plugin figures from two consecutive meter snapshots of the host: rates
// from counter differences, latency quantiles from the histogram buckets filled
// between them (so a chart shows the last interval, not the average since start).

import type { CallHistogram, MeterSnapshot } from "./types";

export interface Point {
  time_ms: number;
  events_per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  backlog: number;
}

/** The `q` quantile (0–1) of the calls counted in `counts` over `bounds_s`, in ms:
 * the upper bound of the bucket holding it (the overflow bucket reports the last
 * bound), or null when no call was counted. */
export function quantile_ms(histogram: CallHistogram, q: number): number | null {
  const total = histogram.counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let index = 0; index < histogram.counts.length; index++) {
    seen += histogram.counts[index] ?? 0;
    if (seen >= rank) {
      const bound = histogram.bounds_s[Math.min(index, histogram.bounds_s.length - 1)] ?? 0;
      return bound * 1000;
    }
  }
  return null;
}

/** Counts added to `after` since `before` (a restarted counter counts from zero). */
export function difference(before: CallHistogram | undefined, after: CallHistogram): CallHistogram {
  const counts = after.counts.map((count, index) => {
    const earlier = before?.counts[index] ?? 0;
    return count >= earlier ? count - earlier : count;
  });
  return { bounds_s: after.bounds_s, counts };
}

/** One chart point per plugin for the interval between two snapshots. */
export function points(before: MeterSnapshot, after: MeterSnapshot): Map<string, Point> {
  const seconds = Math.max(0.001, (after.time_ms - before.time_ms) / 1000);
  const earlier = new Map(before.plugins.map((plugin) => [plugin.id, plugin]));
  const result = new Map<string, Point>();
  for (const plugin of after.plugins) {
    const previous = earlier.get(plugin.id);
    const handled = plugin.delivered - (previous?.delivered ?? plugin.delivered);
    const calls = difference(previous?.event_calls, plugin.event_calls);
    result.set(plugin.id, {
      time_ms: after.time_ms,
      events_per_s: Math.max(0, handled) / seconds,
      p50_ms: quantile_ms(calls, 0.5),
      p99_ms: quantile_ms(calls, 0.99),
      backlog: plugin.lag,
    });
  }
  return result;
}
