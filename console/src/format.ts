// How numbers, times and money read in the console.

export function count(value: number): string {
  return value.toLocaleString("en-US");
}

export function time(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function bytes(value: number): string {
  return value >= 1 << 20 ? `${(value / (1 << 20)).toFixed(0)} MiB` : `${(value / 1024).toFixed(0)} KiB`;
}

/** Minor units (cents) as an amount with its currency code. */
export function money(minor: number, currency: string): string {
  return `${(minor / 100).toFixed(2)} ${currency}`;
}

export function percent(basisPoints: number): string {
  return `${(basisPoints / 100).toFixed(2)} %`;
}

export function thisMonth(): string {
  return new Date().toISOString().slice(0, 7);
}
