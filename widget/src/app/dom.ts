/** Element construction with DOM APIs only: text always goes through textContent, never markup. */

import type { PlanNode } from "../lib/rich";

type Child = Node | string | null | undefined | false;

/** Create an element with attributes (`hidden` etc. as booleans) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === true) element.setAttribute(name, "");
    else if (typeof value === "string") element.setAttribute(name, value);
  }
  for (const child of children) {
    if (typeof child === "string") element.append(document.createTextNode(child));
    else if (child) element.append(child);
  }
  return element;
}

/** Build a rich-text render plan (lib/rich) into DOM nodes. */
export function renderPlan(plan: readonly PlanNode[]): DocumentFragment {
  const fragment = document.createDocumentFragment();
  for (const node of plan) {
    if ("text" in node) {
      fragment.append(document.createTextNode(node.text));
      continue;
    }
    const element = document.createElement(node.tag);
    for (const [name, value] of Object.entries(node.attrs ?? {})) element.setAttribute(name, value);
    element.append(renderPlan(node.children));
    fragment.append(element);
  }
  return fragment;
}
