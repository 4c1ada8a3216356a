/** This package's version, as package.json says (inlined by the bundler for bin/). */
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
