/** What the loader hands to the app chunk through `window.OpenlineBridge` (both bundles). */

import type { Facade, PageApi } from "./facade";

export const GLOBAL_NAME = "OpenlineBridge";

/** The `data-*` settings of the embedding `<script>` tag. */
export interface EmbedSettings {
  widget: string;
  lang: string | null;
  theme: string | null;
  position: string | null;
  color: string | null;
  greeting: string | null;
  title: string | null;
}

export interface LoaderContext {
  /** The bridge origin (the loader's `src` origin). */
  base: string;
  settings: EmbedSettings;
  host: HTMLElement;
  root: ShadowRoot;
  launcher: HTMLButtonElement;
  badge: HTMLElement;
  facade: Facade;
}

export type BridgeGlobal = PageApi & { _boot?: LoaderContext };
