import type { FieldNullability, InputFieldMap, SchemaTypes, TypeParam } from '@pothos/core';
import type { PothosConsentPlugin } from './index.ts';
import type { FieldPurposeOption, PersonalDataOptions } from './types.ts';

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      consent: PothosConsentPlugin<Types>;
    }

    export interface BuildSchemaOptions<Types extends SchemaTypes> {
      /**
       * Only for `npm run bench`'s baseline: builds the same schema with field
       * decisions switched off. Not reachable from configuration.
       */
      consentEnforcement?: 'on' | 'off-for-benchmark-baseline';
    }

    export interface ObjectTypeOptions<Types extends SchemaTypes = SchemaTypes, Shape = unknown> {
      /** Marks a type that holds personal data: every field then needs a `purpose` tag. */
      personalData?: PersonalDataOptions<Shape>;
    }

    export interface FieldOptions<
      Types extends SchemaTypes = SchemaTypes,
      ParentShape = unknown,
      Type extends TypeParam<Types> = TypeParam<Types>,
      Nullable extends FieldNullability<Type> = FieldNullability<Type>,
      Args extends InputFieldMap = InputFieldMap,
      ResolveShape = unknown,
      ResolveReturnShape = unknown,
    > {
      /** The purposes this field serves, its data category and its mask. */
      purpose?: FieldPurposeOption;
    }
  }
}
