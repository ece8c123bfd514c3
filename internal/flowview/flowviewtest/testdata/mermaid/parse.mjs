// Checks Mermaid diagrams with Mermaid's own parser: node parse.mjs FILE...
// Prints "ok TYPE FILE" for each diagram that parses and "error FILE: MESSAGE" for each
// that does not, and exits with status 1 if any did not. Mermaid's flowchart database
// sanitizes labels with DOMPurify, which needs a DOM: jsdom provides one.
import { JSDOM } from 'jsdom';
import { readFileSync } from 'node:fs';

const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

let failed = false;
for (const file of process.argv.slice(2)) {
  try {
    const res = await mermaid.parse(readFileSync(file, 'utf8'));
    console.log(`ok ${res.diagramType} ${file}`);
  } catch (e) {
    failed = true;
    console.log(`error ${file}: ${String(e.message ?? e).replaceAll('\n', ' | ')}`);
  }
}
process.exit(failed ? 1 : 0);
