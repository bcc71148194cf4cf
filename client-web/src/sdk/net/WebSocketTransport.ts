import type { Transport, TransportEvents, TransportFactory } from "./Transport";

/** The browser WebSocket as a Transport: binary frames as ArrayBuffer. */
export const webSocketTransport: TransportFactory = (
  url: string,
  protocols: string[],
  events: TransportEvents,
): Transport => {
  const ws = new WebSocket(url, protocols);
  // ArrayBuffer rather than Blob: decoding stays synchronous and in order.
  ws.binaryType = "arraybuffer";
  ws.onopen = () => events.open(ws.protocol);
  ws.onmessage = (ev: MessageEvent<unknown>) => {
    if (ev.data instanceof ArrayBuffer) events.message(ev.data);
    else if (typeof ev.data === "string") events.text(ev.data);
  };
  ws.onclose = (ev: CloseEvent) => events.close(ev.code, ev.reason);
  // An error is always followed by a close event, which carries the code; nothing to do here.
  ws.onerror = () => undefined;
  return {
    send: (data) => ws.send(data),
    close: (code, reason) => {
      try {
        ws.close(code, reason);
      } catch {
        // close() throws only for codes a script may not send; fall back to a plain close.
        ws.close();
      }
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
  };
};
