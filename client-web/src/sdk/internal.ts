/**
 * Method keys the Client uses to drive a Room (hand it a welcomed connection, show reconnect
 * progress, end it). Symbols rather than public methods: `index.ts` does not export them, so
 * these calls are not part of the SDK's API and an app cannot make them by accident.
 */
export const attachConnection: unique symbol = Symbol("attachConnection");
export const showReconnecting: unique symbol = Symbol("showReconnecting");
export const endRoom: unique symbol = Symbol("endRoom");
export const onDrop: unique symbol = Symbol("onDrop");
