/**
 * The admin page: a header with the stream's state, then either the overview (server totals,
 * live charts of tick lateness, players and bandwidth over the last five minutes, every room)
 * or one room's page (`#room=ID`). Everything comes from the live stream, one update a second;
 * the room page also asks for the room's seats.
 */
import { el } from "../ui/dom";
import type { AdminApi } from "./AdminApi";
import { Chart } from "./Chart";
import { formatCount, formatMs, formatRate } from "./format";
import { LiveStream, type StreamStatus } from "./LiveStream";
import { LoginForm } from "./LoginForm";
import { RoomsTable } from "./RoomsTable";
import { RoomView } from "./RoomView";
import { parseRoute } from "./route";
import { Series } from "./Series";
import { TotalsView } from "./TotalsView";
import type { History, Update } from "./types";

/** What the browser tests read (`window.__tickroomAdmin`). */
export interface AdminDebug {
  /** Each chart's number of points and newest values. */
  charts(): Record<string, { readonly count: number; readonly last: readonly (number | null)[] }>;
  /** The stream's state. */
  status(): StreamStatus["state"];
}

export class AdminApp {
  private readonly stream: LiveStream;
  private readonly series = new Series();
  private readonly charts: Record<"lateness" | "players" | "bandwidth", Chart>;
  private readonly totals = new TotalsView();
  private readonly rooms = new RoomsTable();
  private readonly roomView: RoomView;
  private readonly login: LoginForm;
  private readonly overview: HTMLElement;
  private readonly statusLine: HTMLElement;
  private readonly signOut: HTMLButtonElement;
  private last: Update | null = null;
  private state: StreamStatus["state"] = "connecting";

  constructor(
    root: HTMLElement,
    private readonly api: AdminApi,
  ) {
    this.stream = new LiveStream(api, {
      history: (h) => this.onHistory(h),
      update: (u) => this.onUpdate(u),
      status: (s) => this.onStatus(s),
    });
    this.charts = {
      lateness: new Chart({
        title: "Tick lateness (all rooms)",
        testId: "chart-lateness",
        // The worst tick first, dashed, so the p99 line is drawn over it where they meet.
        lines: [
          { label: "max", color: "#ffb347", dash: [4, 4] },
          { label: "p99", color: "#5b8cff" },
        ],
        format: (ms) => formatMs(ms),
      }),
      players: new Chart({
        title: "Players and sessions",
        testId: "chart-players",
        lines: [
          { label: "sessions", color: "#5b8cff", dash: [4, 4] },
          { label: "players", color: "#6fdc8c" },
        ],
        format: (n) => formatCount(n),
      }),
      bandwidth: new Chart({
        title: "Bandwidth (payload)",
        testId: "chart-bandwidth",
        lines: [
          { label: "in", color: "#ff6b6b" },
          { label: "out", color: "#5b8cff" },
        ],
        format: (bytes) => formatRate(bytes),
      }),
    };
    this.roomView = new RoomView(api);
    this.login = new LoginForm((token) => {
      this.api.setToken(token);
      this.login.hide();
      this.stream.start();
    });
    this.login.hide();
    this.statusLine = el("span", { class: "stream-status", "data-testid": "stream-status" }, "connecting…");
    this.signOut = el(
      "button",
      {
        "data-testid": "sign-out",
        onclick: () => {
          this.api.setToken(null);
          this.updateSignOut();
          this.stream.start();
        },
      },
      "Forget token",
    );
    this.overview = el(
      "div",
      { class: "overview", "data-testid": "overview" },
      this.totals.element,
      el(
        "div",
        { class: "charts" },
        this.charts.lateness.element,
        this.charts.players.element,
        this.charts.bandwidth.element,
      ),
      this.rooms.element,
    );
    root.replaceChildren(
      el(
        "header",
        { class: "admin-header" },
        el("h1", {}, el("a", { href: "#" }, "tickroom admin")),
        this.statusLine,
        this.signOut,
      ),
      this.login.element,
      this.overview,
      this.roomView.element,
    );
    this.updateSignOut();
    window.addEventListener("hashchange", () => this.route());
    this.route();
    this.stream.start();
  }

  /** The view for the browser tests. */
  debug(): AdminDebug {
    return {
      charts: () => ({
        lateness: this.charts.lateness.points(),
        players: this.charts.players.points(),
        bandwidth: this.charts.bandwidth.points(),
      }),
      status: () => this.state,
    };
  }

  private updateSignOut(): void {
    this.signOut.hidden = this.api.token === null;
  }

  private route(): void {
    const route = parseRoute(location.hash);
    if (route.view === "room") {
      this.overview.hidden = true;
      this.roomView.element.hidden = false;
      this.roomView.show(route.room);
      this.roomView.update(this.last?.rooms.find((r) => r.id === route.room));
    } else {
      this.roomView.hide();
      this.roomView.element.hidden = true;
      this.overview.hidden = false;
    }
  }

  private onHistory(history: History): void {
    this.series.reset(history.samples);
    this.drawCharts();
  }

  private onUpdate(update: Update): void {
    this.last = update;
    this.series.push(update.sample);
    this.drawCharts();
    this.totals.update(update.totals, update.sample);
    this.rooms.update(update.rooms);
    const route = parseRoute(location.hash);
    if (route.view === "room") this.roomView.update(update.rooms.find((r) => r.id === route.room));
  }

  private drawCharts(): void {
    const columns = this.series.columns();
    this.charts.lateness.setData(columns.lateness);
    this.charts.players.setData(columns.players);
    this.charts.bandwidth.setData(columns.bandwidth);
  }

  private onStatus(status: StreamStatus): void {
    this.state = status.state;
    this.statusLine.dataset["state"] = status.state;
    switch (status.state) {
      case "connecting":
        this.statusLine.textContent = "connecting…";
        break;
      case "live":
        this.statusLine.textContent = "live";
        this.login.hide();
        this.updateSignOut();
        break;
      case "retrying":
        this.statusLine.textContent = `reconnecting (${status.message})`;
        break;
      case "denied":
        this.statusLine.textContent = "not allowed";
        this.updateSignOut();
        if (status.status === 401) {
          this.login.show(
            this.api.token === null
              ? "This server lets this page in from elsewhere than its own machine only with its admin token (--admin-token)."
              : `The token was refused (${status.message}).`,
          );
        } else {
          this.login.hide();
          this.statusLine.textContent = `not allowed: ${status.message}`;
        }
        break;
    }
  }
}
