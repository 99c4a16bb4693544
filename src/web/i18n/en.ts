import { DEFAULT_LINK_DAYS } from '../links.ts';
import type { Messages } from './types.ts';
import { PURPOSES } from '../../policy/taxonomy.ts';

const on = (since: string | null) => (since ? ` on ${since}` : '');
/** "your name and …", but never "your our predictions about you". */
const your = (fields: string) => (fields.startsWith('our ') ? fields : `your ${fields}`);
/** The field groups named by a plural noun: "your health interests were hidden". */
const PLURAL_NAMES = new Set([
  'our predictions about you',
  'purchase totals',
  'health interests',
  'account details',
  'orders',
  'support conversations',
  'responses to our messages',
  'visits to our website',
  'privacy choices',
]);
const were = (fields: string, plural: boolean) => (plural || PLURAL_NAMES.has(fields) ? 'were' : 'was');

export const en: Messages = {
  languageName: 'English',
  languageNav: 'Language',
  skipLink: 'Skip to your choices',
  pageTitle: 'Your privacy choices',
  hello: (name) => `Hello ${name}.`,
  intro: 'Here you decide how we may use your data.',
  regime: {
    GDPR: "Your data is protected by the EU's General Data Protection Regulation (GDPR): we use it for the purposes below only if you say yes, and you can change your mind at any time.",
    CCPA: 'Your data is protected by California privacy law (CCPA/CPRA): you can opt out of the purposes below at any time; training AI models always needs your yes first.',
    US_STATE:
      "Your data is protected by your state's privacy law: you can opt out of the purposes below at any time; some need your yes first.",
    NONE: 'We apply our strictest rules to you: we use your data for the purposes below only if you say yes, and you can change your mind at any time.',
  },
  choicesHeading: 'Choices you can change',
  necessaryHeading: 'Needed to serve you',
  historyHeading: 'Your consent history',
  noHistory: 'No choices recorded yet.',
  historyCaption: (shown, earlier) => `Showing the latest ${shown}; ${earlier} earlier.`,
  columns: { when: 'When', what: 'What', channel: 'Channel' },
  on: 'On',
  off: 'Off',
  cannotSwitchOff: 'Needed to serve you, cannot be switched off.',
  contractBasis:
    'We need this to provide what you asked us for; the law calls this "performance of a contract", so it does not depend on your consent.',
  footer: (expires) =>
    `This page was opened with a personal link that works until ${expires}. Please do not forward it: anyone with the link can change these choices.`,
  // The taxonomy's own texts are English: one source (src/policy/taxonomy.ts).
  purposes: Object.fromEntries(PURPOSES.map((p) => [p.key, { title: p.title, description: p.description }])),
  state: {
    needed: 'Needed to serve you',
    never: 'Never used for you',
    optedIn: (since) => `Opted in${on(since)}`,
    allowedByDefault: 'Allowed by default until you opt out',
    withdrawn: (since) => `Withdrawn${on(since)}`,
    optedOut: (since, byGpc) => `Opted out${byGpc ? " by your browser's Global Privacy Control signal" : ''}${on(since)}`,
    granted: (since, until) => `Granted${on(since)}${until ? `, until ${until}` : ''}`,
    expired: (date) => `Your consent expired${on(date)}`,
    outdated: (since) => `Needs your consent again: we changed this purpose after you agreed${on(since)}`,
    minor: 'Not used until you opt in (the law requires it under 16)',
    notUntilOptIn: 'Not used until you opt in',
  },
  actions: { GRANT: 'Give consent', WITHDRAW: 'Withdraw consent', OPT_OUT: 'Opt out', OPT_IN: 'Opt back in' },
  saving: 'Saving…',
  saved: (title, isOn) => `Saved: "${title}" is now ${isOn ? 'on' : 'off'}.`,
  stale: 'That form had already been used for another choice, so nothing was changed. Here are your current choices.',
  goTo: (title) => `Go to "${title}"`,
  gpc: {
    confirmed: (date, purposes) =>
      `Your browser sends a Global Privacy Control signal, but on ${date} you allowed ${purposes} on this page, so that choice stands. Opt out below to change it.`,
    recorded: (purposes) => `Your browser's Global Privacy Control signal was honoured: we recorded that you opt out of ${purposes}.`,
    already: (purposes) => `Your browser's Global Privacy Control signal was honoured: you are opted out of ${purposes}.`,
    notRequired:
      'Your browser sends a Global Privacy Control signal. The law where you live does not make it an opt-out, so use the choices below to decide.',
  },
  withdrawAll: {
    heading: 'Withdraw everything at once',
    explanation:
      'Withdraws your consent, or opts you out, for every purpose above that is currently on. What we need to serve you is not affected.',
    button: 'Withdraw everything I can withdraw',
    nothing: 'Nothing to withdraw: every purpose you can switch off is already off.',
    done: (purposes) => `Saved: you withdrew or opted out of ${purposes}.`,
  },
  limitSensitive: {
    heading: 'Limit the use of my sensitive personal information',
    explanation:
      'California law lets you limit the use of sensitive personal information (such as health interests and precise location) to what is needed to serve you. We then stop using it for the purposes above.',
    button: 'Limit the use of my sensitive personal information',
    undo: 'Allow it again',
    notLimited: 'Not limited: sensitive information may be used for the purposes above until you limit it',
    limited: (since) => `Limited${on(since)}: used only where needed to serve you`,
    done: 'Saved: the use of your sensitive personal information is now limited.',
    undone: 'Saved: your sensitive personal information may be used again for the purposes above.',
  },
  history: {
    entry: (title, action) => `${title}: ${action}`,
    actions: { GRANT: 'consent given', WITHDRAW: 'consent withdrawn', OPT_OUT: 'opted out', OPT_IN: 'opted in' },
    channels: {
      CONSENT_CENTER: 'This page',
      EMAIL_LINK: 'Link in an email',
      CRM: 'Customer service',
      API: 'Our systems',
      CHATBOT: 'Support chat',
      GPC: "Your browser's Global Privacy Control",
    },
    sensitive: ' (sensitive data)',
  },
  activity: {
    link: 'Who used my data, for what, when',
    heading: 'Who used your data, for what, when',
    intro:
      'Every time one of our systems reads your data, we record which system it was, for which purpose, and what it saw. Hidden means the system got a masked value or nothing instead. We also list each data set your data was copied into, for example to train AI models.',
    none: 'No use of your data has been recorded yet.',
    back: 'Back to your privacy choices',
    older: 'Older entries',
    newest: 'Newest entries',
    unknownClient: 'A system since removed',
    used: (client, fields, purpose) => `${client} used ${your(fields)} for "${purpose}"`,
    usedNothing: (client, purpose) => `${client} looked you up for "${purpose}" but saw none of your details`,
    hidden: (fields, plural) => `; ${your(fields)} ${were(fields, plural)} hidden`,
    copied: (client, fields, purpose, extract) => `${client} copied ${your(fields)} into a data set for "${purpose}" (data set ${extract})`,
    included: (client, purpose, extract) => `${client} included you in a data set for "${purpose}" (data set ${extract})`,
    ifSensitiveConsent: (fields, plural) =>
      `; ${your(fields)} ${were(fields, plural)} copied only if you had allowed us to use sensitive data for this purpose at the time, and hidden otherwise`,
    unknownMasking: (fields, plural) =>
      `; ${your(fields)} ${were(fields, plural)} copied too, in clear or hidden (our record does not say which)`,
    fields: {
      name: 'name',
      email: 'email address',
      phone: 'phone number',
      customerNumber: 'customer number',
      birthDate: 'date of birth',
      address: 'address',
      country: 'country or state',
      language: 'preferred language',
      predictions: 'our predictions about you',
      purchases: 'purchase totals',
      health: 'health interests',
      location: 'precise location',
      account: 'account details',
      orders: 'orders',
      support: 'support conversations',
      marketing: 'responses to our messages',
      web: 'visits to our website',
      choices: 'privacy choices',
      accessLog: 'record of who used your data',
      other: 'other data',
    },
  },
  download: { link: 'Download my data', description: 'A file with everything we hold about you (JSON, for you or another service).' },
  invalidLink: {
    title: 'This link is invalid or has expired',
    paragraphs: [
      `Links to your privacy choices are personal and stop working after ${DEFAULT_LINK_DAYS} days, to keep them safe. ` +
        'The link you used has expired, was changed on the way, or was never valid.',
      'To manage your choices, open the "Privacy choices" link in a recent email from us, or ask our customer support for a new link.',
    ],
  },
  formRefused: {
    title: 'Your choice was not saved',
    paragraphs: [
      'We could not confirm that this request came from your privacy choices page, so nothing was changed. ' +
        'This protects you from other websites changing your choices without your knowledge.',
      'Open the link from your email again and make your choice on that page.',
    ],
  },
  failed: {
    title: 'Something went wrong',
    paragraphs: ['Nothing was changed. Please try again in a few minutes, using the link from your email.'],
  },
};
