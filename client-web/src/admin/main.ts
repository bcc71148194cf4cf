/** The admin page's entry point (`/admin`, built into dist/admin.js and admin.css). */
import "uplot/dist/uPlot.min.css";
import "./admin.css";
import { AdminApi } from "./AdminApi";
import { AdminApp, type AdminDebug } from "./AdminApp";

declare global {
  interface Window {
    /** A read-only look at the charts, for the browser tests and the console. */
    __tickroomAdmin?: AdminDebug;
  }
}

const root = document.getElementById("admin");
if (root) {
  const app = new AdminApp(root, new AdminApi(location.origin, sessionStorage));
  window.__tickroomAdmin = app.debug();
}
