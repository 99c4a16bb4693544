import fs from 'node:fs';
import { buildSchema, printSchema } from '../src/schema/index.ts';

// `npm run schema:print` rewrites schema.graphql; a test fails on any drift.
const printed = printSchema(buildSchema());
fs.writeFileSync(new URL('../schema.graphql', import.meta.url), printed);
console.log(`schema.graphql written (${printed.split('\n').length} lines)`);
