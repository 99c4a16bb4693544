/** A schema that would let personal data out untagged or unmaskable does not build. */
export class ConsentSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsentSchemaError';
  }
}
