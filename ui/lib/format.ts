// Number and time formatting shared by every page (one place, so pages agree).

const MAX_DECIMALS = 6;

function finite(value: number | null | undefined): value is number {
  return value !== null && value !== undefined && Number.isFinite(value);
}

function grouped(value: number, decimals: number): string {
  return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: decimals });
}

/**
 * A dollar amount by its magnitude: cents from $1 up, three significant digits below, so a
 * non-zero amount never reads "$0.00" ($0.003, $0.0123, $0.000045). Below a millionth:
 * "<$0.000001". One formatter for cards, bars, tables, charts and tooltips.
 */
export function usd(value: number | null | undefined): string {
  if (!finite(value)) return "—";
  const sign = value < 0 ? "-" : "";
  const abs = Math.abs(value);
  if (abs === 0) return "$0.00";
  if (abs >= 1) return `${sign}$${grouped(abs, 2)}`;
  if (abs < 10 ** -MAX_DECIMALS) return `${sign}<$0.${"0".repeat(MAX_DECIMALS - 1)}1`;
  const decimals = Math.min(MAX_DECIMALS, Math.max(2, 2 - Math.floor(Math.log10(abs))));
  return `${sign}$${grouped(Number(abs.toFixed(decimals)), decimals)}`;
}

/** A cap exactly as it was set: every digit it has (up to a millionth), at least cents. */
export function usdExact(value: number | null | undefined): string {
  if (!finite(value)) return "—";
  const sign = value < 0 ? "-" : "";
  return `${sign}$${grouped(Number(Math.abs(value).toFixed(MAX_DECIMALS)), MAX_DECIMALS)}`;
}

/** $/1M token prices: as many digits as the price needs, no trailing zeros. */
export function price(value: number | null | undefined): string {
  if (!finite(value)) return "—";
  return `$${Number(value.toFixed(3))}`;
}

export function pct(value: number | null | undefined, digits = 0): string {
  if (!finite(value)) return "—";
  return `${(value * 100).toFixed(digits)}%`;
}

/**
 * `part` of `whole` as a percentage, from the counts themselves: whole numbers when they are
 * exact, else one decimal, and never "100%" or "0%" for a share that is not (123 of 124 →
 * "99.2%"). "—" when there is nothing to count.
 */
export function rate(part: number, whole: number): string {
  if (!(whole > 0)) return "—";
  const share = (part / whole) * 100;
  if (Number.isInteger(share)) return `${share}%`;
  for (const digits of [1, 2, 3]) {
    const shown = share.toFixed(digits);
    if (Number(shown) !== 100 && Number(shown) !== 0) return `${shown}%`;
  }
  return `${share.toFixed(3)}%`;
}

export function ms(value: number | null | undefined): string {
  if (!finite(value)) return "—";
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

/** Scores with the two decimals the engine's own reasons use ("score 0.84 reached …"). */
export function score(value: number | null | undefined): string {
  if (!finite(value)) return "—";
  return value.toFixed(2);
}

/** 75 → "1m 15s", 3725 → "1h 02m 05s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (h > 0) return `${h}h ${pad(m)}m ${pad(sec)}s`;
  if (m > 0) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

/** Epoch seconds → local date and time, e.g. "27 Nov 2026, 19:40". */
export function dateTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toLocaleString(undefined, {
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function clock(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toLocaleTimeString(undefined, { hour12: false });
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** First line of a description, for titles. */
export function title(text: string, max = 120): string {
  const line = text.split("\n", 1)[0]?.trim() ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
