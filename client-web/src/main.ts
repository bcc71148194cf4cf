/**
 * Browser entry point. Query options: `?delay=MS` sets the interpolation delay of remote
 * entities (default 100).
 */
import { installDebugView } from "./debugView";
import { App } from "./ui/App";

const params = new URLSearchParams(location.search);
const delay = Number(params.get("delay"));
const mount = document.getElementById("app");
if (!mount) throw new Error("#app is missing from index.html");
const app = new App(
  mount,
  location.origin,
  Number.isFinite(delay) && delay >= 0 && params.has("delay") ? { interpolationDelayMs: delay } : {},
);
installDebugView(app);
