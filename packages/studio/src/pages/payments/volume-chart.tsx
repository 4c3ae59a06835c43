import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { components } from "../../api/schema";
import { formatAmount } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";

type Volume = components["schemas"]["AdminOverview"]["volume_per_day"];

const COLOURS = ["#4f46e5", "#0e9f6e", "#d97706", "#db2777"];
const DAY_S = 86_400;

/** Every day of the window (UTC), so a day without payments is a 0, not a gap the line skips. */
function daysOf(days: number): number[] {
  const today = Math.floor(Date.now() / 1000 / DAY_S) * DAY_S;
  return Array.from({ length: days }, (_, i) => today - (days - 1 - i) * DAY_S);
}

const symbolsOf = (volume: Volume) => [...new Set(volume.map((v) => v.symbol))];

/**
 * Amount received per day, one line per token (uPlot: a canvas, so the numbers are also in the
 * table beside it for screen readers). Amounts are plotted as floats: a picture, not a ledger.
 */
export function VolumeChart({ volume, days }: { volume: Volume; days: number }) {
  const { t, language } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const symbols = symbolsOf(volume);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const symbols = symbolsOf(volume);
    const xs = daysOf(days);
    const series = symbols.map((symbol) => {
      const byDay = new Map(
        volume
          .filter((v) => v.symbol === symbol)
          .map((v) => [Date.parse(`${v.day}T00:00:00Z`) / 1000, Number(v.amount)]),
      );
      return xs.map((x) => byDay.get(x) ?? 0);
    });
    const plot = new uPlot(
      {
        width: element.clientWidth,
        height: 240,
        legend: { show: symbols.length > 1 },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [
          { stroke: "#5b6478", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#e3e8ee" } },
          {
            stroke: "#5b6478",
            grid: { stroke: "#eef0f3" },
            ticks: { stroke: "#e3e8ee" },
            size: 64,
            values: (_u, splits) => splits.map((v) => formatAmount(String(v))),
          },
        ],
        series: [
          { value: (_u, v) => (v == null ? "" : new Date(v * 1000).toLocaleDateString(language)) },
          ...symbols.map((symbol, i) => ({
            label: symbol,
            stroke: COLOURS[i % COLOURS.length],
            width: 2,
            fill: `${COLOURS[i % COLOURS.length]}1a`,
            points: { show: days <= 31 },
          })),
        ],
      },
      [xs, ...series],
      element,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: element.clientWidth, height: 240 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [volume, days, language]);
  return (
    <div
      ref={box}
      className="chart"
      role="img"
      aria-label={t("overviewChartLabel", { symbol: symbols.join(", ") })}
    />
  );
}
