import { DEFAULT_LINK_DAYS } from '../links.ts';
import type { Messages } from './types.ts';

const le = (date: string | null) => (date ? ` le ${date}` : '');

export const fr: Messages = {
  languageName: 'Français',
  languageNav: 'Langue',
  skipLink: 'Aller à vos choix',
  pageTitle: 'Vos choix de confidentialité',
  hello: (name) => `Bonjour ${name}.`,
  intro: 'Ici, vous décidez comment nous pouvons utiliser vos données.',
  regime: {
    GDPR: 'Vos données sont protégées par le règlement général sur la protection des données de l’UE (RGPD) : nous ne les utilisons pour les finalités ci-dessous que si vous dites oui, et vous pouvez changer d’avis à tout moment.',
    CCPA: 'Vos données sont protégées par la loi californienne sur la vie privée (CCPA/CPRA) : vous pouvez vous opposer aux finalités ci-dessous à tout moment ; l’entraînement de modèles d’IA exige toujours votre accord préalable.',
    US_STATE:
      'Vos données sont protégées par la loi de votre État sur la vie privée : vous pouvez vous opposer aux finalités ci-dessous à tout moment ; certaines exigent d’abord votre accord.',
    NONE: 'Nous vous appliquons nos règles les plus strictes : nous n’utilisons vos données pour les finalités ci-dessous que si vous dites oui, et vous pouvez changer d’avis à tout moment.',
  },
  choicesHeading: 'Les choix que vous pouvez modifier',
  necessaryHeading: 'Nécessaire pour vous servir',
  historyHeading: 'L’historique de vos consentements',
  noHistory: 'Aucun choix enregistré pour l’instant.',
  historyCaption: (shown, earlier) => `Les ${shown} plus récents ; ${earlier} plus anciens.`,
  columns: { when: 'Quand', what: 'Quoi', channel: 'Canal' },
  on: 'Oui',
  off: 'Non',
  cannotSwitchOff: 'Nécessaire pour vous servir, ne peut pas être désactivé.',
  contractBasis:
    'Nous en avons besoin pour fournir ce que vous nous avez demandé ; la loi parle d’« exécution d’un contrat », cela ne dépend donc pas de votre consentement.',
  footer: (expires) =>
    `Cette page a été ouverte avec un lien personnel valable jusqu’au ${expires}. Merci de ne pas le transférer : toute personne qui a ce lien peut modifier ces choix.`,
  purposes: {
    transactional: {
      title: 'Gestion de vos commandes et de votre compte',
      description: 'Traiter les commandes, paiements, livraisons et avis de compte. Nécessaire pour fournir ce que vous avez acheté.',
    },
    support: {
      title: 'Service client',
      description:
        'Répondre à vos questions et demandes, y compris par notre chatbot d’assistance, à l’aide de vos commandes et conversations.',
    },
    marketing: { title: 'Messages marketing', description: 'Vous envoyer des offres et des newsletters par e-mail ou SMS.' },
    analytics: {
      title: 'Mesure d’audience',
      description: 'Mesurer les performances de notre boutique et de nos campagnes, de façon agrégée.',
    },
    personalization: {
      title: 'Recommandations personnalisées',
      description: 'Utiliser des modèles d’IA pour adapter les recommandations et les contenus à vous.',
    },
    ai_training: {
      title: 'Entraînement de modèles d’IA',
      description:
        'Utiliser vos données pour entraîner nos modèles d’IA (par exemple la prévision de résiliation). Uniquement avec votre autorisation explicite.',
    },
    ad_sharing: {
      title: 'Partage avec des partenaires publicitaires',
      description: 'Vendre ou partager vos données avec des partenaires pour de la publicité comportementale intercontextuelle.',
    },
    consent_management: {
      title: 'Preuve de vos choix',
      description:
        'Enregistrer les choix que vous faites ici, vous les montrer et informer les systèmes qui utilisent vos données lorsque vous les modifiez. Exigé par la loi.',
    },
  },
  state: {
    needed: 'Nécessaire pour vous servir',
    never: 'Jamais utilisé pour vous',
    optedIn: (since) => `Accepté${le(since)}`,
    allowedByDefault: 'Autorisé par défaut jusqu’à votre opposition',
    withdrawn: (since) => `Retiré${le(since)}`,
    optedOut: (since, byGpc) => `Opposition${byGpc ? ' par le signal Global Privacy Control de votre navigateur' : ''}${le(since)}`,
    granted: (since, until) => `Consentement donné${le(since)}${until ? `, jusqu’au ${until}` : ''}`,
    expired: (date) => `Votre consentement a expiré${le(date)}`,
    outdated: (since) => `Votre accord est à redonner : nous avons modifié cette finalité après votre accord${le(since)}`,
    minor: 'Non utilisé tant que vous n’avez pas accepté (la loi l’exige avant 16 ans)',
    notUntilOptIn: 'Non utilisé tant que vous n’avez pas accepté',
  },
  actions: { GRANT: 'Donner mon consentement', WITHDRAW: 'Retirer mon consentement', OPT_OUT: 'M’opposer', OPT_IN: 'Accepter à nouveau' },
  saving: 'Enregistrement…',
  saved: (title, isOn) => `Enregistré : « ${title} » est maintenant ${isOn ? 'activé' : 'désactivé'}.`,
  stale: 'Ce formulaire avait déjà servi pour un autre choix, rien n’a donc été modifié. Voici vos choix actuels.',
  goTo: (title) => `Aller à « ${title} »`,
  gpc: {
    confirmed: (date, purposes) =>
      `Votre navigateur envoie un signal Global Privacy Control, mais le ${date} vous avez autorisé ${purposes} sur cette page : ce choix est maintenu. Opposez-vous ci-dessous pour le modifier.`,
    recorded: (purposes) =>
      `Le signal Global Privacy Control de votre navigateur a été respecté : nous avons enregistré votre opposition à : ${purposes}.`,
    already: (purposes) =>
      `Le signal Global Privacy Control de votre navigateur a été respecté : vous vous êtes opposé(e) à : ${purposes}.`,
    notRequired:
      'Votre navigateur envoie un signal Global Privacy Control. La loi de votre lieu de résidence n’en fait pas une opposition : utilisez les choix ci-dessous pour décider.',
  },
  withdrawAll: {
    heading: 'Tout retirer en une fois',
    explanation:
      'Retire votre consentement, ou enregistre votre opposition, pour chaque finalité ci-dessus actuellement activée. Ce qui est nécessaire pour vous servir n’est pas concerné.',
    button: 'Retirer tout ce que je peux retirer',
    nothing: 'Rien à retirer : toutes les finalités que vous pouvez désactiver le sont déjà.',
    done: (purposes) => `Enregistré : vous avez retiré votre consentement ou vous êtes opposé(e) à : ${purposes}.`,
  },
  limitSensitive: {
    heading: 'Limiter l’utilisation de mes informations personnelles sensibles',
    explanation:
      'La loi californienne vous permet de limiter l’utilisation de vos informations sensibles (comme vos centres d’intérêt liés à la santé et votre localisation précise) à ce qui est nécessaire pour vous servir. Nous cessons alors de les utiliser pour les finalités ci-dessus.',
    button: 'Limiter l’utilisation de mes informations personnelles sensibles',
    undo: 'Autoriser à nouveau',
    notLimited: 'Non limité : vos informations sensibles peuvent être utilisées pour les finalités ci-dessus tant que vous ne limitez pas',
    limited: (since) => `Limité${le(since)} : utilisées seulement là où c’est nécessaire pour vous servir`,
    done: 'Enregistré : l’utilisation de vos informations personnelles sensibles est maintenant limitée.',
    undone: 'Enregistré : vos informations personnelles sensibles peuvent à nouveau être utilisées pour les finalités ci-dessus.',
  },
  history: {
    entry: (title, action) => `${title} : ${action}`,
    actions: { GRANT: 'consentement donné', WITHDRAW: 'consentement retiré', OPT_OUT: 'opposition', OPT_IN: 'accepté à nouveau' },
    channels: {
      CONSENT_CENTER: 'Cette page',
      EMAIL_LINK: 'Lien dans un e-mail',
      CRM: 'Service client',
      API: 'Nos systèmes',
      CHATBOT: 'Chat d’assistance',
      GPC: 'Global Privacy Control de votre navigateur',
    },
    sensitive: ' (données sensibles)',
  },
  activity: {
    link: 'Qui a utilisé mes données, pour quoi, quand',
    heading: 'Qui a utilisé vos données, pour quoi, quand',
    intro:
      'Chaque fois qu’un de nos systèmes lit vos données, nous enregistrons de quel système il s’agit, pour quelle finalité et ce qu’il a vu. Masqué signifie que le système a reçu une valeur masquée, ou rien, à la place. Nous indiquons aussi chaque jeu de données dans lequel vos données ont été copiées, par exemple pour entraîner des modèles d’IA.',
    none: 'Aucune utilisation de vos données n’a encore été enregistrée.',
    back: 'Retour à vos choix de confidentialité',
    older: 'Entrées plus anciennes',
    newest: 'Entrées les plus récentes',
    unknownClient: 'Un système supprimé depuis',
    used: (client, fields, purpose) => `${client} a utilisé ${fields} pour « ${purpose} »`,
    usedNothing: (client, purpose) => `${client} vous a recherché(e) pour « ${purpose} » sans voir aucune de vos informations`,
    hidden: (fields) => ` ; masqué : ${fields}`,
    copied: (client, fields, purpose, extract) =>
      `${client} a copié ${fields} dans un jeu de données pour « ${purpose} » (jeu de données ${extract})`,
    included: (client, purpose, extract) =>
      `${client} vous a inclus(e) dans un jeu de données pour « ${purpose} » (jeu de données ${extract})`,
    ifSensitiveConsent: (fields) =>
      ` ; copié seulement si vous aviez alors autorisé l’usage de données sensibles pour cette finalité, masqué sinon : ${fields}`,
    unknownMasking: (fields) => ` ; copié aussi, en clair ou masqué (notre registre ne le précise pas) : ${fields}`,
    fields: {
      name: 'votre nom',
      email: 'votre adresse e-mail',
      phone: 'votre numéro de téléphone',
      customerNumber: 'votre numéro client',
      birthDate: 'votre date de naissance',
      address: 'votre adresse',
      country: 'votre pays ou État',
      language: 'votre langue préférée',
      predictions: 'nos prévisions à votre sujet',
      purchases: 'le total de vos achats',
      health: 'vos centres d’intérêt liés à la santé',
      location: 'votre localisation précise',
      account: 'les détails de votre compte',
      orders: 'vos commandes',
      support: 'vos échanges avec le service client',
      marketing: 'vos réactions à nos messages',
      web: 'vos visites sur notre site',
      choices: 'vos choix de confidentialité',
      accessLog: 'le registre de qui a utilisé vos données',
      other: 'd’autres données',
    },
  },
  download: {
    link: 'Télécharger mes données',
    description: 'Un fichier avec tout ce que nous détenons sur vous (JSON, pour vous ou pour un autre service).',
  },
  invalidLink: {
    title: 'Ce lien n’est pas valable ou a expiré',
    paragraphs: [
      `Les liens vers vos choix de confidentialité sont personnels et cessent de fonctionner après ${DEFAULT_LINK_DAYS} jours, pour votre sécurité. ` +
        'Le lien utilisé a expiré, a été modifié en chemin ou n’a jamais été valable.',
      'Pour gérer vos choix, ouvrez le lien « Choix de confidentialité » d’un e-mail récent de notre part, ou demandez un nouveau lien à notre service client.',
    ],
  },
  formRefused: {
    title: 'Votre choix n’a pas été enregistré',
    paragraphs: [
      'Nous n’avons pas pu confirmer que cette demande venait de votre page de choix de confidentialité, rien n’a donc été modifié. ' +
        'Cela vous protège contre d’autres sites qui modifieraient vos choix à votre insu.',
      'Ouvrez à nouveau le lien de votre e-mail et faites votre choix sur cette page.',
    ],
  },
  failed: {
    title: 'Un problème est survenu',
    paragraphs: ['Rien n’a été modifié. Veuillez réessayer dans quelques minutes, avec le lien de votre e-mail.'],
  },
};
