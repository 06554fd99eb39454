/**
 * Operator rich text (protocol §4.2) → a DOM-free render plan.
 *
 * The plan only ever names a fixed set of tags and carries text as data, so the thin DOM layer
 * builds it with createElement/textContent and never parses markup.
 */

import type { RichNode } from "./protocol";
import { safeHref } from "./url";

export type PlanTag = "b" | "i" | "u" | "s" | "a" | "blockquote" | "pre" | "ul" | "li" | "br";

export type PlanNode =
  | { text: string }
  | { tag: PlanTag; attrs?: Record<string, string>; children: PlanNode[] };

const MAX_DEPTH = 32;

const SIMPLE_TAGS: Record<string, PlanTag> = {
  b: "b",
  i: "i",
  u: "u",
  s: "s",
  quote: "blockquote",
  code: "pre",
  list: "ul",
  item: "li",
};

const LINK_ATTRS = { rel: "noopener noreferrer", target: "_blank" } as const;

/** Build the render plan of a rich tree; unknown nodes degrade to their children. */
export function planRich(nodes: readonly RichNode[] | null | undefined): PlanNode[] {
  const out: PlanNode[] = [];
  appendNodes(out, nodes, 0);
  return out;
}

function appendNodes(out: PlanNode[], nodes: readonly RichNode[] | null | undefined, depth: number): void {
  if (!Array.isArray(nodes)) return;
  for (const node of nodes) appendNode(out, node, depth);
}

function appendNode(out: PlanNode[], node: RichNode, depth: number): void {
  if (node === null || typeof node !== "object") return;
  if (node.type === "text") {
    if (typeof node.text === "string" && node.text !== "") appendText(out, node.text);
    return;
  }
  if (node.type === "br") {
    out.push({ tag: "br", children: [] });
    return;
  }
  if (depth >= MAX_DEPTH) {
    // Too deep to be a real message: keep the words, drop the formatting below this level.
    appendNodes(out, flatten(node.children), 0);
    return;
  }
  const children: PlanNode[] = [];
  appendNodes(children, node.children, depth + 1);
  if (node.type === "url") {
    const href = safeHref(node.href);
    if (href === null) {
      out.push(...children);
      return;
    }
    out.push({ tag: "a", attrs: { href, ...LINK_ATTRS }, children: children.length ? children : [{ text: href }] });
    return;
  }
  const tag = SIMPLE_TAGS[node.type];
  if (tag === undefined) out.push(...children);
  else out.push({ tag, children });
}

function appendText(out: PlanNode[], text: string): void {
  const last = out[out.length - 1];
  if (last !== undefined && "text" in last) out[out.length - 1] = { text: last.text + text };
  else out.push({ text });
}

function flatten(nodes: readonly RichNode[] | undefined): RichNode[] {
  const flat: RichNode[] = [];
  const stack = Array.isArray(nodes) ? [...nodes].reverse() : [];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node !== null && typeof node === "object" && node.type === "text") flat.push(node);
    else if (node !== null && typeof node === "object" && Array.isArray(node.children)) stack.push(...[...node.children].reverse());
  }
  return flat;
}
