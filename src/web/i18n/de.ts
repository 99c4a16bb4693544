import { DEFAULT_LINK_DAYS } from '../links.ts';
import type { Messages } from './types.ts';

const am = (date: string | null) => (date ? ` am ${date}` : '');

export const de: Messages = {
  languageName: 'Deutsch',
  languageNav: 'Sprache',
  skipLink: 'Zu Ihren Einstellungen springen',
  pageTitle: 'Ihre Datenschutz-Einstellungen',
  hello: (name) => `Hallo ${name}.`,
  intro: 'Hier entscheiden Sie, wie wir Ihre Daten verwenden dürfen.',
  regime: {
    GDPR: 'Ihre Daten sind durch die Datenschutz-Grundverordnung der EU (DSGVO) geschützt: Wir verwenden sie für die folgenden Zwecke nur, wenn Sie zustimmen, und Sie können Ihre Entscheidung jederzeit ändern.',
    CCPA: 'Ihre Daten sind durch das kalifornische Datenschutzrecht (CCPA/CPRA) geschützt: Sie können den folgenden Zwecken jederzeit widersprechen; für das Training von KI-Modellen brauchen wir immer zuerst Ihre Zustimmung.',
    US_STATE:
      'Ihre Daten sind durch das Datenschutzrecht Ihres Bundesstaats geschützt: Sie können den folgenden Zwecken jederzeit widersprechen; für einige brauchen wir zuerst Ihre Zustimmung.',
    NONE: 'Für Sie gelten unsere strengsten Regeln: Wir verwenden Ihre Daten für die folgenden Zwecke nur, wenn Sie zustimmen, und Sie können Ihre Entscheidung jederzeit ändern.',
  },
  choicesHeading: 'Einstellungen, die Sie ändern können',
  necessaryHeading: 'Für unsere Leistungen erforderlich',
  historyHeading: 'Ihr Einwilligungsverlauf',
  noHistory: 'Noch keine Entscheidungen gespeichert.',
  historyCaption: (shown, earlier) => `Die letzten ${shown} Einträge; ${earlier} ältere.`,
  columns: { when: 'Wann', what: 'Was', channel: 'Weg' },
  on: 'An',
  off: 'Aus',
  cannotSwitchOff: 'Für unsere Leistungen erforderlich, kann nicht ausgeschaltet werden.',
  contractBasis:
    'Wir brauchen dies, um zu liefern, was Sie bei uns bestellt haben; das Gesetz nennt das „Erfüllung eines Vertrags“, es hängt daher nicht von Ihrer Einwilligung ab.',
  footer: (expires) =>
    `Sie haben diese Seite über einen persönlichen Link geöffnet, der bis ${expires} gilt. Bitte leiten Sie ihn nicht weiter: Wer den Link hat, kann diese Einstellungen ändern.`,
  purposes: {
    transactional: {
      title: 'Abwicklung Ihrer Bestellungen und Ihres Kontos',
      description: 'Bestellungen, Zahlungen, Lieferungen und Kontohinweise bearbeiten. Nötig, um zu liefern, was Sie gekauft haben.',
    },
    support: {
      title: 'Kundenservice',
      description: 'Ihre Fragen und Anfragen beantworten, auch über unseren Support-Chatbot, anhand Ihrer Bestellungen und Gespräche.',
    },
    marketing: { title: 'Werbenachrichten', description: 'Ihnen Angebote und Newsletter per E-Mail oder SMS senden.' },
    analytics: { title: 'Analyse', description: 'Messen, wie unser Shop und unsere Kampagnen abschneiden, in zusammengefasster Form.' },
    personalization: {
      title: 'Persönliche Empfehlungen',
      description: 'Mit KI-Modellen Empfehlungen und Inhalte auf Sie zuschneiden.',
    },
    ai_training: {
      title: 'Training von KI-Modellen',
      description:
        'Ihre Daten verwenden, um unsere KI-Modelle zu trainieren (zum Beispiel zur Vorhersage von Kündigungen). Nur mit Ihrer ausdrücklichen Erlaubnis.',
    },
    ad_sharing: {
      title: 'Weitergabe an Werbepartner',
      description: 'Ihre Daten an Partner verkaufen oder weitergeben, für kontextübergreifende verhaltensbasierte Werbung.',
    },
    consent_management: {
      title: 'Nachweis Ihrer Entscheidungen',
      description:
        'Ihre Entscheidungen hier speichern, sie Ihnen zeigen und die Systeme, die Ihre Daten verwenden, über Änderungen informieren. Gesetzlich vorgeschrieben.',
    },
  },
  state: {
    needed: 'Für unsere Leistungen erforderlich',
    never: 'Wird für Sie nie verwendet',
    optedIn: (since) => `Zugestimmt${am(since)}`,
    allowedByDefault: 'Erlaubt, bis Sie widersprechen',
    withdrawn: (since) => `Widerrufen${am(since)}`,
    optedOut: (since, byGpc) => `Widersprochen${byGpc ? ' durch das Global-Privacy-Control-Signal Ihres Browsers' : ''}${am(since)}`,
    granted: (since, until) => `Eingewilligt${am(since)}${until ? `, bis ${until}` : ''}`,
    expired: (date) => `Ihre Einwilligung ist abgelaufen${am(date)}`,
    outdated: (since) => `Bitte erneut einwilligen: Wir haben diesen Zweck geändert, nachdem Sie zugestimmt hatten${am(since)}`,
    minor: 'Nicht verwendet, bis Sie zustimmen (unter 16 Jahren gesetzlich vorgeschrieben)',
    notUntilOptIn: 'Nicht verwendet, bis Sie zustimmen',
  },
  actions: { GRANT: 'Einwilligen', WITHDRAW: 'Einwilligung widerrufen', OPT_OUT: 'Widersprechen', OPT_IN: 'Wieder zustimmen' },
  saving: 'Wird gespeichert…',
  saved: (title, isOn) => `Gespeichert: „${title}“ ist jetzt ${isOn ? 'an' : 'aus'}.`,
  stale:
    'Dieses Formular wurde bereits für eine andere Entscheidung verwendet, daher wurde nichts geändert. Hier sind Ihre aktuellen Einstellungen.',
  goTo: (title) => `Zu „${title}“`,
  gpc: {
    confirmed: (date, purposes) =>
      `Ihr Browser sendet ein Global-Privacy-Control-Signal, aber am ${date} haben Sie auf dieser Seite ${purposes} erlaubt; diese Entscheidung gilt weiter. Widersprechen Sie unten, um sie zu ändern.`,
    recorded: (purposes) =>
      `Das Global-Privacy-Control-Signal Ihres Browsers wurde beachtet: Wir haben Ihren Widerspruch gegen ${purposes} gespeichert.`,
    already: (purposes) => `Das Global-Privacy-Control-Signal Ihres Browsers wurde beachtet: Sie haben ${purposes} widersprochen.`,
    notRequired:
      'Ihr Browser sendet ein Global-Privacy-Control-Signal. Nach dem Recht Ihres Wohnorts gilt es nicht als Widerspruch; entscheiden Sie daher unten selbst.',
  },
  withdrawAll: {
    heading: 'Alles auf einmal widerrufen',
    explanation:
      'Widerruft Ihre Einwilligung oder widerspricht für jeden der obigen Zwecke, der gerade an ist. Was wir für unsere Leistungen brauchen, bleibt unberührt.',
    button: 'Alles widerrufen, was ich widerrufen kann',
    nothing: 'Nichts zu widerrufen: Alle Zwecke, die Sie ausschalten können, sind bereits aus.',
    done: (purposes) => `Gespeichert: Sie haben ${purposes} widerrufen bzw. widersprochen.`,
  },
  limitSensitive: {
    heading: 'Verwendung meiner sensiblen personenbezogenen Daten einschränken',
    explanation:
      'Nach kalifornischem Recht können Sie die Verwendung sensibler Daten (etwa Gesundheitsinteressen und genauer Standort) auf das beschränken, was für unsere Leistungen nötig ist. Wir verwenden sie dann nicht mehr für die obigen Zwecke.',
    button: 'Verwendung meiner sensiblen personenbezogenen Daten einschränken',
    undo: 'Wieder erlauben',
    notLimited: 'Nicht eingeschränkt: Sensible Daten dürfen für die obigen Zwecke verwendet werden, bis Sie dies einschränken',
    limited: (since) => `Eingeschränkt${am(since)}: nur verwendet, wo es für unsere Leistungen nötig ist`,
    done: 'Gespeichert: Die Verwendung Ihrer sensiblen personenbezogenen Daten ist jetzt eingeschränkt.',
    undone: 'Gespeichert: Ihre sensiblen personenbezogenen Daten dürfen wieder für die obigen Zwecke verwendet werden.',
  },
  history: {
    entry: (title, action) => `${title}: ${action}`,
    actions: { GRANT: 'eingewilligt', WITHDRAW: 'Einwilligung widerrufen', OPT_OUT: 'widersprochen', OPT_IN: 'wieder zugestimmt' },
    channels: {
      CONSENT_CENTER: 'Diese Seite',
      EMAIL_LINK: 'Link in einer E-Mail',
      CRM: 'Kundenservice',
      API: 'Unsere Systeme',
      CHATBOT: 'Support-Chat',
      GPC: 'Global Privacy Control Ihres Browsers',
    },
    sensitive: ' (sensible Daten)',
  },
  activity: {
    link: 'Wer meine Daten wofür und wann verwendet hat',
    heading: 'Wer Ihre Daten wofür und wann verwendet hat',
    intro:
      'Jedes Mal, wenn eines unserer Systeme Ihre Daten liest, speichern wir, welches System es war, für welchen Zweck und was es gesehen hat. Verborgen heißt: Das System bekam stattdessen einen maskierten Wert oder nichts. Außerdem führen wir jeden Datenbestand auf, in den Ihre Daten kopiert wurden, etwa um KI-Modelle zu trainieren.',
    none: 'Bisher wurde keine Verwendung Ihrer Daten aufgezeichnet.',
    back: 'Zurück zu Ihren Datenschutz-Einstellungen',
    older: 'Ältere Einträge',
    newest: 'Neueste Einträge',
    unknownClient: 'Ein inzwischen entferntes System',
    used: (client, fields, purpose) => `${client} hat für „${purpose}“ Folgendes verwendet: ${fields}`,
    usedNothing: (client, purpose) => `${client} hat Sie für „${purpose}“ nachgeschlagen, aber keine Ihrer Angaben gesehen`,
    hidden: (fields) => `; verborgen blieb: ${fields}`,
    copied: (client, fields, purpose, extract) =>
      `${client} hat für „${purpose}“ Folgendes in einen Datenbestand kopiert (Datenbestand ${extract}): ${fields}`,
    included: (client, purpose, extract) =>
      `${client} hat Sie für „${purpose}“ in einen Datenbestand aufgenommen (Datenbestand ${extract})`,
    ifSensitiveConsent: (fields) =>
      `; nur falls Sie damals der Nutzung sensibler Daten für diesen Zweck zugestimmt hatten, kopiert, sonst verborgen: ${fields}`,
    unknownMasking: (fields) => `; ebenfalls kopiert, offen oder verborgen (unsere Aufzeichnung sagt nicht, welches): ${fields}`,
    fields: {
      name: 'Ihr Name',
      email: 'Ihre E-Mail-Adresse',
      phone: 'Ihre Telefonnummer',
      customerNumber: 'Ihre Kundennummer',
      birthDate: 'Ihr Geburtsdatum',
      address: 'Ihre Adresse',
      country: 'Ihr Land oder Bundesstaat',
      language: 'Ihre bevorzugte Sprache',
      predictions: 'unsere Vorhersagen über Sie',
      purchases: 'Ihre Einkaufssummen',
      health: 'Ihre Gesundheitsinteressen',
      location: 'Ihr genauer Standort',
      account: 'Ihre Kontodaten',
      orders: 'Ihre Bestellungen',
      support: 'Ihre Support-Gespräche',
      marketing: 'Ihre Reaktionen auf unsere Nachrichten',
      web: 'Ihre Besuche auf unserer Website',
      choices: 'Ihre Datenschutz-Entscheidungen',
      accessLog: 'das Protokoll, wer Ihre Daten verwendet hat',
      other: 'weitere Daten',
    },
  },
  download: {
    link: 'Meine Daten herunterladen',
    description: 'Eine Datei mit allem, was wir über Sie gespeichert haben (JSON, für Sie oder einen anderen Dienst).',
  },
  invalidLink: {
    title: 'Dieser Link ist ungültig oder abgelaufen',
    paragraphs: [
      `Links zu Ihren Datenschutz-Einstellungen sind persönlich und funktionieren zu Ihrer Sicherheit nur ${DEFAULT_LINK_DAYS} Tage lang. ` +
        'Der verwendete Link ist abgelaufen, wurde unterwegs verändert oder war nie gültig.',
      'Öffnen Sie den Link „Datenschutz-Einstellungen“ in einer aktuellen E-Mail von uns, oder bitten Sie unseren Kundenservice um einen neuen Link.',
    ],
  },
  formRefused: {
    title: 'Ihre Entscheidung wurde nicht gespeichert',
    paragraphs: [
      'Wir konnten nicht bestätigen, dass diese Anfrage von Ihrer Seite mit den Datenschutz-Einstellungen kam, daher wurde nichts geändert. ' +
        'Das schützt Sie davor, dass andere Websites Ihre Einstellungen ohne Ihr Wissen ändern.',
      'Öffnen Sie den Link aus Ihrer E-Mail erneut und treffen Sie Ihre Entscheidung auf dieser Seite.',
    ],
  },
  failed: {
    title: 'Etwas ist schiefgegangen',
    paragraphs: ['Es wurde nichts geändert. Bitte versuchen Sie es in einigen Minuten erneut, mit dem Link aus Ihrer E-Mail.'],
  },
};
