/** The server's totals: sessions, rooms, players, CPU, memory, traffic, closes and refusals. */
import { el } from "../ui/dom";
import { formatAge, formatBytes, formatCount, formatCpu, formatRate } from "./format";
import type { Labelled, Sample, Totals } from "./types";

export class TotalsView {
  readonly element: HTMLElement;
  private readonly figures: HTMLElement;
  private readonly counters: HTMLElement;

  constructor() {
    this.figures = el("div", { class: "figures" });
    this.counters = el("div", { class: "counters" });
    this.element = el("section", { class: "totals", "data-testid": "totals" }, this.figures, this.counters);
  }

  update(totals: Totals, sample: Sample): void {
    const figure = (label: string, value: string, testId: string, detail?: string): HTMLElement =>
      el(
        "div",
        { class: "figure" },
        el("div", { class: "value", "data-testid": testId }, value),
        el("div", { class: "label" }, label),
        detail ? el("div", { class: "detail" }, detail) : null,
      );
    this.figures.replaceChildren(
      figure(
        "sessions",
        formatCount(totals.sessionsOpen),
        "total-sessions",
        `${formatCount(totals.sessionsTotal)} since start`,
      ),
      figure("rooms", formatCount(totals.roomsOpen), "total-rooms"),
      figure("players", formatCount(totals.players), "total-players"),
      figure(
        "CPU (of one core)",
        formatCpu(totals.cpu),
        "total-cpu",
        totals.cpuSeconds === null ? undefined : `${totals.cpuSeconds.toFixed(1)} s used`,
      ),
      figure("resident memory", formatBytes(totals.rssBytes), "total-rss"),
      figure("in", formatRate(sample.bytesInPerS), "total-in", `${formatBytes(totals.bytesIn)} in all`),
      figure("out", formatRate(sample.bytesOutPerS), "total-out", `${formatBytes(totals.bytesOut)} in all`),
      figure("up", formatAge(totals.uptimeS), "total-uptime"),
    );
    const list = (title: string, items: readonly Labelled[], testId: string): HTMLElement => {
      const counted = items.filter((i) => i.count > 0).sort((a, b) => b.count - a.count);
      return el(
        "div",
        { class: "counter-list", "data-testid": testId },
        el("h3", {}, title),
        counted.length === 0
          ? el("p", { class: "muted" }, "none")
          : el(
              "ul",
              {},
              ...counted.map((i) =>
                el(
                  "li",
                  {},
                  el("span", { class: "count" }, formatCount(i.count)),
                  " ",
                  i.code === null ? i.label : `${i.code} ${i.label}`,
                ),
              ),
            ),
      );
    };
    const others: Labelled[] = [
      { label: "admin or operator requests refused", code: null, count: totals.apiRefused },
      { label: "connections over the message rate", code: null, count: totals.rateLimited },
      { label: "slow clients dropped", code: null, count: totals.slowKicks },
      { label: "rooms failed (game panic)", code: null, count: totals.roomFailures },
    ];
    this.counters.replaceChildren(
      list("Closes by code", totals.closes, "closes"),
      list("Upgrades refused", totals.upgradesRefused, "upgrades-refused"),
      list("Joins refused", totals.joinsRefused, "joins-refused"),
      list("Other refusals and drops", others, "other-refusals"),
    );
  }
}
