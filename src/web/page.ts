import { html, trusted, type SafeHtml } from './html.ts';
import type { ChoiceView, HistoryRow } from './view.ts';

// The consent center's markup. Plain forms that work without JavaScript; the
// one inline script only keeps a double click from sending twice (the server
// records once anyway). Styles and script carry the response's CSP nonce.

export const CONSENT_CENTER_PATH = '/consent-center';

export interface Notice {
  kind: 'success' | 'info' | 'warning';
  text: string;
}

export interface PurposeChoice {
  key: string;
  title: string;
  description: string;
  choice: ChoiceView;
  /** Signed per rendered form: the CSRF defence and the submission's idempotency key. */
  formToken: string;
}

export interface NecessaryPurpose {
  title: string;
  description: string;
  basis: string;
}

export interface CenterPage {
  name: string;
  regimeNote: string;
  linkToken: string;
  linkExpires: string;
  notices: Notice[];
  choices: PurposeChoice[];
  necessary: NecessaryPurpose[];
  history: HistoryRow[];
  /** Events older than the ones shown. */
  earlierEvents: number;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6473; --line: #dde2ea; --accent: #1f5fbf; --on: #1b7a3d; --off: #6b7280; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 46rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .75rem; }
p { margin: .4rem 0; }
.lead { color: var(--muted); }
.notice { border-radius: 8px; padding: .75rem 1rem; margin: 1rem 0; border: 1px solid; }
.notice.success { background: #ecf8f0; border-color: #b5e0c3; }
.notice.info { background: #eef4fd; border-color: #bcd2f3; }
.notice.warning { background: #fff6e5; border-color: #f0d49a; }
form { margin: 0; }
fieldset { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; margin: 0 0 .75rem; }
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
footer { margin-top: 2rem; color: var(--muted); font-size: .9rem; }
`;

const SCRIPT = `
for (const form of document.querySelectorAll('form[data-choice]')) {
  form.addEventListener('submit', () => {
    const button = form.querySelector('button');
    setTimeout(() => { button.disabled = true; button.textContent = 'Saving…'; });
  });
}
`;

function layout(nonce: string, title: string, body: SafeHtml, script: boolean): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${title}</title>
<style nonce="${nonce}">${trusted(STYLE)}</style>
</head>
<body>
<main>
${body}
</main>
${script ? html`<script nonce="${nonce}">${trusted(SCRIPT)}</script>` : ''}
</body>
</html>
`.markup;
}

function choiceForm(linkToken: string, purpose: PurposeChoice): SafeHtml {
  const { choice } = purpose;
  const stateId = `state-${purpose.key}`;
  const button = choice.action
    ? html`<input type="hidden" name="token" value="${linkToken}">
      <input type="hidden" name="form" value="${purpose.formToken}">
      <input type="hidden" name="purpose" value="${purpose.key}">
      <input type="hidden" name="action" value="${choice.action.value}">
      <button type="submit" class="${choice.on ? 'secondary' : ''}" aria-describedby="${stateId}">${choice.action.label}</button>`
    : '';
  return html`<form method="post" action="${CONSENT_CENTER_PATH}" data-choice="${purpose.key}">
  <fieldset>
    <legend>${purpose.title}</legend>
    <p class="description">${purpose.description}</p>
    <div class="row">
      <p class="state" id="${stateId}"><span class="pill ${choice.on ? 'on' : 'off'}">${choice.on ? 'On' : 'Off'}</span> <span>${choice.label}</span></p>
      ${button}
    </div>
  </fieldset>
</form>`;
}

export function renderCenterPage(page: CenterPage, nonce: string): string {
  const notices = page.notices.map(
    (n) => html`<p class="notice ${n.kind}" role="${n.kind === 'warning' ? 'alert' : 'status'}">${n.text}</p>`,
  );
  const necessary = page.necessary.map(
    (p) => html`<section class="necessary" aria-label="${p.title}">
  <h3>${p.title}</h3>
  <p class="description">${p.description}</p>
  <p><span class="pill on">On</span> Needed to serve you, cannot be switched off. ${p.basis}</p>
</section>`,
  );
  const history =
    page.history.length === 0
      ? html`<p>No choices recorded yet.</p>`
      : html`<table>
  ${page.earlierEvents > 0 ? html`<caption>Showing the latest ${page.history.length}; ${page.earlierEvents} earlier.</caption>` : ''}
  <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Channel</th></tr></thead>
  <tbody>${page.history.map((r) => html`<tr><td>${r.at}</td><td>${r.what}</td><td>${r.channel}</td></tr>`)}</tbody>
</table>`;
  const body = html`<header>
  <h1>Your privacy choices</h1>
  <p class="lead">Hello ${page.name}. Here you decide how we may use your data.</p>
  <p class="lead">${page.regimeNote}</p>
</header>
${notices}
<section aria-labelledby="choices">
  <h2 id="choices">Choices you can change</h2>
  ${page.choices.map((c) => choiceForm(page.linkToken, c))}
</section>
<section aria-labelledby="necessary">
  <h2 id="necessary">Needed to serve you</h2>
  ${necessary}
</section>
<section aria-labelledby="history">
  <h2 id="history">Your consent history</h2>
  ${history}
</section>
<footer>
  <p>This page was opened with a personal link that works until ${page.linkExpires}. Please do not forward it: anyone with the link can change these choices.</p>
</footer>`;
  return layout(nonce, 'Your privacy choices', body, true);
}

export interface MessagePage {
  title: string;
  paragraphs: string[];
}

/** A page that shows no customer data: invalid or expired links, refused forms, failures. */
export function renderMessagePage(page: MessagePage, nonce: string): string {
  const body = html`<h1>${page.title}</h1>
${page.paragraphs.map((p) => html`<p>${p}</p>`)}`;
  return layout(nonce, page.title, body, false);
}
