/** Formats TypeScript quick info (type, docs, JSDoc tags) for `inspect_reply`. */
import type { QuickInfo, SymbolDisplayPart } from './tslab-adapter';
import type { JsonObject } from './wire';

function text(parts: readonly SymbolDisplayPart[] | undefined): string {
  return (parts ?? []).map((p) => p.text).join('');
}

/** The `data` bundle of an inspect reply: plain text and Markdown. */
export function formatQuickInfo(info: QuickInfo): JsonObject {
  const signature = text(info.displayParts);
  const docs = text(info.documentation);
  const tags = (info.tags ?? []).map((tag) => {
    const body = text(tag.text);
    return `@${tag.name}${body ? ` ${body}` : ''}`;
  });
  const plain = [signature, docs, tags.join('\n')].filter((s) => s !== '').join('\n\n');
  const markdown = ['```typescript\n' + signature + '\n```', docs, tags.map((t) => `*${t}*`).join('  \n')]
    .filter((s) => s !== '')
    .join('\n\n');
  return { 'text/plain': plain, 'text/markdown': markdown };
}
