/** The viewer's base style sheet, served as /assets/viewer.css. System fonts only: nothing is loaded from outside. */
export const viewerCss = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d5dae3; --accent: #1f5fbf; --bad: #a4161a; --bg: #f6f7f9; --focus: #ffbf47; }
* { box-sizing: border-box; }
html { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
body { margin: 0; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: .5rem; background: #fff; padding: .3rem .6rem; z-index: 2; }
header.top { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.25rem; background: #fff; border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 700; text-decoration: none; color: var(--ink); }
header.top nav { display: flex; gap: 1rem; }
header.top .user { margin-left: auto; color: var(--muted); display: flex; gap: .75rem; align-items: center; }
header.top form { margin: 0; }
main { max-width: 1320px; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.35rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 .6rem; }
form.search { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: .6rem 1rem; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .9rem 1rem; }
form.search .wide { grid-column: span 2; }
form.search .actions { grid-column: 1 / -1; display: flex; gap: .8rem; align-items: center; }
label { display: block; font-weight: 600; font-size: .86rem; margin-bottom: .15rem; }
input, select { width: 100%; font: inherit; padding: .35rem .5rem; border: 1px solid #9aa3b2; border-radius: 4px; background: #fff; color: var(--ink); }
input[disabled] { background: #eceef2; }
button { font: inherit; padding: .4rem 1rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.link { background: none; border: none; color: var(--accent); padding: 0; text-decoration: underline; }
.note { color: var(--muted); font-size: .86rem; margin: .2rem 0 0; }
.problem, .field-problem { color: var(--bad); }
.field-problem { font-size: .86rem; margin: .2rem 0 0; }
.banner { border: 1px solid var(--line); border-left: 4px solid var(--accent); background: #fff; padding: .6rem .9rem; margin: .8rem 0; }
.banner.error { border-left-color: var(--bad); }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .82rem; color: var(--muted); font-weight: 600; background: #fafbfc; }
td.time, td.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85rem; white-space: nowrap; }
td.summary { max-width: 34rem; overflow-wrap: anywhere; }
nav.pages { display: flex; gap: 1rem; align-items: center; margin: .8rem 0; }
.empty { background: #fff; border: 1px dashed var(--line); padding: 1.2rem; text-align: center; color: var(--muted); }
.sign-in { max-width: 26rem; margin: 3rem auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1.2rem 1.4rem; }
.sign-in p { margin: .3rem 0 .9rem; }
.sign-in .field { margin-bottom: .8rem; }
form.filters { display: flex; gap: 1rem; align-items: end; margin-bottom: .8rem; }
form.filters > div { min-width: 12rem; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .88em; }
@media (max-width: 900px) { form.search { grid-template-columns: 1fr 1fr; } }
`;
