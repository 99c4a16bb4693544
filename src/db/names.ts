// The schema's @map convention (prisma/schema.prisma): a column is its field's
// name in snake case, a table its model's. Code that writes SQL from Prisma's
// data model (extracts, the customer reader) names columns and tables by it;
// the tests that read every such column from the database hold it to account.

export const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A model's table (`MarketingInteraction` → `marketing_interaction`). */
export const tableName = (model: string) => snakeCase(model.charAt(0).toLowerCase() + model.slice(1));

/** A model's table, quoted for SQL (`Order` → `"order"`). */
export const tableOf = (model: string) => `"${tableName(model)}"`;
