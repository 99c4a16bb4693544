import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../schema/context.ts';

export interface ConsentExtensionOptions {
  /** Called after each request that read personal data (the audit trail); must not throw. */
  onDecided?(ctx: Context, operationName: string | undefined): void;
}

/**
 * Masking is expected behaviour, not an error: its summary goes into
 * `extensions.consent` of every response that read personal data.
 */
export function useConsentExtension(options: ConsentExtensionOptions = {}): Plugin<Context> {
  return {
    // Each event a subscription pushes is a read of that subject's data: audited one by one.
    onSubscribe({ args }) {
      return {
        onSubscribeResult: () => ({
          onNext: () => {
            const ctx = args.contextValue as Context;
            if (!ctx.consent) return;
            options.onDecided?.(ctx, getOperationAST(args.document, args.operationName)?.name?.value);
            ctx.consent.reset();
          },
        }),
      };
    },
    onExecute({ args }) {
      return {
        onExecuteDone({ result, setResult }) {
          const ctx = args.contextValue as Context;
          if (!ctx.consent || !result || Symbol.asyncIterator in result) return;
          options.onDecided?.(ctx, getOperationAST(args.document, args.operationName)?.name?.value);
          setResult({ ...result, extensions: { ...result.extensions, consent: ctx.consent.summary() } });
        },
      };
    },
  };
}
