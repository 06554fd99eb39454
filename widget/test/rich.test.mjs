import assert from "node:assert/strict";
import { test } from "node:test";
import { planRich } from "../.test-build/lib.mjs";

const t = (text) => ({ type: "text", text });

test("formatting nodes map to a fixed set of tags", () => {
  const plan = planRich([
    { type: "b", children: [t("bold")] },
    { type: "br" },
    { type: "quote", children: [t("q")] },
    { type: "code", children: [t("<b>x</b>")] },
    { type: "list", children: [{ type: "item", children: [t("one")] }] },
  ]);
  assert.deepEqual(plan, [
    { tag: "b", children: [{ text: "bold" }] },
    { tag: "br", children: [] },
    { tag: "blockquote", children: [{ text: "q" }] },
    { tag: "pre", children: [{ text: "<b>x</b>" }] },
    { tag: "ul", children: [{ tag: "li", children: [{ text: "one" }] }] },
  ]);
});

test("safe links get rel and target; unsafe ones degrade to their text", () => {
  const [link] = planRich([{ type: "url", href: "https://example.com/a?b=1", children: [t("site")] }]);
  assert.deepEqual(link, { tag: "a", attrs: { href: "https://example.com/a?b=1", rel: "noopener noreferrer", target: "_blank" }, children: [{ text: "site" }] });
  assert.deepEqual(planRich([{ type: "url", href: "javascript:alert(1)", children: [t("x")] }]), [{ text: "x" }]);
  assert.deepEqual(planRich([{ type: "url", href: "java\tscript:alert(1)", children: [t("y")] }]), [{ text: "y" }]);
});

test("a link without children shows its href", () => {
  assert.deepEqual(planRich([{ type: "url", href: "mailto:a@b.c" }])[0].children, [{ text: "mailto:a@b.c" }]);
});

test("unknown node types render their children; junk is skipped", () => {
  const plan = planRich([{ type: "spoiler", children: [t("a")] }, null, 7, { type: "text", text: 5 }, t("b"), { type: "img", src: "x" }]);
  assert.deepEqual(plan, [{ text: "ab" }]);
  assert.deepEqual(planRich(null), []);
  assert.deepEqual(planRich({ type: "text" }), []);
});

test("markup-like text stays text", () => {
  assert.deepEqual(planRich([t("<img src=x onerror=alert(1)>")]), [{ text: "<img src=x onerror=alert(1)>" }]);
});

test("depth is bounded", () => {
  let node = t("deep");
  for (let i = 0; i < 500; i++) node = { type: "b", children: [node] };
  let plan = planRich([node]);
  let depth = 0;
  while (plan[0] && plan[0].tag) {
    plan = plan[0].children;
    depth++;
  }
  assert.ok(depth <= 32);
  assert.deepEqual(plan, [{ text: "deep" }]);
});
