/**
 * `window.OpenlineBridge`: the page API, usable before the app chunk has loaded. Calls made
 * early are queued in order and replayed once the app attaches its implementation.
 */

import type { Identity, Message } from "./protocol";

export type MessageListener = (message: Message) => void;

export interface PageApi {
  open(): void;
  close(): void;
  setUser(user: Identity | null): void;
  on(event: "message", listener: MessageListener): void;
  off(event: "message", listener: MessageListener): void;
}

export type ApiMethod = keyof PageApi;

export interface Facade {
  readonly api: PageApi;
  /** Hand calls over to the real implementation, replaying the queue first. */
  attach(impl: PageApi): void;
}

/** Build the facade; `onCall` sees every call (the loader starts loading the app on `open`). */
export function createFacade(onCall: (method: ApiMethod) => void): Facade {
  let impl: PageApi | null = null;
  const queue: [ApiMethod, unknown[]][] = [];
  const invoke = (target: PageApi, method: ApiMethod, args: unknown[]): void => {
    (target[method] as (...a: unknown[]) => void).apply(target, args);
  };
  const forward =
    (method: ApiMethod) =>
    (...args: unknown[]): void => {
      if (impl) invoke(impl, method, args);
      else queue.push([method, args]);
      onCall(method);
    };
  const api = {
    open: forward("open"),
    close: forward("close"),
    setUser: forward("setUser"),
    on: forward("on"),
    off: forward("off"),
  } as PageApi;
  return {
    api,
    attach(real: PageApi): void {
      impl = real;
      for (const [method, args] of queue.splice(0)) invoke(real, method, args);
    },
  };
}

/** A tiny listener registry behind `on`/`off`; a throwing listener does not stop the others. */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void>();

  add(listener: unknown): void {
    if (typeof listener === "function") this.set.add(listener as (value: T) => void);
  }

  remove(listener: unknown): void {
    this.set.delete(listener as (value: T) => void);
  }

  emit(value: T, onError: (error: unknown) => void): void {
    for (const listener of [...this.set]) {
      try {
        listener(value);
      } catch (error) {
        onError(error);
      }
    }
  }
}
