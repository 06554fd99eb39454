/** Launcher CSS (the loader's only styles; the app adds the panel's). */

export const LAUNCHER_CSS = `
:host{all:initial}
.launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;
background:var(--ob-accent);color:var(--ob-accent-text);font:400 16px/1 system-ui,sans-serif;cursor:pointer;display:flex;align-items:center;justify-content:center;
box-shadow:0 4px 14px rgba(0,0,0,.25);transition:transform .15s ease}
:host([data-position=left]) .launcher{right:auto;left:20px}
.launcher:hover{transform:scale(1.06)}
.launcher:focus-visible{outline:none;box-shadow:0 0 0 3px #fff,0 0 0 6px #111}
.launcher svg{width:28px;height:28px;fill:currentColor}
.badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;border-radius:10px;
background:#b3261e;color:#fff;font:700 12px/20px system-ui,sans-serif;text-align:center}
.badge[hidden]{display:none}
@media (prefers-reduced-motion:reduce){.launcher{transition:none}.launcher:hover{transform:none}}
`;

// A speech bubble; drawn with DOM calls, no markup parsing.
export const CHAT_ICON_PATH = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";
