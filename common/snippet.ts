/**
 * The command line that reproduces a capture with the CLI (attention-inspector capture, which
 * writes layer_<i>.npy [heads, queries, keys]). POSIX shell quoting: single quotes, with each
 * embedded quote written as '\''. Pure: the host fills in the model's path, the standalone
 * report only knows the model's name.
 */

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `program`: how the CLI is called here (the host passes `node …/dist/cli.js` when it is not on PATH). */
export function cliSnippet(model: string, text: string, out = 'attention-out', program = 'attention-inspector'): string {
  return `${program} capture --model ${shellQuote(model)} --text ${shellQuote(text)} --out ${shellQuote(out)}`;
}
