/**
 * Confirmation before a membership change. Without a terminal to ask on, the answer is no: a
 * script must say --yes rather than hang on a question nobody sees.
 */
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../lib/errors.js';

export interface ConfirmOptions {
  yes?: boolean;
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream;
}

/** Resolves when the user agreed; throws a UsageError when there is no one to ask or they said no. */
export async function confirm(question: string, options: ConfirmOptions = {}): Promise<void> {
  if (options.yes) return;
  const input = options.input ?? process.stdin;
  if (!input.isTTY) {
    throw new UsageError(`${question} needs confirmation, and stdin is not a terminal: pass --yes`);
  }
  const rl = createInterface({ input, output: options.output ?? process.stderr });
  try {
    const answer = await rl.question(`${question}? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError('not confirmed; nothing was changed');
  } finally {
    rl.close();
  }
}
