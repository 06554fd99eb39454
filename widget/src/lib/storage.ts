/** The visitor token in localStorage, tolerant of storage being blocked, full or absent. */

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Storage key of a widget's token (protocol §2.1). */
export function tokenKey(widgetKey: string): string {
  return `openline-bridge:${widgetKey}:token`;
}

export class TokenStore {
  private memory: string | null = null;

  /** `storage` is a thunk: merely reading `window.localStorage` throws in some privacy modes. */
  constructor(
    private readonly storage: () => KeyValueStore | null,
    private readonly key: string,
  ) {}

  get(): string | null {
    try {
      return this.storage()?.getItem(this.key) ?? this.memory;
    } catch {
      return this.memory;
    }
  }

  set(token: string | null): void {
    this.memory = token;
    try {
      const storage = this.storage();
      if (token === null) storage?.removeItem(this.key);
      else storage?.setItem(this.key, token);
    } catch {
      // Storage unavailable: the token lives for this page only, the chat still works.
    }
  }
}
