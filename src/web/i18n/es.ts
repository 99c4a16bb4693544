import { DEFAULT_LINK_DAYS } from '../links.ts';
import type { Messages } from './types.ts';

const el = (date: string | null) => (date ? ` el ${date}` : '');

export const es: Messages = {
  languageName: 'Español',
  languageNav: 'Idioma',
  skipLink: 'Ir a sus opciones',
  pageTitle: 'Sus opciones de privacidad',
  hello: (name) => `Hola, ${name}.`,
  intro: 'Aquí decide cómo podemos usar sus datos.',
  regime: {
    GDPR: 'Sus datos están protegidos por el Reglamento General de Protección de Datos de la UE (RGPD): solo los usamos para los fines siguientes si usted dice que sí, y puede cambiar de opinión en cualquier momento.',
    CCPA: 'Sus datos están protegidos por la ley de privacidad de California (CCPA/CPRA): puede oponerse a los fines siguientes en cualquier momento; entrenar modelos de IA siempre requiere primero su consentimiento.',
    US_STATE:
      'Sus datos están protegidos por la ley de privacidad de su estado: puede oponerse a los fines siguientes en cualquier momento; algunos requieren primero su consentimiento.',
    NONE: 'Le aplicamos nuestras normas más estrictas: solo usamos sus datos para los fines siguientes si usted dice que sí, y puede cambiar de opinión en cualquier momento.',
  },
  choicesHeading: 'Opciones que puede cambiar',
  necessaryHeading: 'Necesario para atenderle',
  historyHeading: 'Su historial de consentimiento',
  noHistory: 'Todavía no hay opciones registradas.',
  historyCaption: (shown, earlier) => `Se muestran las ${shown} más recientes; ${earlier} anteriores.`,
  columns: { when: 'Cuándo', what: 'Qué', channel: 'Canal' },
  on: 'Sí',
  off: 'No',
  cannotSwitchOff: 'Necesario para atenderle, no se puede desactivar.',
  contractBasis:
    'Lo necesitamos para darle lo que nos pidió; la ley lo llama «ejecución de un contrato», por lo que no depende de su consentimiento.',
  footer: (expires) =>
    `Ha abierto esta página con un enlace personal válido hasta el ${expires}. No lo reenvíe: cualquier persona con el enlace puede cambiar estas opciones.`,
  purposes: {
    transactional: {
      title: 'Gestión de sus pedidos y su cuenta',
      description: 'Tramitar pedidos, pagos, entregas y avisos de la cuenta. Necesario para darle lo que compró.',
    },
    support: {
      title: 'Atención al cliente',
      description:
        'Responder a sus preguntas y consultas, también mediante nuestro chatbot de asistencia, usando sus pedidos y conversaciones.',
    },
    marketing: { title: 'Mensajes de marketing', description: 'Enviarle ofertas y boletines por correo electrónico o SMS.' },
    analytics: { title: 'Analítica', description: 'Medir cómo funcionan nuestra tienda y nuestras campañas, de forma agregada.' },
    personalization: {
      title: 'Recomendaciones personalizadas',
      description: 'Usar modelos de IA para adaptar a usted las recomendaciones y los contenidos.',
    },
    ai_training: {
      title: 'Entrenamiento de modelos de IA',
      description:
        'Usar sus datos para entrenar nuestros modelos de IA (por ejemplo, la predicción de bajas). Solo con su permiso explícito.',
    },
    ad_sharing: {
      title: 'Compartir con socios publicitarios',
      description: 'Vender o compartir sus datos con socios para publicidad conductual entre contextos.',
    },
    consent_management: {
      title: 'Prueba de sus decisiones',
      description:
        'Registrar las decisiones que toma aquí, mostrárselas y avisar a los sistemas que usan sus datos cuando las cambia. Exigido por la ley.',
    },
  },
  state: {
    needed: 'Necesario para atenderle',
    never: 'Nunca se usa en su caso',
    optedIn: (since) => `Aceptado${el(since)}`,
    allowedByDefault: 'Permitido mientras no se oponga',
    withdrawn: (since) => `Retirado${el(since)}`,
    optedOut: (since, byGpc) => `Se opuso${byGpc ? ' mediante la señal Global Privacy Control de su navegador' : ''}${el(since)}`,
    granted: (since, until) => `Consentimiento dado${el(since)}${until ? `, hasta el ${until}` : ''}`,
    expired: (date) => `Su consentimiento caducó${el(date)}`,
    outdated: (since) => `Necesitamos de nuevo su consentimiento: cambiamos este fin después de que aceptara${el(since)}`,
    minor: 'No se usa hasta que acepte (la ley lo exige para menores de 16 años)',
    notUntilOptIn: 'No se usa hasta que acepte',
  },
  actions: { GRANT: 'Dar mi consentimiento', WITHDRAW: 'Retirar mi consentimiento', OPT_OUT: 'Oponerme', OPT_IN: 'Volver a aceptar' },
  saving: 'Guardando…',
  saved: (title, isOn) => `Guardado: «${title}» está ahora ${isOn ? 'activado' : 'desactivado'}.`,
  stale: 'Ese formulario ya se había usado para otra opción, así que no se cambió nada. Estas son sus opciones actuales.',
  goTo: (title) => `Ir a «${title}»`,
  gpc: {
    confirmed: (date, purposes) =>
      `Su navegador envía una señal Global Privacy Control, pero el ${date} usted permitió ${purposes} en esta página, así que esa decisión se mantiene. Oponerse abajo la cambia.`,
    recorded: (purposes) => `Se ha respetado la señal Global Privacy Control de su navegador: registramos su oposición a: ${purposes}.`,
    already: (purposes) => `Se ha respetado la señal Global Privacy Control de su navegador: usted se ha opuesto a: ${purposes}.`,
    notRequired:
      'Su navegador envía una señal Global Privacy Control. La ley del lugar donde vive no la considera una oposición, así que decida con las opciones de abajo.',
  },
  withdrawAll: {
    heading: 'Retirarlo todo de una vez',
    explanation:
      'Retira su consentimiento, o registra su oposición, para cada fin de arriba que esté activado. Lo necesario para atenderle no se ve afectado.',
    button: 'Retirar todo lo que puedo retirar',
    nothing: 'Nada que retirar: todos los fines que puede desactivar ya están desactivados.',
    done: (purposes) => `Guardado: ha retirado su consentimiento o se ha opuesto a: ${purposes}.`,
  },
  limitSensitive: {
    heading: 'Limitar el uso de mi información personal sensible',
    explanation:
      'La ley de California le permite limitar el uso de su información sensible (como intereses de salud y ubicación precisa) a lo necesario para atenderle. Entonces dejamos de usarla para los fines de arriba.',
    button: 'Limitar el uso de mi información personal sensible',
    undo: 'Permitirlo de nuevo',
    notLimited: 'Sin limitar: su información sensible puede usarse para los fines de arriba hasta que lo limite',
    limited: (since) => `Limitado${el(since)}: solo se usa donde es necesario para atenderle`,
    done: 'Guardado: el uso de su información personal sensible está ahora limitado.',
    undone: 'Guardado: su información personal sensible puede volver a usarse para los fines de arriba.',
  },
  history: {
    entry: (title, action) => `${title}: ${action}`,
    actions: { GRANT: 'consentimiento dado', WITHDRAW: 'consentimiento retirado', OPT_OUT: 'se opuso', OPT_IN: 'volvió a aceptar' },
    channels: {
      CONSENT_CENTER: 'Esta página',
      EMAIL_LINK: 'Enlace en un correo',
      CRM: 'Atención al cliente',
      API: 'Nuestros sistemas',
      CHATBOT: 'Chat de asistencia',
      GPC: 'Global Privacy Control de su navegador',
    },
    sensitive: ' (datos sensibles)',
  },
  activity: {
    link: 'Quién usó mis datos, para qué y cuándo',
    heading: 'Quién usó sus datos, para qué y cuándo',
    intro:
      'Cada vez que uno de nuestros sistemas lee sus datos, registramos qué sistema fue, para qué fin y qué vio. Oculto significa que el sistema recibió en su lugar un valor enmascarado o nada. También indicamos cada conjunto de datos en el que se copiaron sus datos, por ejemplo para entrenar modelos de IA.',
    none: 'Todavía no se ha registrado ningún uso de sus datos.',
    back: 'Volver a sus opciones de privacidad',
    older: 'Entradas anteriores',
    newest: 'Entradas más recientes',
    unknownClient: 'Un sistema ya eliminado',
    used: (client, fields, purpose) => `${client} usó ${fields} para «${purpose}»`,
    usedNothing: (client, purpose) => `${client} le buscó para «${purpose}» sin ver ninguno de sus datos`,
    hidden: (fields) => `; quedó oculto: ${fields}`,
    copied: (client, fields, purpose, extract) =>
      `${client} copió ${fields} en un conjunto de datos para «${purpose}» (conjunto de datos ${extract})`,
    included: (client, purpose, extract) => `${client} le incluyó en un conjunto de datos para «${purpose}» (conjunto de datos ${extract})`,
    ifSensitiveConsent: (fields) =>
      `; copiado solo si entonces había permitido el uso de datos sensibles para esta finalidad, y oculto en caso contrario: ${fields}`,
    unknownMasking: (fields) => `; también copiado, en claro u oculto (nuestro registro no indica cuál): ${fields}`,
    fields: {
      name: 'su nombre',
      email: 'su correo electrónico',
      phone: 'su número de teléfono',
      customerNumber: 'su número de cliente',
      birthDate: 'su fecha de nacimiento',
      address: 'su dirección',
      country: 'su país o estado',
      language: 'su idioma preferido',
      predictions: 'nuestras predicciones sobre usted',
      purchases: 'el total de sus compras',
      health: 'sus intereses de salud',
      location: 'su ubicación precisa',
      account: 'los datos de su cuenta',
      orders: 'sus pedidos',
      support: 'sus conversaciones con atención al cliente',
      marketing: 'sus respuestas a nuestros mensajes',
      web: 'sus visitas a nuestro sitio web',
      choices: 'sus opciones de privacidad',
      accessLog: 'el registro de quién usó sus datos',
      other: 'otros datos',
    },
  },
  download: {
    link: 'Descargar mis datos',
    description: 'Un archivo con todo lo que tenemos sobre usted (JSON, para usted o para otro servicio).',
  },
  invalidLink: {
    title: 'Este enlace no es válido o ha caducado',
    paragraphs: [
      `Los enlaces a sus opciones de privacidad son personales y dejan de funcionar a los ${DEFAULT_LINK_DAYS} días, por su seguridad. ` +
        'El enlace que usó ha caducado, se modificó por el camino o nunca fue válido.',
      'Para gestionar sus opciones, abra el enlace «Opciones de privacidad» de un correo reciente nuestro, o pida un enlace nuevo a atención al cliente.',
    ],
  },
  formRefused: {
    title: 'Su decisión no se ha guardado',
    paragraphs: [
      'No pudimos confirmar que esta solicitud venía de su página de opciones de privacidad, así que no se cambió nada. ' +
        'Así le protegemos de que otros sitios web cambien sus opciones sin que usted lo sepa.',
      'Abra de nuevo el enlace de su correo y tome su decisión en esa página.',
    ],
  },
  failed: {
    title: 'Algo ha fallado',
    paragraphs: ['No se ha cambiado nada. Inténtelo de nuevo en unos minutos, con el enlace de su correo.'],
  },
};
