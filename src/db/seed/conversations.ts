// Support conversations by topic, so that ticket messages read like real ones;
// the health topic carries special-category details in free text.

export type TopicKey = 'delivery' | 'refund' | 'size' | 'damaged' | 'address' | 'account' | 'health';

export interface TopicContext {
  first: string;
  order: string;
  product: string;
  interest: string;
}

export type Line = readonly ['customer' | 'agent', string];

export const TOPICS: Record<TopicKey, { subject: (c: TopicContext) => string; needsOrder: boolean; lines: (c: TopicContext) => Line[] }> = {
  delivery: {
    needsOrder: true,
    subject: (c) => `Where is my order ${c.order}?`,
    lines: (c) => [
      [
        'customer',
        `Hi, my order ${c.order} was supposed to arrive on Tuesday and the tracking hasn't updated since Friday. Can you check where it is?`,
      ],
      [
        'agent',
        `Hi ${c.first}, sorry for the wait! I checked with the carrier: the parcel is at your local depot and should be delivered within two working days.`,
      ],
      ['customer', `Thanks. Can it be left with a neighbour if I'm not home?`],
      ['agent', `Yes, I've added a delivery note allowing a neighbour to accept it. You'll get an email as soon as the tracking updates.`],
      ['customer', `It arrived this morning. Thanks for the help!`],
      ['agent', `Glad to hear it! I'll close this ticket now. Have a nice day.`],
    ],
  },
  refund: {
    needsOrder: true,
    subject: (c) => `Refund for returned ${c.product}`,
    lines: (c) => [
      ['customer', `Hello, I sent back the ${c.product} from order ${c.order} two weeks ago but I haven't received my refund yet.`],
      [
        'agent',
        `Hi ${c.first}, thanks for reaching out. The return was registered at our warehouse yesterday, so the refund is being processed now.`,
      ],
      ['customer', `How long until I see the money on my card?`],
      [
        'agent',
        `Refunds usually show up within 5 to 7 working days, depending on your bank. You'll get a confirmation email once it has been issued.`,
      ],
      ['customer', `OK, I can see it now. Thank you.`],
    ],
  },
  size: {
    needsOrder: true,
    subject: (c) => `Exchange ${c.product} for a different size`,
    lines: (c) => [
      ['customer', `Hi, the ${c.product} I ordered is too small. Can I exchange it for a size larger?`],
      [
        'agent',
        `Of course, ${c.first}! I've created a free exchange label for order ${c.order}. Please print it and drop the parcel at any pickup point.`,
      ],
      ['customer', `Does it run true to size? I'm between an M and an L.`],
      ['agent', `Customers say it's slightly slim, so the L is the safer choice. I've reserved an L for you.`],
      ['customer', `Perfect, I'll send the other one back tomorrow.`],
      ['agent', `Great. The L ships as soon as the return is scanned.`],
    ],
  },
  damaged: {
    needsOrder: true,
    subject: (c) => `Damaged item in order ${c.order}`,
    lines: (c) => [
      ['customer', `The ${c.product} in my last order arrived damaged: the box was crushed and it's cracked. What can I do?`],
      ['agent', `I'm so sorry about that, ${c.first}. Could you send a photo of the damage so I can file a claim with the carrier?`],
      ['customer', `Sure, photo attached.`],
      ['agent', `Thanks, that's clear. I've sent a replacement free of charge; you don't need to return the damaged one.`],
      ['customer', `That was quick, thank you!`],
    ],
  },
  address: {
    needsOrder: true,
    subject: () => 'Change delivery address',
    lines: (c) => [
      ['customer', `I just placed order ${c.order} but I moved last week. Can you change the delivery address?`],
      ['agent', `Hi ${c.first}, the order hasn't shipped yet, so I can update it. Is the new address the one now saved in your account?`],
      ['customer', `Yes, I updated it in my account a minute ago.`],
      ['agent', `Done: the order will go to the updated address. Anything else I can help with?`],
      ['customer', `No, that's all. Thanks!`],
    ],
  },
  account: {
    needsOrder: false,
    subject: () => 'Cannot log in to my account',
    lines: (c) => [
      ['customer', `I can't log in to my account: the password reset email never arrives.`],
      ['agent', `Hi ${c.first}, I've sent the reset link again. Could you check your spam or promotions folder?`],
      ['customer', `Found it in spam, I'm in now.`],
      ['agent', `Great! Adding our address to your contacts should keep future emails out of spam.`],
    ],
  },
  health: {
    needsOrder: false,
    subject: (c) => `Question about products for ${c.interest}`,
    lines: (c) => HEALTH_LINES[c.interest]?.(c) ?? HEALTH_LINES.default(c),
  },
};

const HEALTH_LINES: Record<string, (c: TopicContext) => Line[]> = {
  'diabetes care': (c) => [
    [
      'customer',
      `Are your glucose test strips compatible with my meter? I was diagnosed with type 2 diabetes last year and my doctor wants me to test twice a day.`,
    ],
    [
      'agent',
      `Hi ${c.first}, the strips work with the meters listed on the product page. For anything about your treatment, please check with your doctor or pharmacist.`,
    ],
    ['customer', `Thanks. Do you offer a subscription so I don't run out?`],
    ['agent', `Yes: subscribe and save 10%, and you can pause or cancel at any time in your account.`],
  ],
  pregnancy: (c) => [
    ['customer', `I'm 14 weeks pregnant. Can I take the prenatal vitamins together with the iron supplement my midwife prescribed?`],
    [
      'agent',
      `Congratulations, ${c.first}! We can't give medical advice, so please ask your midwife about combining them. The full ingredient list is on the product page.`,
    ],
    ['customer', `OK, I'll ask at my next appointment. Is the maternity pillow back in stock?`],
    ['agent', `It's back next week; I've set up an email alert for you.`],
  ],
  sleep: (c) => [
    ['customer', `I've had trouble sleeping for months. Would the white noise machine or the memory foam pillow help more?`],
    [
      'agent',
      `Hi ${c.first}, many customers with light sleep like the white noise machine; the pillow helps more with neck pain. If the insomnia persists, a doctor is the best person to ask.`,
    ],
    ['customer', `I'll try the machine first then. Can I return it if it doesn't help?`],
    ['agent', `Yes, you have 30 days to return it, even opened.`],
  ],
  'heart health': (c) => [
    [
      'customer',
      `My cardiologist asked me to track my blood pressure at home after my heart surgery. Is your monitor clinically validated?`,
    ],
    ['agent', `Hi ${c.first}, yes: it is validated to the ESH protocol, and the certificate is linked on the product page.`],
    ['customer', `Does it store readings for two people?`],
    ['agent', `It stores 60 readings for each of two users, and you can export them for your doctor.`],
  ],
  allergies: (c) => [
    ['customer', `Does the HEPA air purifier help with pollen? My asthma gets bad every spring.`],
    ['agent', `Hi ${c.first}, the HEPA filter captures pollen down to 0.3 microns. It doesn't replace your asthma medication, of course.`],
    ['customer', `How often do I need to change the filter?`],
    ['agent', `About every six months; we can send you a reminder if you like.`],
  ],
  default: (c) => [
    ['customer', `I'm dealing with ${c.interest} at the moment. Which of your products would you recommend?`],
    [
      'agent',
      `Hi ${c.first}, I'm sorry to hear that. Our wellbeing range has a few options; I've sent you a short list by email. Please talk to your doctor before relying on any of them.`,
    ],
    ['customer', `Thank you, that's helpful.`],
  ],
};
