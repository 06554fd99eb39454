/** The pure logic modules, bundled together for the unit tests (`npm test`). */

export * from "./backoff";
export * from "./color";
export * from "./errors";
export * from "./facade";
export * from "./frames";
export * from "./i18n";
export * from "./language";
export * from "./look";
export * from "./rich";
export * from "./status";
export * from "./storage";
export * from "./store";
export * from "./text";
export * from "./url";
