// Live charts of one plugin from the host's meters, polled every two seconds:
// events handled per second, on-event latency p50/p99, backlog.

import { useEffect, useRef, useState } from "preact/hooks";
import { Chart } from "../chart";
import type { Context } from "../main";
import { type Point, points } from "../metrics";
import type { MeterSnapshot } from "../types";
import { message } from "../ui";

const EVERY_MS = 2000;
/** Two minutes of points. */
const SLOTS = 60;

export function LiveCharts({ context, id }: { context: Context; id: string }) {
  const [series, setSeries] = useState<Point[]>([]);
  const [error, setError] = useState<string>();
  const previous = useRef<MeterSnapshot | undefined>(undefined);
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const snapshot = await context.api.get<MeterSnapshot>("/v1/metrics/plugins");
        if (stopped) return;
        if (previous.current) {
          const point = points(previous.current, snapshot).get(id);
          if (point) setSeries((old) => [...old, point].slice(-SLOTS));
        }
        previous.current = snapshot;
        setError(undefined);
      } catch (failure) {
        if (!stopped) setError(message(failure));
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), EVERY_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [context, id]);
  return (
    <section aria-label="Live" class="charts">
      <h2>Live</h2>
      {error && <p class="error">{error}</p>}
      <div class="chart-row">
        <Chart title="Events handled" slots={SLOTS} series={[{ name: "now", unit: "/s", values: series.map((p) => p.events_per_s) }]} />
        <Chart
          title="on-event latency"
          slots={SLOTS}
          series={[
            { name: "p50", unit: "ms", values: series.map((p) => p.p50_ms) },
            { name: "p99", unit: "ms", values: series.map((p) => p.p99_ms) },
          ]}
        />
        <Chart title="Backlog" slots={SLOTS} series={[{ name: "events", unit: "", values: series.map((p) => p.backlog) }]} />
      </div>
    </section>
  );
}
