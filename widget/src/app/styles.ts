/**
 * Panel CSS. Colour pairs keep ≥ 4.5:1 contrast in both themes; the accent's text colour is
 * computed (lib/color). The host's `data-theme` selects light, dark or the system's (`auto`).
 */

export const PANEL_CSS = `
.panel{--bg:#fff;--fg:#1b1b1f;--muted:#5f6368;--surface:#f1f3f4;--border:#c4c7c5;--link:#0b57d0;--danger:#b3261e;--focus:#0b57d0;
position:fixed;bottom:88px;right:20px;z-index:2147483000;width:370px;height:min(600px,calc(100vh - 108px));display:flex;flex-direction:column;
background:var(--bg);color:var(--fg);border:1px solid var(--border);border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden;
font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;animation:ob-in .18s ease-out}
:host([data-theme=dark]) .panel{--bg:#1f1f23;--fg:#ececf1;--muted:#b4b4bb;--surface:#2d2e33;--border:#5c5f66;--link:#a8c7fa;--danger:#ffb4ab;--focus:#a8c7fa}
@media (prefers-color-scheme:dark){:host([data-theme=auto]) .panel{--bg:#1f1f23;--fg:#ececf1;--muted:#b4b4bb;--surface:#2d2e33;--border:#5c5f66;--link:#a8c7fa;--danger:#ffb4ab;--focus:#a8c7fa}}
:host([data-position=left]) .panel{right:auto;left:20px}
@keyframes ob-in{from{opacity:0;transform:translateY(8px)}to{opacity:1;transform:none}}
@media (prefers-reduced-motion:reduce){.panel{animation:none}.list{scroll-behavior:auto}}
@media (max-width:480px){.panel,:host([data-position=left]) .panel{inset:0;width:100%;height:100%;border:0;border-radius:0}}
.panel *{box-sizing:border-box}
.panel[hidden],.panel [hidden]{display:none!important}
.panel :focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header{display:flex;align-items:center;gap:8px;padding:12px 14px;background:var(--ob-accent);color:var(--ob-accent-text)}
header h2{flex:1;margin:0;font-size:16px;font-weight:600}
button{font:inherit;color:inherit;cursor:pointer}
.icon{border:0;background:transparent;width:36px;height:36px;border-radius:8px;font-size:20px;line-height:1;display:inline-flex;align-items:center;justify-content:center}
.icon svg{width:20px;height:20px;fill:currentColor}
header .icon:focus-visible{outline-color:var(--ob-accent-text)}
.banner{padding:8px 14px;background:var(--surface);color:var(--fg);border-bottom:1px solid var(--border);font-size:13px}
.list{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;scroll-behavior:smooth}
.greeting,.notice{align-self:center;max-width:90%;text-align:center;color:var(--muted);font-size:13px}
.msg{display:flex;gap:8px;max-width:85%;align-self:flex-start}
.msg.own{align-self:flex-end;flex-direction:row-reverse}
.avatar{width:32px;height:32px;border-radius:50%;flex:none;object-fit:cover;background:var(--surface)}
.body{display:flex;flex-direction:column;gap:2px;min-width:0}
.own .body{align-items:flex-end}
.author{font-size:12px;color:var(--muted)}
.bubble{padding:8px 12px;border-radius:14px;background:var(--surface);color:var(--fg);white-space:pre-wrap;overflow-wrap:anywhere}
.own .bubble{background:var(--ob-accent);color:var(--ob-accent-text)}
.bubble a{color:var(--link)}
.bubble blockquote{margin:4px 0;padding-left:8px;border-left:3px solid var(--border)}
.bubble pre{margin:4px 0;white-space:pre-wrap;font:13px/1.4 ui-monospace,monospace}
.bubble ul{margin:4px 0;padding-left:20px}
.deleted{font-style:italic;color:var(--muted);background:transparent;border:1px dashed var(--border)}
.own .deleted{background:transparent;color:var(--muted)}
.files{display:flex;flex-wrap:wrap;gap:6px}
.files img{max-width:200px;max-height:160px;border-radius:8px;display:block}
.file{color:var(--link)}
.meta{display:flex;gap:8px;align-items:center;font-size:12px;color:var(--muted)}
.failed{color:var(--danger)}
.link{border:0;background:transparent;padding:2px 4px;color:var(--link);text-decoration:underline;font-size:12px}
form.composer{border-top:1px solid var(--border);padding:8px;display:flex;flex-direction:column;gap:6px}
.row{display:flex;gap:6px;align-items:flex-end}
textarea{flex:1;resize:none;min-height:40px;max-height:120px;padding:9px 10px;border:1px solid var(--border);border-radius:10px;background:var(--bg);color:var(--fg);font:inherit}
textarea::placeholder,input::placeholder{color:var(--muted);opacity:1}
.composer .icon{border:1px solid var(--border);color:var(--fg);height:40px;width:40px}
.send{height:40px;padding:0 14px;border:0;border-radius:10px;background:var(--ob-accent);color:var(--ob-accent-text);font-weight:600}
.tray{display:flex;flex-wrap:wrap;gap:6px}
.chip{display:flex;align-items:center;gap:4px;padding:2px 4px 2px 8px;border:1px solid var(--border);border-radius:8px;font-size:12px;max-width:100%}
.chip img{width:28px;height:28px;object-fit:cover;border-radius:4px}
.chip progress{width:50px}
.editbar{display:flex;justify-content:space-between;align-items:center;font-size:12px;color:var(--muted)}
.error{color:var(--danger);font-size:13px}
.drop{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;background:var(--bg);opacity:.95;border:3px dashed var(--focus);font-weight:600}
form.prechat{padding:14px;display:flex;flex-direction:column;gap:10px;overflow-y:auto}
label{display:flex;flex-direction:column;gap:4px;font-size:13px}
input{padding:9px 10px;border:1px solid var(--border);border-radius:10px;background:var(--bg);color:var(--fg);font:inherit}
`;
