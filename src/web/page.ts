import { SCRIPT, STYLE } from './assets.ts';
import { html, trusted, type SafeHtml } from './html.ts';
import type { Locale, Messages, MessageText } from './i18n/index.ts';
import { CATALOGS, LOCALES } from './i18n/index.ts';
import type { ChoiceView, HistoryRow } from './view.ts';

// The consent center's markup. Plain forms that work without JavaScript; the
// one inline script keeps a double click from sending twice (the server
// records once anyway) and, after a save, moves focus to the status message
// (a live region, so screen readers announce it too). Styles and script
// carry the response's CSP nonce.

export const CONSENT_CENTER_PATH = '/consent-center';
export const ACTIVITY_PATH = `${CONSENT_CENTER_PATH}/activity`;
export const EXPORT_PATH = `${CONSENT_CENTER_PATH}/export`;

export interface Notice {
  kind: 'success' | 'info' | 'warning';
  text: string;
  /** Where the saved control is: a link in the message takes keyboard users back to it. */
  target?: { id: string; label: string };
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

/** The hidden fields every form carries: the signed link, and the language when the visitor picked one. */
export interface PageContext {
  locale: Locale;
  t: Messages;
  linkToken: string;
  /** The visitor picked the language (a link or the cookie): links and forms carry it. */
  chosenLocale: boolean;
}

export interface CenterPage extends PageContext {
  name: string;
  regimeNote: string;
  linkExpires: string;
  notices: Notice[];
  /** Move focus to the status message (after a save). */
  focusStatus: boolean;
  /** The purpose whose control was just saved. */
  savedKey: string | null;
  choices: PurposeChoice[];
  withdrawAll: { formToken: string; available: boolean };
  /** Only for a Californian, when some purpose uses sensitive data until limited. */
  limitSensitive: { formToken: string; limited: boolean; label: string } | null;
  necessary: NecessaryPurpose[];
  history: HistoryRow[];
  /** Events older than the ones shown. */
  earlierEvents: number;
  /** Whether the subject's data can be downloaded here (src/rights/export.ts). */
  download: boolean;
}

function layout(locale: Locale, nonce: string, title: string, body: SafeHtml, script: boolean): string {
  return html`<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${title}</title>
<style nonce="${nonce}">${trusted(STYLE)}</style>
</head>
<body>
${body}
${script ? html`<script nonce="${nonce}">${trusted(SCRIPT)}</script>` : ''}
</body>
</html>
`.markup;
}

/** A link to one of the pages, with the signed token (and the language the visitor picked). */
export function pageHref(
  path: string,
  context: Pick<PageContext, 'linkToken' | 'locale' | 'chosenLocale'>,
  extra: Record<string, string> = {},
) {
  const params = new URLSearchParams({ token: context.linkToken });
  if (context.chosenLocale) params.set('lang', context.locale);
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  return `${path}?${params.toString()}`;
}

/** Language links: the same page in each language, keeping the signed token. */
function languages(context: PageContext, path: string, extra: Record<string, string>): SafeHtml {
  const links = LOCALES.map((locale) => {
    const params = new URLSearchParams({ token: context.linkToken, ...extra, lang: locale });
    const current = locale === context.locale;
    return html`<li><a href="${path}?${params.toString()}" lang="${locale}" hreflang="${locale}"${current ? trusted(' aria-current="true"') : ''}>${CATALOGS[locale].languageName}</a></li>`;
  });
  return html`<nav aria-label="${context.t.languageNav}"><ul class="languages">${links}</ul></nav>`;
}

/** The hidden fields of every form: the link token, the form token, and the picked language. */
function hidden(context: PageContext, formToken: string): SafeHtml {
  return html`<input type="hidden" name="token" value="${context.linkToken}">
      <input type="hidden" name="form" value="${formToken}">${
        context.chosenLocale
          ? html`
      <input type="hidden" name="lang" value="${context.locale}">`
          : ''
      }`;
}

/** One live region for every message: after a save it takes focus, and screen readers announce it. */
function statusRegion(notices: Notice[], focus: boolean): SafeHtml {
  const items = notices.map(
    (n) => html`<p class="notice ${n.kind}">${n.text}${n.target ? html` <a href="#${n.target.id}">${n.target.label}</a>` : ''}</p>`,
  );
  return html`<div id="status" class="status" role="status" aria-live="polite" tabindex="-1" data-focus="${focus ? 'true' : 'false'}">${items}</div>`;
}

function choiceForm(page: CenterPage, purpose: PurposeChoice): SafeHtml {
  const { choice } = purpose;
  const stateId = `state-${purpose.key}`;
  const saved = page.savedKey === purpose.key;
  const button = choice.action
    ? html`${hidden(page, purpose.formToken)}
      <input type="hidden" name="purpose" value="${purpose.key}">
      <input type="hidden" name="action" value="${choice.action.value}">
      <button type="submit" class="${choice.on ? 'secondary' : ''}" aria-describedby="${stateId}" data-saving="${page.t.saving}">${choice.action.label}</button>`
    : '';
  return html`<form method="post" action="${CONSENT_CENTER_PATH}" data-choice="${purpose.key}">
  <fieldset id="purpose-${purpose.key}"${saved ? trusted(' class="saved"') : ''}>
    <legend>${purpose.title}</legend>
    <p class="description">${purpose.description}</p>
    <div class="row">
      <p class="state" id="${stateId}"><span class="pill ${choice.on ? 'on' : 'off'}">${choice.on ? page.t.on : page.t.off}</span> <span>${choice.label}</span></p>
      ${button}
    </div>
  </fieldset>
</form>`;
}

function withdrawAllForm(page: CenterPage): SafeHtml {
  const { t } = page;
  const saved = page.savedKey === 'withdraw-all';
  return html`<form method="post" action="${CONSENT_CENTER_PATH}" data-choice="withdraw-all">
  <fieldset id="purpose-withdraw-all"${saved ? trusted(' class="saved"') : ''}>
    <legend>${t.withdrawAll.heading}</legend>
    <p class="description" id="withdraw-all-help">${page.withdrawAll.available ? t.withdrawAll.explanation : t.withdrawAll.nothing}</p>
    ${
      page.withdrawAll.available
        ? html`<div class="row">${hidden(page, page.withdrawAll.formToken)}
      <input type="hidden" name="intent" value="withdraw-all">
      <button type="submit" class="secondary" aria-describedby="withdraw-all-help" data-saving="${t.saving}">${t.withdrawAll.button}</button></div>`
        : ''
    }
  </fieldset>
</form>`;
}

function limitSensitiveForm(page: CenterPage, limit: NonNullable<CenterPage['limitSensitive']>): SafeHtml {
  const { t } = page;
  const saved = page.savedKey === 'limit-sensitive';
  return html`<form method="post" action="${CONSENT_CENTER_PATH}" data-choice="limit-sensitive">
  <fieldset id="purpose-limit-sensitive"${saved ? trusted(' class="saved"') : ''}>
    <legend>${t.limitSensitive.heading}</legend>
    <p class="description">${t.limitSensitive.explanation}</p>
    <div class="row">
      <p class="state" id="state-limit-sensitive"><span class="pill ${limit.limited ? 'on' : 'off'}">${limit.limited ? t.on : t.off}</span> <span>${limit.label}</span></p>
      ${hidden(page, limit.formToken)}
      <input type="hidden" name="intent" value="${limit.limited ? 'allow-sensitive' : 'limit-sensitive'}">
      <button type="submit" class="${limit.limited ? 'secondary' : ''}" aria-describedby="state-limit-sensitive" data-saving="${t.saving}">${limit.limited ? t.limitSensitive.undo : t.limitSensitive.button}</button>
    </div>
  </fieldset>
</form>`;
}

export function renderCenterPage(page: CenterPage, nonce: string): string {
  const { t } = page;
  const necessary = page.necessary.map(
    (p) => html`<section class="necessary" aria-label="${p.title}">
  <h3>${p.title}</h3>
  <p class="description">${p.description}</p>
  <p><span class="pill on">${t.on}</span> ${t.cannotSwitchOff} ${p.basis}</p>
</section>`,
  );
  const history =
    page.history.length === 0
      ? html`<p>${t.noHistory}</p>`
      : html`<table>
  ${page.earlierEvents > 0 ? html`<caption>${t.historyCaption(page.history.length, page.earlierEvents)}</caption>` : ''}
  <thead><tr><th scope="col">${t.columns.when}</th><th scope="col">${t.columns.what}</th><th scope="col">${t.columns.channel}</th></tr></thead>
  <tbody>${page.history.map((r) => html`<tr><td>${r.at}</td><td>${r.what}</td><td>${r.channel}</td></tr>`)}</tbody>
</table>`;
  const body = html`<a class="skip" href="#choices">${t.skipLink}</a>
<main>
${languages(page, CONSENT_CENTER_PATH, {})}
<header>
  <h1>${t.pageTitle}</h1>
  <p class="lead">${t.hello(page.name)} ${t.intro}</p>
  <p class="lead">${page.regimeNote}</p>
</header>
${statusRegion(page.notices, page.focusStatus)}
<section aria-labelledby="choices">
  <h2 id="choices" tabindex="-1">${t.choicesHeading}</h2>
  ${page.choices.map((c) => choiceForm(page, c))}
  ${page.limitSensitive ? limitSensitiveForm(page, page.limitSensitive) : ''}
  ${withdrawAllForm(page)}
</section>
<section aria-labelledby="necessary">
  <h2 id="necessary">${t.necessaryHeading}</h2>
  ${necessary}
</section>
<section aria-labelledby="history">
  <h2 id="history">${t.historyHeading}</h2>
  ${history}
  <p><a href="${pageHref(ACTIVITY_PATH, page)}">${t.activity.link}</a></p>
  ${page.download ? html`<p><a href="${pageHref(EXPORT_PATH, page)}" download>${t.download.link}</a> — ${t.download.description}</p>` : ''}
</section>
<footer>
  <p>${t.footer(page.linkExpires)}</p>
</footer>
</main>`;
  return layout(page.locale, nonce, t.pageTitle, body, true);
}

export interface ActivityEntry {
  at: string;
  /** ISO time, for the <time> element. */
  datetime: string;
  text: string;
}

export interface ActivityPage extends PageContext {
  entries: ActivityEntry[];
  /** Cursor of the next (older) page; null on the last. */
  older: string | null;
  /** Whether this is a later page (a link back to the newest entries). */
  paged: boolean;
}

export function renderActivityPage(page: ActivityPage, nonce: string): string {
  const { t } = page;
  const list =
    page.entries.length === 0
      ? html`<p>${t.activity.none}</p>`
      : html`<ol class="activity">${page.entries.map((e) => html`<li><time datetime="${e.datetime}">${e.at}</time> ${e.text}</li>`)}</ol>`;
  const body = html`<a class="skip" href="#activity">${t.skipLink}</a>
<main>
${languages(page, ACTIVITY_PATH, {})}
<header>
  <h1 id="activity" tabindex="-1">${t.activity.heading}</h1>
  <p class="lead">${t.activity.intro}</p>
  <p><a href="${pageHref(CONSENT_CENTER_PATH, page)}">${t.activity.back}</a></p>
</header>
${list}
<nav class="pages" aria-label="${t.activity.heading}">
  ${page.paged ? html`<a href="${pageHref(ACTIVITY_PATH, page)}">${t.activity.newest}</a>` : ''}
  ${page.older ? html`<a href="${pageHref(ACTIVITY_PATH, page, { after: page.older })}">${t.activity.older}</a>` : ''}
</nav>
</main>`;
  return layout(page.locale, nonce, t.activity.heading, body, false);
}

/** A page that shows no customer data: invalid or expired links, refused forms, failures. */
export function renderMessagePage(locale: Locale, page: MessageText, nonce: string): string {
  const body = html`<main>
<h1>${page.title}</h1>
${page.paragraphs.map((p) => html`<p>${p}</p>`)}
</main>`;
  return layout(locale, nonce, page.title, body, false);
}
