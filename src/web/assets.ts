// The consent center's one stylesheet and one script, inlined with the
// response's CSP nonce (nothing is loaded from anywhere). The script keeps a
// double click from sending twice (the server records once anyway) and,
// after a save, moves focus to the status message (a live region), so that
// keyboard and screen-reader users land on what happened.

export const STYLE = `
:root { color-scheme: light; --ink: #1d2430; --muted: #545d6b; --line: #dde2ea; --accent: #1f5fbf; --on: #1b7a3d; --off: #5f6672; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 46rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .75rem; }
p { margin: .4rem 0; }
a { color: var(--accent); }
a:focus-visible, [tabindex="-1"]:focus { outline: 3px solid #9cc0f5; outline-offset: 2px; }
.skip { position: absolute; left: .5rem; top: -3rem; background: #fff; padding: .5rem .75rem; border-radius: 6px; z-index: 1; }
.skip:focus { top: .5rem; }
.languages { display: flex; justify-content: flex-end; gap: .75rem; list-style: none; margin: 0 0 1rem; padding: 0; font-size: .95rem; }
.languages a[aria-current] { font-weight: 700; color: var(--ink); text-decoration: none; }
.lead { color: var(--muted); }
.status:empty { display: none; }
.notice { border-radius: 8px; padding: .75rem 1rem; margin: 1rem 0; border: 1px solid; }
.notice.success { background: #ecf8f0; border-color: #b5e0c3; }
.notice.info { background: #eef4fd; border-color: #bcd2f3; }
.notice.warning { background: #fff6e5; border-color: #f0d49a; }
form { margin: 0; }
fieldset { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; margin: 0 0 .75rem; }
fieldset.saved { border-color: var(--on); box-shadow: 0 0 0 2px #b5e0c3; }
legend { float: left; width: 100%; padding: 0; font-weight: 600; font-size: 1.05rem; }
legend + * { clear: both; }
.description { color: var(--muted); }
.row { display: flex; align-items: center; justify-content: space-between; gap: 1rem; flex-wrap: wrap; margin-top: .6rem; }
.state { display: flex; align-items: center; gap: .5rem; margin: 0; }
.pill { display: inline-block; min-width: 2.6rem; text-align: center; font-size: .8rem; font-weight: 700; letter-spacing: .03em; border-radius: 999px; padding: .1rem .55rem; color: #fff; }
.pill.on { background: var(--on); }
.pill.off { background: var(--off); }
button { font: inherit; font-weight: 600; border-radius: 8px; padding: .45rem 1rem; cursor: pointer; border: 1px solid var(--accent); background: var(--accent); color: #fff; }
button.secondary { background: #fff; color: var(--accent); }
button:focus-visible { outline: 3px solid #9cc0f5; outline-offset: 2px; }
button[disabled] { opacity: .6; cursor: progress; }
.necessary { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; margin: 0 0 .75rem; }
.necessary h3 { font-size: 1.05rem; margin: 0; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 10px; font-size: .95rem; }
th, td { text-align: left; padding: .5rem .75rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); }
caption { caption-side: bottom; text-align: left; padding-top: .5rem; color: var(--muted); }
.activity { list-style: none; padding: 0; margin: 0; }
.activity li { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: .75rem 1rem; margin: 0 0 .5rem; }
.activity time { display: block; font-weight: 600; }
.pages { display: flex; gap: 1.5rem; margin-top: 1rem; }
footer { margin-top: 2rem; color: var(--muted); font-size: .9rem; }
`;

export const SCRIPT = `
for (const form of document.querySelectorAll('form[data-choice]')) {
  form.addEventListener('submit', () => {
    const button = form.querySelector('button');
    setTimeout(() => { button.disabled = true; button.textContent = button.dataset.saving; });
  });
}
const status = document.getElementById('status');
if (status && status.dataset.focus === 'true') status.focus();
`;
