// A small line chart in SVG: one or two series over time, its latest values in
// text beside it (and in its accessible name) so it reads without seeing the lines.

export interface Series {
  name: string;
  values: (number | null)[];
  unit: string;
}

const WIDTH = 320;
const HEIGHT = 96;

function path(values: (number | null)[], max: number, slots: number): string {
  let d = "";
  values.forEach((value, index) => {
    if (value === null) return;
    const x = (index / Math.max(1, slots - 1)) * WIDTH;
    const y = HEIGHT - (value / max) * (HEIGHT - 4) - 2;
    d += `${d && values[index - 1] !== null ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)} `;
  });
  return d.trim();
}

function latest(series: Series): string {
  const value = [...series.values].reverse().find((v) => v !== null);
  if (value === undefined || value === null) return `${series.name}: –`;
  const shown =
    Number.isInteger(value) || value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(value >= 10 ? 1 : 2);
  return `${series.name}: ${shown} ${series.unit}`;
}

export function Chart({ title, series, slots }: { title: string; series: Series[]; slots: number }) {
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null)));
  const summary = series.map(latest).join(", ");
  return (
    <figure class="chart" data-chart={title}>
      <figcaption>
        <strong>{title}</strong>
        <span data-testid="latest">{summary}</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${title}: ${summary}`} preserveAspectRatio="none">
        <line x1="0" y1={HEIGHT - 1} x2={WIDTH} y2={HEIGHT - 1} class="axis" />
        {series.map((s, index) => (
          <path key={s.name} d={path(s.values, max, slots)} class={`series series-${index}`} />
        ))}
      </svg>
    </figure>
  );
}
