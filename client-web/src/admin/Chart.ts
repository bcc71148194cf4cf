/**
 * One live chart (uPlot): time on x, a few series on one y scale, redrawn every second with the
 * last minutes. It follows its container's width.
 */
import uPlot from "uplot";
import { el } from "../ui/dom";
import type { Columns } from "./Series";

export interface ChartLine {
  readonly label: string;
  readonly color: string;
  /** Dashes, e.g. [4, 4], for a line drawn under another. */
  readonly dash?: number[];
}

export interface ChartOptions {
  readonly title: string;
  /** data-testid of the chart's box. */
  readonly testId: string;
  readonly lines: readonly ChartLine[];
  /** How a y value is written (axis and legend). */
  readonly format: (value: number) => string;
}

const HEIGHT = 180;
const AXIS = "#8a97b3";
const GRID = "#24304a";

export class Chart {
  readonly element: HTMLElement;
  private readonly plot: uPlot;
  private readonly resize: ResizeObserver;

  constructor(options: ChartOptions) {
    const box = el("div", { class: "chart-plot" });
    this.element = el("section", { class: "chart", "data-testid": options.testId }, el("h3", {}, options.title), box);
    const format = options.format;
    const axis = (values?: uPlot.Axis["values"]): uPlot.Axis => ({
      stroke: AXIS,
      grid: { stroke: GRID, width: 1 },
      ticks: { stroke: GRID, width: 1 },
      ...(values ? { values, size: 70 } : {}),
    });
    const opts: uPlot.Options = {
      width: 400,
      height: HEIGHT,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      series: [
        { label: "time" },
        ...options.lines.map((line): uPlot.Series => ({
          label: line.label,
          stroke: line.color,
          width: 1.5,
          value: (_u, v) => (v === null || v === undefined ? "—" : format(v)),
        })),
      ],
      axes: [axis(), axis((_u, splits) => splits.map((v) => format(v)))],
    };
    const empty: uPlot.AlignedData = [[], ...options.lines.map(() => [])];
    this.plot = new uPlot(opts, empty, box);
    this.resize = new ResizeObserver(() => {
      const width = Math.floor(box.clientWidth);
      if (width > 0 && width !== this.plot.width) this.plot.setSize({ width, height: HEIGHT });
    });
    this.resize.observe(box);
  }

  /** Draws these columns. */
  setData(columns: Columns): void {
    this.plot.setData(columns);
  }

  /** Points drawn, and each series' newest value (for the browser tests). */
  points(): { readonly count: number; readonly last: readonly (number | null)[] } {
    const [x, ...ys] = this.plot.data;
    const n = x.length;
    return { count: n, last: ys.map((y) => (n > 0 ? (y[n - 1] ?? null) : null)) };
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot.destroy();
  }
}
