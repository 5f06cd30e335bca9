/**
 * Reading a number field of a JSON body as the client wrote it: JSON.parse would round a long
 * literal through a double, and the sandbox must check the digits the platform would see.
 */
/**
 * Finds the raw literal of a top-level number field in a JSON object text, so the sandbox can
 * read `amount` exactly as the client wrote it (JSON.parse would round long values through a
 * double). Returns undefined when the key is absent or its value is not a number.
 */
export function rawTopLevelNumber(text: string, key: string): string | undefined {
  let i = 0;
  let depth = 0;
  let expectKey = false;
  let found: string | undefined;
  const n = text.length;
  const readString = (): string => {
    const start = i;
    i++; // opening quote
    while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return text.slice(start, i);
  };
  while (i < n) {
    const c = text[i] as string;
    if (c === '"') {
      const s = readString();
      if (depth === 1 && expectKey) {
        expectKey = false;
        let key2: unknown;
        try {
          key2 = JSON.parse(s);
        } catch {
          return undefined;
        }
        if (key2 === key) {
          while (i < n && /[\s:]/.test(text[i] as string)) i++;
          const m = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
          found = m ? m[0] : undefined; // later duplicates win, as in JSON.parse
        }
      }
      continue;
    }
    if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
    i++;
  }
  return found;
}
