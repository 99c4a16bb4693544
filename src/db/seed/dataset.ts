import { COLUMNS, RowBuffer } from './insert.ts';
import type { PendingEvent } from './ledger.ts';

// The whole generated data set, held in memory column by column until it is written.

export interface Dataset {
  customer: RowBuffer;
  order: RowBuffer;
  order_item: RowBuffer;
  support_ticket: RowBuffer;
  ticket_message: RowBuffer;
  marketing_interaction: RowBuffer;
  web_event: RowBuffer;
  events: PendingEvent[];
  orderCounter: number;
}

export function newDataset(): Dataset {
  return {
    customer: new RowBuffer(COLUMNS.customer),
    order: new RowBuffer(COLUMNS.order),
    order_item: new RowBuffer(COLUMNS.order_item),
    support_ticket: new RowBuffer(COLUMNS.support_ticket),
    ticket_message: new RowBuffer(COLUMNS.ticket_message),
    marketing_interaction: new RowBuffer(COLUMNS.marketing_interaction),
    web_event: new RowBuffer(COLUMNS.web_event),
    events: [],
    orderCounter: 0,
  };
}
