import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_ACCENT, contrast, parseHex, resolveLook, textOn } from "../.test-build/lib.mjs";

test("contrast ratios match WCAG reference values", () => {
  assert.equal(Math.round(contrast("#000000", "#ffffff") * 10) / 10, 21);
  assert.equal(contrast("#777777", "#777777"), 1);
  assert.ok(Math.abs(contrast("#767676", "#ffffff") - 4.54) < 0.01);
});

test("text on any accent colour keeps at least 4.5:1", () => {
  for (let i = 0; i < 4096; i++) {
    const hex = `#${[(i >> 8) & 15, (i >> 4) & 15, i & 15].map((n) => (n * 17).toString(16).padStart(2, "0")).join("")}`;
    assert.ok(contrast(hex, textOn(hex)) >= 4.5, hex);
  }
});

test("the theme palettes used by the panel meet 4.5:1", () => {
  const pairs = [["#1b1b1f", "#ffffff"], ["#5f6368", "#ffffff"], ["#5f6368", "#f1f3f4"], ["#0b57d0", "#f1f3f4"], ["#b3261e", "#ffffff"],
    ["#ececf1", "#1f1f23"], ["#b4b4bb", "#1f1f23"], ["#b4b4bb", "#2d2e33"], ["#a8c7fa", "#2d2e33"], ["#ffb4ab", "#1f1f23"]];
  for (const [fg, bg] of pairs) assert.ok(contrast(fg, bg) >= 4.5, `${fg} on ${bg}`);
});

test("data attributes override the server config; invalid values fall through", () => {
  const config = { theme: "dark", position: "left", accent_color: "#112233", title: "Help", greeting: "Hi" };
  assert.deepEqual(resolveLook(config, { color: "#FFAA00", position: "right", theme: "bogus", greeting: " " }), {
    theme: "dark", position: "right", accent: "#ffaa00", accentText: "#000000", title: "Help", greeting: "Hi",
  });
  const defaults = resolveLook(null, {});
  assert.equal(defaults.accent, DEFAULT_ACCENT);
  assert.equal(defaults.theme, "auto");
  assert.equal(defaults.position, "right");
  assert.equal(parseHex("red"), null);
  assert.equal(parseHex("#abc"), null);
});
