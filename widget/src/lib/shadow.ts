/** DOM helpers the loader and the app both need inside the shadow root. */

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Add CSS to a shadow root. Constructed stylesheets are not subject to a host page's CSP
 * `style-src`, so the widget keeps its look on strict sites; older browsers get a `<style>`.
 */
export function adoptCss(root: ShadowRoot, css: string): void {
  if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    return;
  }
  const style = document.createElement("style");
  style.textContent = css;
  root.append(style);
}

/** A decorative 24×24 icon drawn from one path (no markup parsing, no font dependency). */
export function svgIcon(path: string): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const shape = document.createElementNS(SVG_NS, "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}
